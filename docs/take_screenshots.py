"""Screenshots of the Dagster UI for the README, from the quick start's data, with proof of content.

    apt-get install -y chromium && pip install playwright && python docs/take_screenshots.py

Runs the quick start with `--ui` (local S3 server, simulated model, seeded days; the demo's weekly
run is a range run, so per-partition check results come from it), then captures four pages with
Debian's headless Chromium driven by Playwright (no browser download). Each page's visible text
is saved beside its PNG (`docs/screenshots.json`) and `tests/test_screenshots.py` checks it holds
what the picture must show, so a blank or wrong page cannot be committed.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
from playwright.sync_api import Page, sync_playwright

DOCS = Path(__file__).resolve().parent
BASE = "http://127.0.0.1:3000"
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


def settle(page: Page, path: str) -> None:
    page.goto(BASE + path)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(4000)


def lineage(page: Page) -> None:
    """The whole graph, every group expanded, with each asset's check badge."""
    settle(page, "/asset-groups")
    expand = page.get_by_role("button", name="Expand all")
    if expand.count():
        expand.first.click()
    else:
        page.get_by_text("Expand all").first.click()
    page.wait_for_timeout(3000)
    fit = page.get_by_role("button", name="Zoom to fit")
    if fit.count():
        fit.first.click()
        page.wait_for_timeout(1500)


def failing_check(page: Page) -> None:
    """One check's per-partition status: the day it failed red, the others green."""
    settle(page, "/assets/artifact_index?view=checks")
    page.get_by_text("unregistered_family_seen").first.click()
    page.wait_for_timeout(3000)


def plot(page: Page) -> None:
    """One agent's concordance over the window ends (the asset's Plots tab)."""
    settle(page, "/assets/concordance_summary?view=plots")
    page.wait_for_timeout(2000)


def verdict_table(page: Page) -> None:
    """The latest window's verdicts: one row per agent with its status, reason and numbers."""
    settle(page, "/assets/agent_verdicts?view=events")
    page.get_by_text("verdict_table").first.scroll_into_view_if_needed()
    page.wait_for_timeout(1500)


PAGES = {"asset-lineage.png": lineage, "check-partitions.png": failing_check, "agent-plot.png": plot,
         "verdict-table.png": verdict_table}


def main() -> None:
    demo = subprocess.Popen([sys.executable, "-c", "from jobs.cli import main; main()", "demo", "--days", "7", "--ui"],
                            cwd=DOCS.parent, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    texts = {}
    try:
        wait_for_webserver(demo)
        time.sleep(10)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            settle(page, "/overview")
            skip = page.get_by_role("button", name="Skip")
            if skip.count():
                skip.first.click()  # the first-visit community dialog
            for name, capture in PAGES.items():
                capture(page)
                page.screenshot(path=str(DOCS / name))
                texts[name] = page.inner_text("body")
                print(f"wrote {DOCS / name}")
            browser.close()
    finally:
        os.killpg(demo.pid, signal.SIGKILL)
    (DOCS / "screenshots.json").write_text(json.dumps(texts, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
