"""Screenshots of the Dagster UI for the README: the asset graph and one asset's page.

    apt-get install -y chromium && python docs/take_screenshots.py

Runs the quick start with `--ui` (local S3 server, simulated model, 7 seeded days), waits for the
webserver, and captures pages with headless Debian Chromium into docs/*.png.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

DOCS = Path(__file__).resolve().parent
BASE = "http://127.0.0.1:3000"
PAGES = {
    "asset-graph.png": "/asset-groups",
    "asset-checks.png": "/assets/concordance?view=checks",
    "asset-plots.png": "/assets/concordance_summary?view=plots",
    "verdicts.png": "/assets/agent_verdicts",
}
CHROMIUM = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
            "--hide-scrollbars", "--window-size=1600,1000", "--virtual-time-budget=20000"]


def main() -> None:
    demo = subprocess.Popen([sys.executable, "-c", "from jobs.cli import main; main()", "demo", "--days", "7",
                             "--per-day", "200", "--ui"], cwd=DOCS.parent, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 600
        while True:
            try:
                requests.get(f"{BASE}/server_info", timeout=2).raise_for_status()
                break
            except requests.RequestException:
                if time.monotonic() > deadline or demo.poll() is not None:
                    raise SystemExit("the demo's webserver did not come up")
                time.sleep(2)
        time.sleep(10)  # let the code location load
        for name, path in PAGES.items():
            with tempfile.TemporaryDirectory() as profile:
                subprocess.run([*CHROMIUM, f"--user-data-dir={profile}", f"--screenshot={DOCS / name}", BASE + path],
                               check=True, capture_output=True, timeout=120)
            print(f"wrote {DOCS / name}")
    finally:
        os.killpg(demo.pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
