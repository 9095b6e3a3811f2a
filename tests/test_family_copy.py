"""A family really is one file: a copy of a family module under a new name, and nothing else, is a
new family that is indexed, replayed, fitted and judged.

"Copy a module" means: the repository tree (without .git and caches) copied to a temporary
directory, `alpha_replay_assets/families/sector_quant.py` copied byte for byte to
`families/<new name>.py` there, and no other file touched. A family is named after its module
(`family_spec.family.named_after`) and builds its agent ids from that name, so the copy writes,
is discovered and is judged under its own name. In that copy, in a subprocess whose PYTHONPATH is
the copy, the family test suite and this file's one-day materialisation run green.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from alpha_replay_assets.families import REGISTRY, judged_families
from alpha_replay_assets.index import read_day_index
from alpha_replay_assets.paths import concordance_key, verdicts_key
from alpha_replay_assets.sample import schedule
from helpers import DAY, pinned
from jobs.catalog import ALL_ASSETS, PARTITION_CHECKS

# its own scheduling unit under `--dist loadgroup`; under the default `--dist loadfile` this file is one
pytestmark = pytest.mark.xdist_group("family_copy")
ROOT = Path(__file__).resolve().parent.parent
MODEL = "claude-haiku-4-5"
SOURCE, COPY = "sector_quant", "sector_quant_twin"
IGNORED = shutil.ignore_patterns(".git", "__pycache__", ".pytest_cache", ".ruff_cache", "*.egg-info")


def test_one_day_indexes_replays_fits_and_judges_every_graph_family(all_resources, store, seeded):
    """index -> concordance -> fits -> verdicts for one legacy day: every judged family the graph
    era writes is in the index, has scored replay rows and a verdict row (whatever families exist)."""
    seeded(spec=pinned(per_day=40, mix="legacy", unregistered_per_day=0, bad_fraction=0, placeholder_fraction=0,
                       truncated_fraction=0, large_fraction=0))
    with dg.instance_for_test() as instance:
        result = dg.materialize(ALL_ASSETS + PARTITION_CHECKS, resources=all_resources, instance=instance,
                                partition_key=DAY.isoformat(), raise_on_error=False)
    assert result.success
    expected = {name for name, _ in schedule.volumes("legacy")} & set(judged_families())
    index = read_day_index(store, DAY)
    assert expected <= set(index.loc[index["status"] == "ok", "agent_id_base"])
    replays = store.read_parquet(concordance_key(store, DAY, MODEL))
    scored = replays[replays["agreement_score"].notna()]
    assert expected <= set(scored["agent_id_base"]) and set(scored["scorer"]) >= expected
    verdicts = store.read_parquet(verdicts_key(store, DAY))
    assert expected <= set(verdicts["agent_id_base"])
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks["every_family_has_a_row"].passed


def copy_repo(tmp_path: Path) -> Path:
    """The repository tree in `tmp_path`, plus the copied family module: the only change."""
    copy = tmp_path / "repo"
    shutil.copytree(ROOT, copy, ignore=IGNORED)
    families = copy / "alpha_replay_assets" / "families"
    shutil.copyfile(families / f"{SOURCE}.py", families / f"{COPY}.py")
    return copy


def run(copy: Path, *args: str, timeout: float) -> subprocess.CompletedProcess:
    env = os.environ | {"PYTHONPATH": str(copy), "DAGSTER_HOME": str(copy / ".dagster_home")}
    (copy / ".dagster_home").mkdir(exist_ok=True)
    (copy / ".dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return subprocess.run([sys.executable, *args], cwd=copy, env=env, capture_output=True, text=True, timeout=timeout)


def test_a_copied_family_module_is_a_new_family_indexed_replayed_fitted_and_judged(tmp_path):
    assert SOURCE in REGISTRY and COPY not in REGISTRY
    copy = copy_repo(tmp_path)
    registry = run(copy, "-c", "from alpha_replay_assets.families import REGISTRY; print(' '.join(REGISTRY))",
                   timeout=120)
    assert registry.returncode == 0, registry.stderr
    assert set(registry.stdout.split()) == set(REGISTRY) | {COPY}  # the copy is imported, not this checkout
    one_day = f"tests/{Path(__file__).name}::{test_one_day_indexes_replays_fits_and_judges_every_graph_family.__name__}"
    tests = run(copy, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider", "-rA", "tests/test_families.py",
                one_day, timeout=600)
    assert tests.returncode == 0, tests.stdout[-4000:] + tests.stderr[-2000:]
    assert f"[{COPY}]" in tests.stdout and f"[{COPY}-legacy]" in tests.stdout  # the generic tests ran on it
    assert f"PASSED {one_day}" in tests.stdout
