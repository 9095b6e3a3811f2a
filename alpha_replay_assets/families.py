"""Agent families (domain §1.3): which ones exist, which are scored, which are fitted."""


CANONICAL_FAMILIES = (
    "sector_quant",
    "sector_qual",
    "sector_peer_review",
    "macro_economist",
    "ic_cio",
    "thesis_update",
)
# Indexed and counted, never scored: the think-tank producers (LLM) and the executors (rules).
OTHER_KNOWN_FAMILIES = ("thinktank_thesis", "thinktank_theme", "executor")
KNOWN_FAMILIES = CANONICAL_FAMILIES + OTHER_KNOWN_FAMILIES

# Families the counterfactual rule fit understands (domain §3).
FITTED_FAMILIES = ("ic_cio", "macro_economist")

PLACEHOLDER_MARKER = "not yet wired through track_llm_cost"
