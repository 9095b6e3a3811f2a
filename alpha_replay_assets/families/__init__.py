"""Agent families: one module per family, each declaring one `FAMILY` (see `family_spec.family.Family`).

The registry is discovered, not listed: every module of this package is a family and must define a
`FAMILY` named like the module, so adding a family is one new file (its scorer, fit, hidden rule and
corpus volume included). What families are made of lives in `family_spec/`, never here. Families
nobody declared are data too: they are judged by the structural scorer.
"""

import importlib
import pkgutil

from alpha_replay_assets.family_spec.family import Family
from alpha_replay_assets.family_spec.structural import STRUCTURAL, Structural
from alpha_replay_assets.paths import agent_id_base


def discover() -> dict[str, Family]:
    """name -> Family for every family module on this package's path, in name order."""
    registry = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        family = getattr(importlib.import_module(f"{__name__}.{info.name}"), "FAMILY", None)
        if not isinstance(family, Family) or family.name != info.name:
            raise TypeError(f"{__name__}.{info.name} must define FAMILY = Family(name={info.name!r}, ...)")
        registry[family.name] = family
    return registry


REGISTRY: dict[str, Family] = discover()


def lookup(agent_id: str) -> Family | None:
    """The registered family of an agent id (its base is registered and the id matches the
    family's declared pattern), or None: an unregistered family."""
    family = REGISTRY.get(agent_id_base(agent_id))
    return family if family is not None and family.matches(agent_id) else None


def declared_targets() -> dict[str, list[str]]:
    """agent_id_base -> [its declared cheap target], for the families that declare one: the replay
    resource's per-family default (resources cannot import the families, so the definitions pass it in)."""
    return {name: [family.cheap_target] for name, family in REGISTRY.items() if family.cheap_target}


def judged_families() -> list[str]:
    """Registered families that are replayed, scored and get a keep/demote verdict (LLM with a decision)."""
    return [name for name, family in REGISTRY.items() if family.judged]


def judge_for(family_name: str, original: dict) -> Family | Structural | None:
    """Who validates and scores replies of this family's artifact: the family's declared scorer,
    the structural scorer (unregistered family), or None (a family with no decision: never
    replayed). (`original` is for judges that would depend on it; none does today.)"""
    family = REGISTRY.get(family_name)
    if family is None:
        return STRUCTURAL
    return family if family.judged else None


def scorer_name(family_name: str) -> str | None:
    """The scorer a family's rows are normally scored by (the family's own or `structural`)."""
    family = REGISTRY.get(family_name)
    if family is None:
        return STRUCTURAL.name
    return family.name if family.judged else None


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def table() -> str:
    """README's family table, generated from the declarations (a test keeps README in step)."""
    lines = ["| family | agent ids | raw reply: decision fields | decision stored at | scored by | κ on | "
             "fitted: target ← inputs |", "|---|---|---|---|---|---|---|"]
    for f in REGISTRY.values():
        if f.decision:
            reply = f"`{f.reply_model}` ({f.reply_at}): " + "; ".join(f"`{d}`" for d in f.decision)
        else:
            reply = "none (deterministic)"
        scored = str(f.scorer) if f.scorer else "not replayed"
        fitted = f"{f.fit.target} ← {f.fit.inputs}" if f.fit else f"unsupported: {f.unsupported_reason}"
        cells = [f"`{f.name}`", f"`{f.agent_ids}`", reply, f"`{f.stored_at}`" if f.decision else "—", scored,
                 f.kappa_on or "—", fitted]
        lines.append("| " + " | ".join(map(_cell, cells)) + " |")
    lines.append("| any other | any | any JSON | — | structural (recursive, see `family_spec/structural.py`) | — | "
                 "unsupported: unregistered family, no declared decision |")
    return "\n".join(lines)
