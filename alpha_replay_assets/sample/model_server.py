"""A loopback server that speaks enough of the Anthropic Messages API, and of an OpenAI-compatible
router's chat completions (OpenRouter's `/api/v1/chat/completions`, also at `/v1/...`), for the
real `anthropic` and `openai` SDKs.

It plays the *cheap target model* for the synthetic corpus: replies, in each producer's raw
response schema, are derived from the prompt by the corpus's hidden rules with their own noise,
so concordance is high but below 1, whichever endpoint is asked. Faults can be scripted (429,
500, 529, slow, malformed, schema-breaking; impossible usage numbers and costs, a reply naming
another model than the one asked for) on both, every call is counted per endpoint
(`messages`, `chat_completions`), and the Message Batches endpoints are served too. Used by the
tests and, when no API key is set, by the quick start (which says so). Never logs request headers
(they carry the API key).

Like the API it keeps a **prompt cache**: a system prefix marked `cache_control` that reaches the
model's minimum is written on first use (`usage.cache_creation_input_tokens`) and read by later
requests within the TTL, 5 minutes from last use (`cache_read_input_tokens`); `input_tokens` is
then the uncached remainder. And it can enforce a scripted **rate limit** the way the API does:
token buckets (requests and/or input tokens, cache reads not counted) refilled continuously,
`anthropic-ratelimit-*` headers on every response and a 429 with `retry-after` when spent; on the
router endpoint the router's own spelling (`x-ratelimit-limit|remaining|reset` for requests, reset
in epoch ms as OpenRouter sends it; `x-ratelimit-*-tokens` for tokens, reset a duration). A chat
completion reports `usage` with prompt/completion tokens and the `cost` OpenRouter bills.
"""

import argparse
import datetime as dt
import hashlib
import itertools
import json
import math
import random
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from alpha_replay_assets.sample import rules
from resources.prompt_cache import estimate_tokens, min_cacheable_tokens

FAULTS = ("429", "500", "529", "malformed", "schema", "slow", "huge_tokens", "nan_cost", "negative_cost", "other_model")
# What a `huge_tokens` fault reports (an attacker's numbers) and who an `other_model` reply says answered.
HUGE_OUTPUT_TOKENS, HUGE_INPUT_TOKENS = 10**30, 2**62
OTHER_MODEL = {"messages": "claude-3-haiku-20240307", "chat_completions": "openai/gpt-4o-mini"}
ERROR_KINDS = {"429": "rate_limit_error", "500": "api_error", "529": "overloaded_error"}
CACHE_TTL_S = 300.0
CHAT_PATHS = ("/api/v1/chat/completions", "/v1/chat/completions")
# What the loopback router bills per million (prompt, completion) tokens, reported as `usage.cost`.
ROUTER_USD_PER_MTOK = (0.25, 1.0)


@dataclass
class TokenBucket:
    """A limit as the API enforces it: `limit` units, refilled continuously at `limit` per `period_s`."""

    limit: float
    period_s: float
    level: float = field(init=False)
    stamp: float = field(default_factory=time.monotonic)

    def __post_init__(self):
        self.level = self.limit

    def refill(self, now: float) -> None:
        self.level = min(self.limit, self.level + (now - self.stamp) * self.limit / self.period_s)
        self.stamp = now

    def wait_for(self, units: float) -> float:
        """Seconds until `units` are in the bucket (0: now)."""
        return max(0.0, (min(units, self.limit) - self.level) * self.period_s / self.limit)

    def headers(self, dimension: str, now: dt.datetime, router: bool = False) -> dict[str, str]:
        """As the API sends them; `reset` = when the bucket is full again (in ms here, where a
        test's scripted window is seconds long; the API sends whole seconds). `router`: as the
        router spells them (requests: OpenRouter's, reset an epoch time in ms; tokens: the OpenAI
        convention, reset a duration)."""
        until_full = (self.limit - self.level) * self.period_s / self.limit
        values = {"limit": str(int(self.limit)), "remaining": str(max(0, math.floor(self.level)))}
        if router and dimension == "requests":
            reset = str(math.ceil((now.timestamp() + until_full) * 1000))
            return {f"x-ratelimit-{part}": value for part, value in (values | {"reset": reset}).items()}
        if router:
            reset = f"{math.ceil(until_full * 1000)}ms"
            return {f"x-ratelimit-{part}-tokens": value for part, value in (values | {"reset": reset}).items()}
        full = now + dt.timedelta(seconds=until_full)
        values["reset"] = full.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return {f"anthropic-ratelimit-{dimension}-{part}": value for part, value in values.items()}


def _split_system(system) -> tuple[str, str]:
    """(prefix marked for the cache, the rest) of a `system` parameter: the text up to and
    including the last block carrying `cache_control` (none for a plain string)."""
    if not isinstance(system, list):
        return "", system or ""
    marked = [i for i, block in enumerate(system) if block.get("cache_control")]
    cut = marked[-1] + 1 if marked else 0
    return "".join(b.get("text", "") for b in system[:cut]), "".join(b.get("text", "") for b in system[cut:])


def _user_text(body: dict) -> str:
    content = body["messages"][0]["content"]
    return content if isinstance(content, str) else "".join(b.get("text", "") for b in content)


def _text(content) -> str:
    return content if isinstance(content, str) else "".join(part.get("text", "") for part in content or [])


def chat_as_messages(body: dict) -> dict:
    """A chat-completions request seen as a Messages request (system apart, the user turn), so the
    rate limit and the reply rules treat both endpoints alike."""
    messages = body.get("messages") or []
    return {"model": body["model"],
            "system": "".join(_text(m.get("content")) for m in messages if m.get("role") == "system"),
            "messages": [{"role": "user", "content": "".join(_text(m.get("content")) for m in messages
                                                             if m.get("role") == "user")}]}


class ModelServerState:
    def __init__(self, noise: float, latency_ms: float):
        self.noise, self.latency_ms = noise, latency_ms
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.faults: deque[str] = deque()
        self.seen: Counter[str] = Counter()
        self.batches: dict[str, dict] = {}
        self.ids = itertools.count(1)
        self.prompt_cache: dict[str, float] = {}  # (model, prefix) digest -> expiry (monotonic)
        self.cache_ttl_s = CACHE_TTL_S
        self.limits: dict[str, TokenBucket] = {}  # dimension -> bucket, when a rate limit is scripted
        self.admitted: list[float] = []  # when each request under a rate limit was let through
        self.retry_after_s: int | None = None  # what an injected 429/529 asks for (None: 20 ms, the SDK's pace)

    def _cache_entry(self, model: str, prefix: str) -> str | None:
        """The cache key of a marked prefix long enough for `model`; None when nothing is cached."""
        if not prefix or estimate_tokens(prefix) < min_cacheable_tokens(model):
            return None
        return hashlib.sha256(json.dumps([model, prefix]).encode()).hexdigest()

    def cache_usage(self, model: str, prefix: str) -> tuple[int, int]:
        """(read, created) tokens of the prefix; a write or a read both restart its TTL."""
        entry = self._cache_entry(model, prefix)
        if entry is None:
            return 0, 0
        tokens, now = estimate_tokens(prefix), time.monotonic()
        with self.lock:
            warm = self.prompt_cache.get(entry, 0.0) > now
            self.prompt_cache[entry] = now + self.cache_ttl_s
            self.counts["cache_reads" if warm else "cache_writes"] += 1
            self.counts["cache_read_input_tokens" if warm else "cache_creation_input_tokens"] += tokens
        return (tokens, 0) if warm else (0, tokens)

    def set_rate_limit(self, requests: float | None = None, input_tokens: float | None = None,
                       period_s: float = 60.0) -> None:
        """Enforce `requests` and/or `input_tokens` per `period_s` from now on (None: no limit)."""
        with self.lock:
            self.limits = {d: TokenBucket(n, period_s) for d, n in (("requests", requests),
                                                                    ("input-tokens", input_tokens)) if n}
            self.admitted.clear()

    def admit(self, body: dict, router: bool = False) -> tuple[dict[str, str], float]:
        """Take a request's cost from every scripted bucket, or from none: (the rate-limit
        headers, spelled as the router does when `router`, seconds until it would fit; 0 =
        admitted). Input tokens count without a warm cached prefix (cache reads do not count
        towards the limit, as on current models)."""
        if not self.limits:
            return {}, 0.0
        prefix, rest = _split_system(body.get("system"))
        entry = self._cache_entry(body["model"], prefix)
        with self.lock:
            now = time.monotonic()
            warm = entry is not None and self.prompt_cache.get(entry, 0.0) > now
            costs = {"requests": 1, "input-tokens": estimate_tokens(rest + _user_text(body))
                     + (0 if warm else estimate_tokens(prefix))}
            for bucket in self.limits.values():
                bucket.refill(now)
            wait = max(bucket.wait_for(costs[d]) for d, bucket in self.limits.items())
            if wait == 0:
                for d, bucket in self.limits.items():
                    bucket.level -= costs[d]
                self.admitted.append(now)
            else:
                self.counts["rate_limited"] += 1
            wall = dt.datetime.now(dt.UTC)
            headers = {k: v for d, bucket in self.limits.items() for k, v in bucket.headers(d, wall, router).items()}
        return headers, wait

    def next_fault(self) -> str | None:
        with self.lock:
            return self.faults.popleft() if self.faults else None

    def reply_text(self, model: str, system: str, user: str) -> str:
        """The family's raw reply (its producer's response model) to the prompt; repeats of one
        request draw fresh noise. A rendered prompt is answered by the family's hidden rule on
        the data it carries. A prompt without data (the graph's unrendered templates) is answered
        the way a model would: a reply in the asked-for shape about data it had to make up
        (schema-valid, uninformed). Anything else gets `{}`."""
        request = hashlib.sha256(json.dumps([model, system, user]).encode()).hexdigest()
        with self.lock:
            repeat = self.seen[request]
            self.seen[request] += 1
        parsed = rules.parse_prompt(user)
        if parsed is None:
            return "{}"
        family, data = parsed
        rule, rng = rules.RULES[family], random.Random(f"{request}:{repeat}")
        if not data:
            data = rule.snapshot(rng, dt.date(2026, 7, 1), None)
        return json.dumps(rule.decide(data, rng, self.noise_for(model)))

    def noise_for(self, model: str) -> float:
        """Cheaper models decide less consistently: haiku-class replies carry twice the noise."""
        return self.noise * (2 if "haiku" in model else 1)

    def answer(self, model: str, system: str, user: str, fault: str | None) -> str:
        """The reply text, spoiled as a scripted `malformed` or `schema` fault asks."""
        text = self.reply_text(model, system, user)
        if fault == "malformed":
            return text[: len(text) // 2]
        if fault == "schema":
            return json.dumps({"answer": "I would rather not say"})
        return text

    def message(self, body: dict, fault: str | None = None) -> dict:
        prefix, rest = _split_system(body.get("system"))
        system, user = prefix + rest, _user_text(body)
        cache_read, cache_created = self.cache_usage(body["model"], prefix)
        text = self.answer(body["model"], system, user, fault)
        huge = fault == "huge_tokens"
        return {
            "id": f"msg_{next(self.ids):08d}",
            "type": "message",
            "role": "assistant",
            "model": OTHER_MODEL["messages"] if fault == "other_model" else body["model"],
            "content": [{"type": "text", "text": f"Here is my decision:\n```json\n{text}\n```"}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": HUGE_INPUT_TOKENS if huge else max(1, estimate_tokens(system + user)
                                                                          - cache_read - cache_created),
                      "output_tokens": HUGE_OUTPUT_TOKENS if huge else max(1, len(text) // 4),
                      "cache_creation_input_tokens": cache_created, "cache_read_input_tokens": cache_read},
        }


    def completion(self, body: dict, fault: str | None = None) -> dict:
        """A chat completion as OpenRouter returns it: the JSON decision as the content, `usage`
        with prompt/completion tokens and the billed `cost` (no prefix cache on the loopback)."""
        view = chat_as_messages(body)
        system, user = view["system"], _user_text(view)
        text = self.answer(body["model"], system, user, fault)
        prompt, completion = max(1, estimate_tokens(system + user)), max(1, len(text) // 4)
        usd_in, usd_out = ROUTER_USD_PER_MTOK
        cost = {"nan_cost": math.nan, "negative_cost": -0.5}.get(fault, round((prompt * usd_in + completion * usd_out)
                                                                             / 1e6, 9))
        completion = HUGE_OUTPUT_TOKENS if fault == "huge_tokens" else completion
        return {
            "id": f"gen-{next(self.ids):08d}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": OTHER_MODEL["chat_completions"] if fault == "other_model" else body["model"],
            "provider": "Loopback",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop",
                         "logprobs": None}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
                      "cost": cost,
                      "prompt_tokens_details": {"cached_tokens": 0}},
        }


def _anthropic_error(kind: str, message: str) -> dict:
    return {"type": "error", "error": {"type": kind, "message": message}}


def _openai_error(kind: str, message: str) -> dict:
    return {"error": {"type": kind, "message": message}}


class Handler(BaseHTTPRequestHandler):
    disable_nagle_algorithm = True  # two writes per response + delayed ACK cost 40 ms otherwise
    protocol_version = "HTTP/1.1"
    state: ModelServerState  # set on the subclass made per server

    def log_message(self, format, *args):  # noqa: A002 - silence the default access log
        pass

    def _send(self, status: int, payload, headers: dict | None = None, raw: bytes | None = None) -> None:
        body = raw if raw is not None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> dict:
        return json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")

    def _authorised(self) -> bool:
        if self.headers.get("x-api-key") or (self.headers.get("Authorization") or "").startswith("Bearer "):
            return True
        self._send(401, {"type": "error", "error": {"type": "authentication_error", "message": "no API key"}})
        return False

    def do_GET(self):  # noqa: N802
        state = self.state
        if self.path == "/_control":
            with state.lock:
                return self._send(200, {"counts": dict(state.counts), "pending_faults": list(state.faults)})
        if not self._authorised():
            return None
        parts = self.path.strip("/").split("/")  # v1 messages batches {id} [results]
        if parts[:3] == ["v1", "messages", "batches"] and len(parts) >= 4 and parts[3] in state.batches:
            batch = state.batches[parts[3]]
            with state.lock:
                state.counts["batch_" + ("results" if len(parts) == 5 else "retrieve")] += 1
                batch["polls"] += 1
            if len(parts) == 5:
                lines = "\n".join(json.dumps(r) for r in batch["results"]).encode()
                return self._send(200, None, raw=lines)
            return self._send(200, self._batch_object(batch))
        return self._send(404, {"type": "error", "error": {"type": "not_found_error", "message": self.path}})

    def _batch_object(self, batch: dict) -> dict:
        ended = batch["polls"] >= 2  # in_progress on the first retrieve, so clients really poll
        host, port = self.server.server_address[:2]
        n = len(batch["results"])
        return {
            "id": batch["id"], "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": {"processing": 0 if ended else n, "succeeded": n if ended else 0,
                               "errored": 0, "canceled": 0, "expired": 0},
            "created_at": batch["created_at"], "expires_at": batch["created_at"],
            "ended_at": batch["created_at"] if ended else None, "archived_at": None, "cancel_initiated_at": None,
            "results_url": f"http://{host}:{port}/v1/messages/batches/{batch['id']}/results" if ended else None,
        }

    def do_POST(self):  # noqa: N802
        state = self.state
        if self.path == "/_control":
            body = self._body()
            with state.lock:
                if body.get("reset_counts"):
                    state.counts.clear()
                state.faults.extend(f for f in body.get("faults", []) if f in FAULTS)
                if "latency_ms" in body:
                    state.latency_ms = float(body["latency_ms"])
                if "retry_after_s" in body:
                    state.retry_after_s = body["retry_after_s"]
            if "rate_limit" in body:
                state.set_rate_limit(**(body["rate_limit"] or {}))
            return self._send(200, {"ok": True})
        if not self._authorised():
            return None
        body = self._body()
        path = self.path.rstrip("/")
        if path == "/v1/messages/batches":
            return self._create_batch(body)
        if path == "/v1/messages":
            return self._serve("messages", body, lambda fault: state.message(body, fault), _anthropic_error)
        if path in CHAT_PATHS:
            return self._serve("chat_completions", chat_as_messages(body), lambda fault: state.completion(body, fault),
                               _openai_error)
        return self._send(404, _anthropic_error("not_found_error", self.path))

    def _serve(self, endpoint: str, view: dict, answer, error) -> None:
        """One replay on `endpoint` (its request seen as a Messages request, `view`): a scripted
        fault, a 429 from the scripted rate limit, or `answer(fault)`; `error` shapes error bodies."""
        state = self.state
        fault = state.next_fault()
        with state.lock:
            state.counts[endpoint] += 1
            state.counts["fault_" + fault if fault else "ok"] += 1
        if fault in ERROR_KINDS:
            wait = {"retry-after-ms": "20"} if state.retry_after_s is None else {"retry-after": str(state.retry_after_s)}
            return self._send(int(fault), error(ERROR_KINDS[fault], "injected"), headers=wait)
        limit_headers, wait = state.admit(view, router=endpoint == "chat_completions")
        if wait:  # the API's retry-after is whole seconds
            return self._send(429, error("rate_limit_error", "scripted rate limit reached"),
                              headers=limit_headers | {"retry-after": str(math.ceil(wait))})
        delay = state.latency_ms / 1000 + (3.0 if fault == "slow" else 0.0)
        if delay:
            time.sleep(delay)
        return self._send(200, answer(fault), headers=limit_headers)

    def _create_batch(self, body: dict) -> None:
        state = self.state
        batch_id = f"msgbatch_{next(state.ids):08d}"
        results = [{"custom_id": r["custom_id"], "result": {"type": "succeeded", "message": state.message(r["params"])}}
                   for r in body["requests"]]
        batch = {"id": batch_id, "results": results, "polls": 0, "created_at": "2026-11-28T00:00:00Z"}
        with state.lock:
            state.batches[batch_id] = batch
            state.counts["batch_create"] += 1
            state.counts["batch_requests"] += len(results)
        return self._send(200, self._batch_object(batch))


class ModelServer:
    """A running server on 127.0.0.1 (a free port) in a daemon thread."""

    def __init__(self, noise: float = 0.05, latency_ms: float = 0.0, port: int = 0):
        self.state = ModelServerState(noise, latency_ms)
        handler = type("BoundHandler", (Handler,), {"state": self.state})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def router_url(self) -> str:
        """The OpenAI-compatible base URL, OpenRouter's layout (the SDK appends `/chat/completions`)."""
        return f"{self.base_url}/api/v1"

    def inject(self, *faults: str) -> None:
        with self.state.lock:
            self.state.faults.extend(faults)

    def counts(self) -> Counter:
        with self.state.lock:
            return Counter(self.state.counts)

    def rate_limit(self, requests: float | None = None, input_tokens: float | None = None,
                   period_s: float = 60.0) -> None:
        self.state.set_rate_limit(requests, input_tokens, period_s)

    def admitted(self) -> list[float]:
        """Monotonic times at which requests under the rate limit were let through."""
        with self.state.lock:
            return list(self.state.admitted)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    server = ModelServer(latency_ms=args.latency_ms, port=args.port)
    print(f"loopback Messages API on {server.base_url}, router chat completions on {server.base_url}/api/v1",
          flush=True)
    server.thread.join()
