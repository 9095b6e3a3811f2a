"""Every S3 key the project reads or writes, built in one place: writers and readers import it,
so no reader imports a writer's asset module to learn where its output lives.

Inputs: decision artifacts (docs/domain.md §1.1), parsed without trusting the key. Keys come from a
bucket other systems write to: a key is only ever *parsed* here, never used to build a local
path, and anything off-layout is reported with a reason instead of guessed at: a bad key inside a
day folder is a `bad_key` index row; an object outside every day folder is counted and named by
the `capture_layout` check (`alpha_replay_assets.layout`).

Outputs: under the store's analytics prefix, except the two legacy documents the dashboards read
under the capture prefix (`_replay_summary`, `_counterfactual`; `ArtifactStore` allows those two).
"""


import datetime as dt
import re
from dataclasses import dataclass

from resources.artifact_store import ArtifactStore

MAX_SEGMENT_CHARS = 200
# One C scan per segment (a character loop in Python was ~0.04 ms of every artifact's indexing).
CONTROL_OR_BACKSLASH = re.compile(r"[\x00-\x1f\\]")


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


def artifact_key(capture_prefix: str, day: dt.date, agent_id: str, run_id: str) -> str:
    """The key `parse_key` reads back (what producers, and the synthetic corpus, write)."""
    return f"{day_prefix(capture_prefix, day)}{agent_id}/{run_id}.json"


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
        if CONTROL_OR_BACKSLASH.search(segment):
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


# -- outputs -------------------------------------------------------------------------------------------------


def target_slug(model: str) -> str:
    """`:` and `/` in a model id are not safe in keys (docs/domain.md §2.2)."""
    return model.replace(":", "-").replace("/", "-")


def index_key(store: ArtifactStore, day: dt.date) -> str:
    return store.analytics_key("artifact_index", f"dt={day.isoformat()}", "index.parquet")


def concordance_key(store: ArtifactStore, day, model: str) -> str:
    return store.analytics_key("concordance", f"target={target_slug(model)}", f"dt={day}", "concordance.parquet")


def concordance_day_glob(store: ArtifactStore, day) -> str:
    """Every target's concordance of a day, as one pattern (for a link, never listed)."""
    return store.analytics_key("concordance", "target=*", f"dt={day}")


def ceiling_key(store: ArtifactStore, day) -> str:
    return store.analytics_key("noise_ceiling", f"dt={day}", "ceiling.parquet")


def replay_cache_prefix(store: ArtifactStore) -> str:
    """Every cached reply (the demo keeps them between runs)."""
    return store.analytics_key("replay_cache") + "/"


def replay_cache_key(store: ArtifactStore, model: str, digest: str) -> str:
    return f"{replay_cache_prefix(store)}{target_slug(model)}/{digest[:2]}/{digest}.json"


def claim_key(store: ArtifactStore, model: str, digest: str) -> str:
    return store.analytics_key("replay_claims", target_slug(model), digest[:2], f"{digest}.json")


def paid_twice_prefix(store: ArtifactStore, day: dt.date) -> str:
    """Where a day's second payments are journalled (every target: one listing per day)."""
    return store.analytics_key("paid_twice", f"dt={day}") + "/"


def paid_twice_key(store: ArtifactStore, day: dt.date, model: str, digest: str) -> str:
    return paid_twice_prefix(store, day) + f"{target_slug(model)}/{digest}.json"


def batch_record_key(store: ArtifactStore, day: dt.date, model: str) -> str:
    return store.analytics_key("replay_batches", target_slug(model), f"dt={day}.json")


def summary_key(store: ArtifactStore, end: dt.date, model: str) -> str:
    return f"{store.capture_prefix}/_replay_summary/{end:%y%m%d}0000_{target_slug(model)}.json"


def summary_latest_key(store: ArtifactStore, model: str) -> str:
    """One pointer per target: targets never overwrite each other's latest."""
    return f"{store.capture_prefix}/_replay_summary/latest_{target_slug(model)}.json"


def fits_key(store: ArtifactStore, end: dt.date) -> str:
    return store.analytics_key("counterfactual_fits", f"dt={end.isoformat()}", "fits.parquet")


def fit_agent_key(store: ArtifactStore, agent: str, end: dt.date) -> str:
    return f"{store.capture_prefix}/_counterfactual/{agent}/{end:%y%m%d}0000.json"


def fit_agent_latest_key(store: ArtifactStore, agent: str) -> str:
    return f"{store.capture_prefix}/_counterfactual/{agent}/latest.json"


def templates_key(store: ArtifactStore, end: dt.date) -> str:
    return store.analytics_key("rationale_templates", f"dt={end.isoformat()}", "templates.parquet")


def templates_agent_key(store: ArtifactStore, agent: str, end: dt.date) -> str:
    """The per-agent analysis, `_analysis`-style under the analytics prefix (the store writes nowhere else)."""
    return store.analytics_key("_analysis", "rationale_templates", agent, f"{end:%y%m%d}0000.json")


def templates_agent_latest_key(store: ArtifactStore, agent: str) -> str:
    return store.analytics_key("_analysis", "rationale_templates", agent, "latest.json")


def verdicts_prefix(store: ArtifactStore) -> str:
    return store.analytics_key("agent_verdicts") + "/"


def verdicts_key(store: ArtifactStore, end: dt.date, name: str = "verdicts.parquet") -> str:
    """The verdict table of a window (`name="report.md"`: its report beside it)."""
    return store.analytics_key("agent_verdicts", f"dt={end.isoformat()}", name)


def version_shifts_key(store: ArtifactStore, end: dt.date) -> str:
    """Beside a window's verdicts: its families' consecutive prompt-version segments compared (docs/domain.md §3c)."""
    return verdicts_key(store, end, "version_shifts.parquet")


def ledger_key(store: ArtifactStore, end) -> str:
    return store.analytics_key("spend_ledger", f"dt={end}", "ledger.parquet")


def forget_audit_key(store: ArtifactStore, now: dt.datetime) -> str:
    return store.analytics_key("audit", "forgotten_replies", f"{now:%Y%m%dT%H%M%S%fZ}.json")
