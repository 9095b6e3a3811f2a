"""What an agent family is: one frozen declaration holding everything alpha-replay knows about it.

A `Family` says which agent ids it writes under, which decision fields a reply must carry (and
their types), how an original and a reply are made comparable and scored (a `Scorer` composed
of typed comparators), which labels Cohen's kappa is computed on, what the counterfactual fit
predicts from which inputs, and the synthetic corpus's hidden rule for it. Pure: no Dagster, no I/O.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from alpha_replay_assets.family_spec.comparators import Scorer
from alpha_replay_assets.family_spec.fields import SchemaError
from alpha_replay_assets.family_spec.rule import HiddenRule

# Recorded on every concordance row so series before and after a scorer change stay comparable.
# 1 = the legacy scorer (both-empty = 0, no shape normalisation); 2 = both fixed (see comparators).
# Unchanged by the family registry: the six graph families' scorers give the same numbers, and the
# families scored for the first time (think tank, structural) are told apart by the `scorer` column.
SCORER_VERSION = 2
# Where a family's agent_output records the total cost of all of an artifact's calls, when the
# producer made more calls than model_metadata prices (the think tank's thesis: its pillar
# assessment). Read by every family unless it declares otherwise; see `Family.total_cost_field`.
TOTAL_COST_FIELD = "cost_usd"


@dataclass(frozen=True)
class Agreement:
    score: float
    diagnostics: dict = field(default_factory=dict)
    scorer: str = ""  # the family name, or `structural`


@dataclass(frozen=True)
class FitSpec:
    """Domain §3: one row per decision with its label and its inputs as numeric features."""
    target: str  # what the tree predicts
    inputs: str  # from what
    rows: Callable[[dict, dict], list[dict]]  # (input snapshot, agent output) -> feature rows (see fitting)


def strings_at(value: Any, path: list[str]) -> list[str]:
    """The strings at a rationale path (`name`, or `name[]` for each item of a list); anything
    else on the way (a missing key, another type) yields nothing: outputs are free-form."""
    if not path:
        return [value] if isinstance(value, str) else []
    name, rest = path[0], path[1:]
    if not isinstance(value, dict):
        return []
    if name.endswith("[]"):
        items = value.get(name[:-2])
        return [s for item in items for s in strings_at(item, rest)] if isinstance(items, list) else []
    return strings_at(value.get(name), rest)


def named_after(module: str) -> str:
    """A family's name: its module's (`...families.sector_quant` -> `sector_quant`). Its agent ids
    are built from it too, so a copy of a family module under a new name is a new family."""
    return module.rsplit(".", 1)[-1]


def _same(output: dict) -> dict:
    return output


@dataclass(frozen=True)
class Family:
    """One agent family. Its decision lives in two places: the stored `agent_output` (the
    producer's post-processed object, `stored_at`) and the raw reply a model answering the
    captured prompt returns (the producer's response model `reply_model`, `reply_at`). Replies are
    validated against the raw schema (`decision`); `from_output` and `from_reply` bring each side
    into one comparable form, which the scorer and kappa read."""
    name: str
    agent_ids: str  # regex, full match: the agent ids this family writes under
    decision: tuple = ()  # the raw reply's decision fields (above) a reply must carry
    reply_model: str = ""  # the producer's response model the raw reply follows
    stored_at: str = "agent_output"  # where the decision lives in the stored artifact
    reply_at: str = "top level"  # where it lives in the raw reply
    from_output: Callable[[dict], dict] = _same  # stored agent_output -> comparable form
    from_reply: Callable[[dict], dict] = _same  # raw reply -> comparable form
    scorer: Scorer | None = None  # over the comparable forms; None = not replayed
    kappa_on: str | None = None  # comparable field with categorical labels (a value or a key -> label map)
    fit: FitSpec | None = None
    is_llm: bool = True
    rule: HiddenRule | None = None
    unsupported_reason: str = "no decision field to replay or fit"
    # agent_output field with the artifact's total cost (all its calls); used when it is at least
    # model_metadata.cost_usd (a total includes that call). None: model_metadata's cost is all.
    total_cost_field: str | None = TOTAL_COST_FIELD
    # Where its prose rationales live in agent_output (docs/domain.md §3b): dotted paths, `[]` for every
    # item of a list (`ranked_picks[].rationale`). Indexed per artifact, clustered for templates.
    rationales: tuple[str, ...] = ()
    # Its default cheap model, when the default list (`ReplayModel.target_models`) costs more than its
    # original (the think tank's low-cost router originals); ALPHA_REPLAY_TARGET_MODELS_BY_FAMILY wins.
    cheap_target: str | None = None

    def rationale_texts(self, output: dict) -> list[str]:
        """The non-blank strings at the declared rationale paths of a stored agent_output."""
        return [text for path in self.rationales for text in strings_at(output, path.split("."))
                if text.strip()]

    @property
    def judged(self) -> bool:
        """Replayed, scored and given a keep/demote verdict."""
        return self.is_llm and self.scorer is not None

    def matches(self, agent_id: str) -> bool:
        return re.fullmatch(self.agent_ids, agent_id) is not None

    def validate(self, reply: Any, original: dict | None = None) -> dict:
        """`reply` if it carries every decision field of the raw reply schema; else SchemaError.
        (`original` is unused here; the structural judge needs it.)"""
        if not isinstance(reply, dict):
            raise SchemaError("reply is not a JSON object")
        for f in self.decision:
            f.check(reply)
        return reply

    def score(self, original: dict, reply: dict) -> Agreement:
        """Agreement of a raw reply with the stored output, over their comparable forms."""
        score, diagnostics = self.scorer(self.from_output(original), self.from_reply(reply))
        return Agreement(score, diagnostics, self.name)

    def label_pairs(self, original: dict, reply: dict) -> list[list[str]]:
        """(original, reply) label pairs for Cohen's kappa: one per common key of a label map,
        or one for a single categorical field; none when the family has no labels."""
        if self.kappa_on is None:
            return []
        a, b = self.from_output(original).get(self.kappa_on), self.from_reply(reply).get(self.kappa_on)
        if isinstance(a, dict) and isinstance(b, dict):
            pairs = [[a[k], b[k]] for k in sorted(set(a) & set(b))]
        else:
            pairs = [[a, b]]
        return [p for p in pairs if all(isinstance(x, str) for x in p)]
