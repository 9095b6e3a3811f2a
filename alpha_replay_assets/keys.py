"""The S3 key layout of decision artifacts (domain §1.1), parsed without trusting the key.

Keys come from a bucket other systems write to: a key is only ever *parsed* here, never used
to build a local path, and anything off-layout is reported with a reason instead of guessed at:
a bad key inside a day folder is a `bad_key` index row; an object outside every day folder is
counted and named by the `capture_layout` check (`alpha_replay_assets.layout`).
"""


import datetime as dt
from dataclasses import dataclass

MAX_SEGMENT_CHARS = 200


@dataclass(frozen=True)
class ArtifactKey:
    day: dt.date
    agent_id: str
    run_id: str

    @property
    def agent_id_base(self) -> str:
        return agent_id_base(self.agent_id)


class BadKey(ValueError):
    """A key inside a day folder that is not `{DD}/{agent_id}/{run_id}.json`."""


def agent_id_base(agent_id: str) -> str:
    """`sector_quant:technology` -> `sector_quant` (the family)."""
    return agent_id.split(":", 1)[0]


def day_prefix(capture_prefix: str, day: dt.date) -> str:
    return f"{capture_prefix.rstrip('/')}/{day:%Y/%m/%d}/"


def is_meta_key(capture_prefix: str, key: str) -> bool:
    """Analytics outputs live under `<capture>/_<name>/...`; they are never artifacts."""
    rest = key[len(capture_prefix.rstrip("/")) + 1 :] if key.startswith(capture_prefix) else ""
    return rest.startswith("_")


def parse_key(capture_prefix: str, key: str) -> ArtifactKey:
    """Parse `<capture>/YYYY/MM/DD/<agent_id>/<run_id>.json`; raise BadKey with the reason."""
    prefix = capture_prefix.rstrip("/") + "/"
    if not key.startswith(prefix):
        raise BadKey(f"outside capture prefix {prefix!r}")
    if is_meta_key(capture_prefix, key):
        raise BadKey("meta-prefix (analytics output), not an artifact")
    parts = key[len(prefix) :].split("/")
    if len(parts) != 5:
        raise BadKey(f"expected YYYY/MM/DD/agent_id/run_id.json, got {len(parts)} segments")
    for segment in parts:
        if segment in ("", ".", ".."):
            raise BadKey(f"empty or relative segment {segment!r}")
        if len(segment) > MAX_SEGMENT_CHARS:
            raise BadKey(f"segment longer than {MAX_SEGMENT_CHARS} chars")
        if any(ord(ch) < 32 for ch in segment) or "\\" in segment:
            raise BadKey("control character or backslash in segment")
    yyyy, mm, dd, agent_id, filename = parts
    try:
        day = dt.date(int(yyyy), int(mm), int(dd))
    except ValueError as exc:
        raise BadKey(f"not a date folder: {yyyy}/{mm}/{dd}") from exc
    if (yyyy, mm, dd) != (f"{day:%Y}", f"{day:%m}", f"{day:%d}"):
        raise BadKey(f"not a zero-padded date folder: {yyyy}/{mm}/{dd}")
    if not filename.endswith(".json") or filename == ".json":
        raise BadKey("not a .json file")
    return ArtifactKey(day=day, agent_id=agent_id, run_id=filename[: -len(".json")])
