"""The replay cache: every reply stored in S3 under the content address of its request, the
moment it arrives. It is the journal that makes re-runs, backfills over replayed days and
retries after a kill pay nothing twice, whether the reply came from an interactive call or a
Message Batch.
"""

import dataclasses
import hashlib
import json

from alpha_replay_assets.paths import replay_cache_key
from resources.artifact_store import ArtifactStore
from resources.replay_model import ANTHROPIC
from resources.replies import BadResponse, Reply, checked

# Bump when the request we send changes in a way that can change the reply: old entries stop
# matching. The prompt-cache mark (`cache_control` on the system prompt) is deliberately NOT part
# of the address: it changes what a call is billed, never what the model answers, so a reply
# asked with or without it (or before caching existed) is the same reply and stays reusable.
REQUEST_SCHEMA_VERSION = 1


def request_hash(model: str, system: str, user: str, max_tokens: int, sample: int = 0,
                 route: str = ANTHROPIC) -> str:
    """Content address of one replay; `sample` > 0 asks the same question again (noise ceiling).
    `route` (`ReplayModel.address`) is the provider path the request takes, marked when the endpoint
    is simulated: a router's answer is never mistaken for another provider's, nor a stand-in's for a
    real model's. Real Anthropic addresses carry no route, so replies cached before routing existed
    stay valid."""
    payload = ([model, system, user, max_tokens, REQUEST_SCHEMA_VERSION] + ([sample] if sample else [])
               + ([route] if route != ANTHROPIC else []))
    return hashlib.sha256(json.dumps(payload).encode()).hexdigest()


class CorruptCacheEntry(Exception):
    pass


class ReplyCache:
    """The cached replies of one model, asked by a real run or (`simulated`) by a stand-in's."""

    def __init__(self, store: ArtifactStore, model: str, simulated: bool = False):
        self.store, self.model, self.simulated = store, model, simulated

    def has(self, digest: str) -> bool:
        return self.store.head(replay_cache_key(self.store, self.model, digest)) is not None

    def get(self, digest: str) -> Reply | None:
        key = replay_cache_key(self.store, self.model, digest)
        try:
            entry = self.store.read_json(key)
            reply = None if entry is None else checked(Reply(**entry))
            if reply is not None and reply.simulated not in (None, self.simulated):  # under another's address
                raise ValueError(f"answered by a {'simulated' if reply.simulated else 'real'} endpoint "
                                 f"({reply.endpoint}), asked for by a {'simulated' if self.simulated else 'real'} run")
            return reply
        except (ValueError, TypeError, BadResponse) as exc:  # not JSON, not a reply, impossible numbers
            raise CorruptCacheEntry(f"replay cache entry {self.store.uri(key)} is not a stored reply ({exc}); "
                                    "delete it (alpha-replay replays forget --outcome bad_response) and the next "
                                    "run asks the model again") from exc

    def put(self, digest: str, reply: Reply, if_absent: bool = False) -> None:
        """Store `reply`; `if_absent`: never over another run's reply (`WriteConflict`: it paid first)."""
        self.store.write_json(replay_cache_key(self.store, self.model, digest), dataclasses.asdict(reply),
                              if_absent=if_absent)
