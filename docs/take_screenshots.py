"""Screenshots of the Dagster UI for the README: the asset graph, checks, plots and verdicts.

    apt-get install -y chromium && pip install playwright && python docs/take_screenshots.py

Runs the quick start with `--ui` (local S3 server, simulated model, 7 seeded days), then one
single-partition `daily_job` run (so partitioned checks show per-partition results), and captures
pages with Debian's headless Chromium driven by Playwright (no browser download).
"""

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
from dagster_graphql import DagsterGraphQLClient
from playwright.sync_api import sync_playwright

DOCS = Path(__file__).resolve().parent
BASE = "http://127.0.0.1:3000"
PAGES = {
    "asset-graph.png": "/asset-groups",
    "asset-checks.png": "/assets/concordance?view=checks",
    "asset-plots.png": "/assets/concordance_summary?view=events",
    "verdicts.png": "/assets/agent_verdicts?view=events",
}
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]


def wait_for_webserver(demo: subprocess.Popen) -> None:
    deadline = time.monotonic() + 600
    while True:
        try:
            requests.get(f"{BASE}/server_info", timeout=2).raise_for_status()
            return
        except requests.RequestException:
            if time.monotonic() > deadline or demo.poll() is not None:
                raise SystemExit("the demo's webserver did not come up")
            time.sleep(2)


def run_one_partition() -> None:
    client = DagsterGraphQLClient("127.0.0.1", port_number=3000)
    day = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)).isoformat()
    run_id = client.submit_job_execution("daily_job", repository_location_name="alpha_replay",
                                         repository_name="__repository__", tags={"dagster/partition": day})
    while client.get_run_status(run_id).value not in ("SUCCESS", "FAILURE", "CANCELED"):
        time.sleep(2)


def main() -> None:
    demo = subprocess.Popen([sys.executable, "-c", "from jobs.cli import main; main()", "demo", "--days", "7",
                             "--per-day", "200", "--ui"], cwd=DOCS.parent, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_webserver(demo)
        time.sleep(5)
        run_one_partition()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(BASE + "/overview")
            page.wait_for_timeout(4000)
            skip = page.get_by_role("button", name="Skip")
            if skip.count():
                skip.first.click()  # the first-visit community dialog
            for name, path in PAGES.items():
                page.goto(BASE + path)
                page.wait_for_load_state("networkidle")
                page.wait_for_timeout(4000)
                page.screenshot(path=str(DOCS / name))
                print(f"wrote {DOCS / name}")
            browser.close()
    finally:
        os.killpg(demo.pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
