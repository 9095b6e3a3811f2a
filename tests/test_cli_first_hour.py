"""The operator commands as a new user meets them: `alpha-replay verdicts` reads the answer back
from the bucket, and every mistake of the guide's steps is one line naming the thing to fix."""

import json
import re
import subprocess

import dagster as dg
import pytest

from alpha_replay_assets.paths import concordance_key, verdicts_key
from helpers import DAY, ROOT, server_env
from jobs.catalog import ALL_ASSETS


def cli(*args, env):
    return subprocess.run(["alpha-replay", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def env(s3_server, bucket, model_server, dagster_home, tmp_path):
    return server_env(s3_server.endpoint_url, bucket, model_server.base_url, dagster_home, tmp_path)


def one_line(result) -> str:
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_verdicts_prints_the_table_the_weekly_run_wrote(all_resources, store, seeded, env):
    seeded()
    with dg.instance_for_test() as instance:
        assert dg.materialize(ALL_ASSETS, resources=all_resources, instance=instance,
                              partition_key=DAY.isoformat()).success
    table = store.read_parquet(verdicts_key(store, DAY))

    shown = cli("verdicts", env=env)
    assert shown.returncode == 0, shown.stderr
    assert f"agent verdicts, window ending {DAY}" in shown.stdout
    for row in table.itertuples():  # every agent, with its call and its full reason
        assert f"{row.agent_id_base} ({row.target_model}): {row.status}: {row.reason}" in shown.stdout

    as_json = json.loads(cli("verdicts", "--format", "json", "--day", DAY.isoformat(), env=env).stdout)
    assert as_json["window_end"] == DAY.isoformat()
    assert sorted(v["agent_id_base"] for v in as_json["verdicts"]) == sorted(table["agent_id_base"])
    markdown = cli("verdicts", "--format", "markdown", env=env).stdout
    assert markdown.rstrip("\n") == store.get_bytes(verdicts_key(store, DAY, "report.md")).decode().rstrip("\n")

    # what the run replayed is in the replay cache: the estimate leaves it out and says how much
    replays = store.read_parquet(concordance_key(store, DAY, "claude-haiku-4-5"))
    replayed = int(replays["outcome"].isin(["structured", "schema_error"]).sum())
    estimate = cli("estimate", "--from", DAY.isoformat(), "--to", DAY.isoformat(), env=env)
    assert estimate.returncode == 0, estimate.stderr
    left_out = int(re.search(r"; (\d+) replies already in the replay cache are left out", estimate.stdout).group(1))
    assert replayed > 0 and left_out >= replayed
    concordance_row = next(line for line in estimate.stdout.splitlines() if " concordance " in line)
    assert concordance_row.split()[3] == "0", concordance_row  # nothing of the day's concordance is left to pay

    other = DAY.replace(day=1) if DAY.day != 1 else DAY.replace(day=2)
    line = one_line(cli("verdicts", "--day", other.isoformat(), env=env))
    assert f"no verdicts for the window ending {other}; the newest is {DAY}" in line


def test_an_empty_bucket_says_what_to_materialise(env):
    assert "materialise agent_verdicts" in one_line(cli("verdicts", env=env))


@pytest.mark.parametrize("change, expected", [
    ({"ALPHA_REPLAY_BUCKET": "alpha-replay-typo"},
     "bucket s3://alpha-replay-typo (ALPHA_REPLAY_BUCKET) does not exist"),
    ({"ALPHA_REPLAY_BUCKET": ""}, "s3://alpha-engine-research (the default: ALPHA_REPLAY_BUCKET is unset) does not "
                                  "exist"),
    ({"ALPHA_REPLAY_S3_ENDPOINT_URL": "http://127.0.0.1:9"}, "cannot reach the S3 endpoint http://127.0.0.1:9: check "
                                                             "ALPHA_REPLAY_S3_ENDPOINT_URL"),
    ({"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
      "AWS_CONFIG_FILE": "/nonexistent"}, "no AWS credentials for s3://"),
])
@pytest.mark.parametrize("command", [["estimate", "--from", DAY.isoformat(), "--to", DAY.isoformat()], ["verdicts"]])
def test_a_wrong_deployment_is_one_line_naming_it(env, command, change, expected):
    assert expected in one_line(cli(*command, env={k: v for k, v in (env | change).items() if v != ""}))


@pytest.mark.parametrize("argv, expected", [
    (["demo", "--days", "abc"], "argument --days: expected a whole number, got 'abc'"),
    (["demo", "--end", "12/03/2026"], "argument --end: expected a day as YYYY-MM-DD, got '12/03/2026'"),
    (["verdicts", "--day", "yesterday"], "argument --day: expected a day as YYYY-MM-DD, got 'yesterday'"),
])
def test_a_malformed_argument_says_the_expected_format(argv, expected, env):
    assert expected in cli(*argv, env=env).stderr
