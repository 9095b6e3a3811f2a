"""Screenshots of the Dagster UI for the README, from the quick start's data, with proof of content.

    apt-get install -y chromium && pip install playwright && python docs/take_screenshots.py

Runs the quick start with `--ui` (local S3 server, simulated model, seeded days; the demo's weekly
run is a range run, so per-partition check results come from it), spoils one day (malformed
artifacts written beside the seeded ones, that day re-indexed through a UI backfill: its
`bad_row_rate_below_bound` fails, the other days pass), then captures four pages with Debian's
headless Chromium driven by Playwright (no browser download). Each page's visible text is saved
beside its PNG (`docs/screenshots.json`) and `tests/test_screenshots.py` checks it holds what the
picture must show, so a blank or wrong page cannot be committed.
"""

import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import requests
from playwright.sync_api import Page, sync_playwright

DOCS = Path(__file__).resolve().parent
BASE = "http://127.0.0.1:3000"
LOG = Path("/tmp/alpha-replay-screenshots.log")
SPOILED_OBJECTS = 80  # ~13% of a day: over the check's 5% bound
# Device pixels per CSS pixel, where 1 is too coarse: the expanded graph and the verdict table's
# columns fit a 1600x1000 PNG.
SCALES = {"asset-lineage.png": 0.66, "verdict-table.png": 0.75}
BACKFILL = """
mutation ($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) { __typename ... on LaunchBackfillSuccess { backfillId } }
}"""
BACKFILL_STATUS = ("query ($id: String!) { partitionBackfillOrError(backfillId: $id) "
                   "{ ... on PartitionBackfill { status } } }")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]


def wait_for_webserver(demo: subprocess.Popen) -> None:
    deadline = time.monotonic() + 1200
    while True:
        try:
            requests.get(f"{BASE}/server_info", timeout=2).raise_for_status()
            return
        except requests.RequestException:
            if time.monotonic() > deadline or demo.poll() is not None:
                raise SystemExit("the demo's webserver did not come up")
            time.sleep(2)


def gql(query: str, **variables) -> dict:
    reply = requests.post(f"{BASE}/graphql", json={"query": query, "variables": variables}, timeout=60).json()
    if "errors" in reply:
        raise SystemExit(f"GraphQL: {reply['errors']}")
    return reply["data"]


def demo_week() -> list[dt.date]:
    """The first and last day of the demo's weekly range run, from its log."""
    first, last = re.search(r"weekly_job for (\S+)\.\.(\S+):", LOG.read_text()).groups()
    return [dt.date.fromisoformat(first), dt.date.fromisoformat(last)]


def spoil_one_day() -> str:
    """Write malformed artifacts into the demo's second-newest day and re-index it from the UI's
    backfill mutation: that day's bad-row check fails, the others keep passing."""
    endpoint, bucket = re.search(r"S3: moto server on (\S+) \(bucket (\S+)\)", LOG.read_text()).groups()
    day = demo_week()[-1] - dt.timedelta(days=3)
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="demo",
                          aws_secret_access_key="demo")  # the demo's moto server takes any credentials
    for i in range(SPOILED_OBJECTS):
        client.put_object(Bucket=bucket, Key=f"decision_artifacts/{day:%Y/%m/%d}/ic_cio/spoiled-{i:03}.json",
                          Body=b'{"agent_id": "ic_cio", "decision": ')  # cut off mid-document
    launched = gql(BACKFILL, params={"assetSelection": [{"path": ["artifact_index"]}],
                                     "partitionNames": [day.isoformat()]})["launchPartitionBackfill"]
    deadline = time.monotonic() + 600
    while gql(BACKFILL_STATUS, id=launched["backfillId"])["partitionBackfillOrError"]["status"] not in (
            "COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"):
        if time.monotonic() > deadline:
            raise SystemExit("the re-index backfill did not finish")
        time.sleep(3)
    return day.isoformat()


def settle(page: Page, path: str) -> None:
    page.goto(BASE + path)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(4000)


def lineage(page: Page) -> None:
    """The whole graph, every group expanded (the UI keeps that in local storage, so a reload lays
    the expanded graph out centred), with each asset's check badge."""
    settle(page, "/asset-groups")
    for group in ("capture", "concordance", "counterfactual", "verdicts"):
        box = [b for label in page.get_by_text(group, exact=True).all()
               if (b := label.bounding_box()) and b["x"] > 560][0]  # the graph's group box, not the tree
        page.mouse.click(box["x"] + 230, box["y"] + box["height"] / 2)  # its expand chevron
        page.wait_for_timeout(1000)
    settle(page, "/asset-groups")
    page.mouse.move(1900, 1000)
    page.mouse.down()
    page.mouse.move(1900, 1055, steps=8)  # clear of the toolbar
    page.mouse.up()
    page.wait_for_timeout(1000)


def failing_check(page: Page, day: str) -> None:
    """One check's per-partition status over the demo's week: the spoiled day red, the others green."""
    settle(page, "/assets/artifact_index?view=checks")
    page.get_by_text("bad_row_rate_below_bound").first.click()
    page.wait_for_timeout(2000)
    page.get_by_role("tab", name="Partitions").last.click()
    page.wait_for_timeout(2000)
    first, last = demo_week()
    field = page.locator("input[value^='[']").first  # the partition range, not the checks filter
    field.fill(f"[{first}...{last}]")
    field.press("Enter")
    page.wait_for_timeout(1500)
    page.get_by_text(day, exact=True).first.click()
    page.wait_for_timeout(2500)


def plot(page: Page) -> None:
    """One agent's concordance (mean, CI, n) over the window ends: the asset's metadata plots."""
    settle(page, "/assets/concordance_summary?view=overview")
    page.get_by_role("button", name="Plots").click()
    page.wait_for_timeout(3000)
    page.get_by_text("Metadata", exact=True).first.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(1000)


def verdict_table(page: Page) -> None:
    """The latest window's verdicts: one row per agent with its status, why, and numbers."""
    settle(page, "/assets/agent_verdicts?view=overview")
    page.get_by_text("verdict_table", exact=True).first.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(1500)


PAGES = {"asset-lineage.png": lineage, "check-partitions.png": failing_check, "agent-plot.png": plot,
         "verdict-table.png": verdict_table}


def capture(pages: dict, day: str) -> dict:
    """Each page's PNG and visible text; wide pages at a finer scale in a wider layout."""
    texts = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for name, show in pages.items():
            scale = SCALES.get(name, 1)
            page = browser.new_page(viewport={"width": round(1600 / scale), "height": round(1000 / scale)},
                                    device_scale_factor=scale)
            settle(page, "/overview")
            skip = page.get_by_role("button", name="Skip")
            if skip.count():
                skip.first.click()  # the first-visit community dialog
            page.get_by_role("button", name="Hide navigation").click()
            show(page, day) if show is failing_check else show(page)
            page.screenshot(path=str(DOCS / name))
            texts[name] = page.inner_text("body")
            page.close()
            print(f"wrote {DOCS / name}")
        browser.close()
    return texts


def main() -> None:
    with LOG.open("w") as log:
        demo = subprocess.Popen([sys.executable, "-c", "from jobs.cli import main; main()", "demo", "--days", "7",
                                 "--ui"], cwd=DOCS.parent, start_new_session=True, stdout=log, stderr=log)
    try:
        wait_for_webserver(demo)
        time.sleep(10)
        texts = capture(PAGES, spoil_one_day())
    finally:
        os.killpg(demo.pid, signal.SIGKILL)
    (DOCS / "screenshots.json").write_text(json.dumps(texts, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
