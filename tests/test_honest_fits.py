"""Graph-era artifacts as the real producers write them (docs/real-shapes.md §1, §4, §6), through the real assets
on moto: stub prompts are never replayed nor priced and are counted per family, and a family whose
declared features are absent from its snapshots never reaches the verdict table as evidence."""

import datetime as dt
import json
import random

import dagster as dg
import pandas as pd

from alpha_replay_assets.concordance import concordance
from alpha_replay_assets.counterfactual import counterfactual_fits
from alpha_replay_assets.index import artifact_index, read_day_index
from alpha_replay_assets.paths import concordance_key, fit_agent_key, fits_key, verdicts_key
from alpha_replay_assets.verdicts import agent_verdicts
from helpers import DAY
from jobs.maintenance import estimate_frame

DAYS = [DAY - dt.timedelta(days=1), DAY]
TARGET = "claude-haiku-4-5"


def stub_system(agent_id: str) -> str:
    """The graph cost tracker's placeholder system prompt (its fixed prefix and marker)."""
    return f"<system prompt for agent_id='{agent_id}' not yet plumbed: captured by the cost tracker only>"


def envelope(agent_id: str, run_id: str, day: dt.date, model: str, system: str, user: str, snapshot: dict,
             output: dict) -> tuple[str, bytes]:
    """Key and body of one LLM artifact: every envelope field present, absent values null."""
    metadata = dict.fromkeys(("model_version", "provider_reported_cost_usd", "addressed_registry_id", "sector_team_id"))
    metadata |= {name: 0 for name in ("cache_read_tokens", "cache_create_tokens", "cache_create_1h_tokens",
                                      "prompt_cache_miss_tokens", "reasoning_tokens", "web_search_requests",
                                      "web_fetch_requests")}
    metadata |= {"model_name": model, "provider": "anthropic", "input_tokens": 1700, "output_tokens": 1900,
                 "cost_usd": 0.0336, "run_type": "weekly_research", "node_name": f"{agent_id}_node",
                 "prompt_id": f"{agent_id}_user", "prompt_version": "1.2.0"}
    doc = {"schema_version": 2, "run_id": run_id, "timestamp": f"{day}T15:00:00.887545+00:00", "agent_id": agent_id,
           "model_metadata": metadata,
           "full_prompt_context": {"system_prompt": system, "user_prompt": user, "prompt_version_hash": "a1b2c3",
                                   "tool_definitions": []},
           "input_data_snapshot": snapshot, "input_data_summary": f"{agent_id} inputs", "input_data_truncated_at": None,
           "agent_output": output, "code_sha": "0" * 40, "data_snapshot_id": "unknown"}
    return f"decision_artifacts/{day:%Y/%m/%d}/{agent_id}/{run_id}.json", json.dumps(doc).encode()


def macro(day: dt.date, n: int, vix: float) -> tuple[str, bytes]:
    """A macro_economist artifact whose `macro_data` carries only `vix` (the other declared keys
    absent); the regime follows VIX exactly, so a tree on the defaults would look like a rule."""
    regime = "bear" if vix > 25 else "bull"
    snapshot = {"run_date": day.isoformat(), "macro_data": {"vix": vix, "fetched_at": f"{day}T06:00:00+00:00"},
                "prior_macro_report": "Prior week: risk appetite steady.", "prior_date": "2026-07-01",
                "prior_snapshots_count": 4, "regime_substrate": None}
    output = {"market_regime": regime, "sector_modifiers": {"Technology": 1.05, "Energy": 0.95},
              "sector_ratings": {"Technology": {"rating": "overweight", "rationale": "momentum"},
                                 "Energy": {"rating": "underweight", "rationale": "oil"}},
              "macro_report": f"Regime {regime}."}
    user = f"Macro data for {day}: VIX {vix:.2f}. Prior report of 2026-07-01 follows: risk appetite steady."
    return envelope("macro_economist", f"{day}-{n}", day, "claude-sonnet-4-6", stub_system("macro_economist"), user,
                    snapshot, output)


def ic_cio(day: dt.date, rng: random.Random) -> tuple[str, bytes]:
    """An ic_cio artifact with the candidate keys the producer writes (no composite score or
    sector modifier); ADVANCE exactly when the quant score is above 60."""
    candidates = [{"ticker": f"T{day.day}{i}", "quant_score": round(rng.uniform(20, 99), 1),
                   "qual_score": round(rng.uniform(20, 99), 1), "conviction": rng.randint(20, 95),
                   "quant_rationale": "trend", "bull_case": "growth", "bear_case": "valuation",
                   "catalysts": ["earnings"], "resources_used": [], "peer_review_rationale": "agreed",
                   "team_id": "technology"}
                  for i in range(12)]
    decisions = [{"ticker": c["ticker"], "decision": "ADVANCE" if c["quant_score"] > 60 else "REJECT", "rank": i + 1,
                  "conviction": c["conviction"], "rationale": "scores", "rule_tags": None, "entry_thesis": None,
                  "quant_score": c["quant_score"], "qual_score": c["qual_score"]} for i, c in enumerate(candidates)]
    snapshot = {"run_date": day.isoformat(), "candidates": candidates, "candidates_count": len(candidates),
                "remaining_population": [], "remaining_population_count": 0, "exits": [], "open_slots": 4,
                "prior_ic_decisions": [], "prior_ic_count": 0,
                "macro_context": {"market_regime": "neutral", "macro_report": "steady"}, "sector_ratings": {}}
    output = {"ic_decisions": decisions, "entry_theses": {},
              "advanced_tickers": [d["ticker"] for d in decisions if d["decision"] == "ADVANCE"]}
    user = f"IC session {day}. Candidates:\n" + "\n".join(f"- {c['ticker']}: quant {c['quant_score']}"
                                                          for c in candidates)
    return envelope("ic_cio", day.isoformat(), day, "claude-sonnet-4-6", stub_system("ic_cio"), user, snapshot, output)


def sector_quant(day: dt.date) -> tuple[str, bytes]:
    """A sector_quant artifact whose user prompt is the unrendered template (its system prompt real)."""
    template = ("Rank the {sector_tickers_count} tickers of team {team_id} in a {market_regime} market from their "
                "technical scores:\n{technical_scores_team}\nReply with the top picks.")
    snapshot = {"team_id": "technology", "run_date": day.isoformat(), "market_regime": "neutral",
                "scanner_universe_size": 900, "sector_tickers": ["AAPL", "MSFT"], "sector_tickers_count": 2,
                "technical_scores_team": {"AAPL": {"technical_score": 61.0}, "MSFT": {"technical_score": 55.0}}}
    output = {"ranked_picks": [{"ticker": "AAPL", "quant_score": 72.0, "rationale": "trend", "key_metrics": {}}]}
    return envelope("sector_quant:technology", day.isoformat(), day, "claude-haiku-4-5-20251001",
                    "You are the technology team's quantitative analyst.", template, snapshot, output)


def thesis(day: dt.date) -> tuple[str, bytes]:
    """A think-tank thesis: rendered prompts, the evidence embedded as JSON. Replayed."""
    snapshot = {"ticker": "NVDA", "update_reason": "event", "event_context": "earnings beat",
                "board_row": {"ticker": "NVDA", "sector": "Technology", "metrics": {"pe_fwd": 31.2, "vol_60d": 0.41}},
                "weekly_signal": {"stance": "ENTER", "score": 71.0, "return_4w": 0.06, "sector": "Technology"}}
    user = f"Underwrite NVDA as of {day}.\nEvidence:\n{json.dumps(snapshot, indent=2)}\nWrite the thesis."
    output = {"ticker": "NVDA", "version": day.day, "thesis": {"stance": "attractive", "rating": 74, "conviction": 68,
                                                               "risks": ["supply"], "catalysts": ["launch"]}}
    return envelope("thinktank_thesis", f"a1b2c3d4e5f6-NVDA-v{day.day}", day, "deepseek/deepseek-chat-v3.1",
                    "You are a buy-side analyst. Answer in JSON.", user, snapshot, output)


def seed(client, bucket) -> None:
    rng = random.Random(17)
    for day in DAYS:
        objects = [macro(day, n, vix) for n, vix in enumerate((14.0, 16.5, 18.0, 21.0, 27.5, 30.0, 33.0, 36.5))]
        objects += [ic_cio(day, rng), sector_quant(day), thesis(day)]
        for key, body in objects:
            client.put_object(Bucket=bucket, Key=key, Body=body)


def test_stub_prompts_and_absent_features_never_become_evidence(all_resources, store, s3_client, bucket, model_server):
    seed(s3_client, bucket)
    selection = [artifact_index, concordance, counterfactual_fits, agent_verdicts]
    with dg.instance_for_test() as instance:
        result = dg.materialize(selection, resources=all_resources, instance=instance, tags={
            "dagster/asset_partition_range_start": DAYS[0].isoformat(),
            "dagster/asset_partition_range_end": DAYS[-1].isoformat()},
            run_config={"ops": {"counterfactual_fits": {"config": {"window_days": 2}}}})
    assert result.success

    # stub prompts: flagged in the index, counted per family, skipped by concordance, never priced
    index = pd.concat(read_day_index(store, d) for d in DAYS).set_index("agent_id_base")
    assert index.loc["macro_economist", "is_placeholder"].all() and index.loc["ic_cio", "is_placeholder"].all()
    assert index.loc["sector_quant", "is_placeholder"].all()  # the unrendered template alone
    assert not index.loc["thinktank_thesis", "is_placeholder"].any()  # rendered, JSON inside
    indexed = {m.partition: m.metadata for m in result.asset_materializations_for_node("artifact_index")}
    assert indexed[DAY.isoformat()]["stub_prompts_per_family"].value == {"ic_cio": 1, "macro_economist": 8,
                                                                          "sector_quant": 1}
    replays = store.read_parquet(concordance_key(store, DAY, TARGET)).set_index("agent_id_base")
    assert (replays.drop(index="thinktank_thesis")["outcome"] == "skipped_placeholder").all()
    assert replays.loc["thinktank_thesis", "outcome"] == "schema_error"  # sent: the loopback model cannot parse it
    assert model_server.counts()["messages"] == len(DAYS)  # the two theses, nothing else
    replayed = {m.partition: m.metadata for m in result.asset_materializations_for_node("concordance")}
    assert replayed[DAY.isoformat()]["skipped_placeholder_per_family"].value == {
        "ic_cio": 1, "macro_economist": 8, "sector_quant": 1}
    with dg.build_resources({"store": store, "replay_model": all_resources["replay_model"]}) as built:
        estimate, _ = estimate_frame(built.store, built.replay_model, DAYS)
    concordance_estimate = estimate.set_index("purpose").loc["concordance"]
    # stubs are not priced: only the two theses, already replayed above, so now in the replay cache
    assert concordance_estimate["replays"] + concordance_estimate["cached"] == len(DAYS)
    assert concordance_estimate["cached"] == len(DAYS)

    # absent features: the macro fit is no_features, naming them; the ic_cio fit on its real keys is fitted
    fits = store.read_parquet(fits_key(store, DAY)).set_index("agent_id")
    assert fits.loc["macro_economist", "status"] == "no_features" and pd.isna(fits.loc["macro_economist", "match_rate"])
    doc = store.read_json(fit_agent_key(store, "macro_economist", DAY))
    assert doc["n_samples"] == 16 and doc["coverage_by_feature"]["vix"] == 1.0
    assert "vix" not in doc["missing_features"] and len(doc["missing_features"]) * 2 > len(doc["coverage_by_feature"])
    assert all(name in doc["reason"] for name in doc["missing_features"])
    assert json.loads(fits.loc["macro_economist", "missing_features"]) == doc["missing_features"]
    assert fits.loc["macro_economist", "feature_coverage"] < 0.5
    assert fits.loc["ic_cio", "status"] == "fitted"
    assert fits.loc["ic_cio", "heldout_accuracy"] > fits.loc["ic_cio", "baseline"]

    verdicts = store.read_parquet(verdicts_key(store, DAY)).set_index("agent_id_base")
    macro_verdict = verdicts.loc["macro_economist"]
    assert pd.isna(macro_verdict["rule_heldout"]) and macro_verdict["status"] != "demote_candidate"
    assert "rule fit not evidence: no_features" in macro_verdict["reason"]
    assert "16 of 16 artifacts have stub prompts: not replayed" in macro_verdict["reason"]
    assert verdicts.loc["ic_cio", "rule_heldout"] == fits.loc["ic_cio", "heldout_accuracy"]  # a real fit is evidence
    assert "2 of 2 artifacts have stub prompts: not replayed" in verdicts.loc["sector_quant", "reason"]
    assert verdicts.loc["thinktank_thesis", "n_stub_prompts"] == 0
    assert "stub prompts" not in verdicts.loc["thinktank_thesis", "reason"]
