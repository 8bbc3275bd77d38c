"""The dashboard in a real browser: `tuopin app` on a free loopback port, driven by Playwright in
Debian's Chromium (/usr/bin/chromium, installed by `make browser`; no browser is downloaded).

One session walks the page as a planner would: pick a scenario, run, move the budget, run again
(the chart and the county table must change), type a bad value (a message, no traceback), switch
to Chinese. It saves a screenshot to results/dashboard.png.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = ROOT / "results" / "dashboard.png"
CHROME_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--no-first-run"]
START_TIMEOUT = 120  # seconds for the server to answer (imports are slow on a busy machine)
RUN_TIMEOUT_MS = 90_000


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    """`tuopin app` running on a free loopback port; stopped at the end."""
    port = free_port()
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen([sys.executable, "-m", "tuopin.cli", "app", "--port", str(port)], cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"tuopin app exited with {proc.returncode}:\n{log.read().decode(errors='replace')}")
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"tuopin app did not answer on {url} within {START_TIMEOUT} s")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def page(app_url: str):
    """A fresh headless Chromium profile with the dashboard open."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (installs Debian's chromium and chromium-driver)")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=CHROME_ARGS,
            viewport={"width": 1500, "height": 1000})
        try:
            page = context.new_page()
            page.goto(app_url)
            page.wait_for_selector(".tuopin-run", timeout=RUN_TIMEOUT_MS)
            yield page
        finally:
            context.close()


def set_field(page, css: str, value: str) -> None:
    """Type a value into a text field and commit it (Enter)."""
    field = page.locator(f"{css} input")
    field.fill(value)
    field.press("Enter")


def run_and_wait(page, previous_table: str | None) -> str:
    """Press Run, wait until the county table shows (and differs from ``previous_table``)."""
    page.locator(".tuopin-run").click()
    page.wait_for_function(
        """(previous) => {
            const t = document.querySelector('.tuopin-counties table');
            const busy = document.querySelector('.tuopin-progress');
            return t && !busy && t.innerText !== previous;
        }""", arg=previous_table or "", timeout=RUN_TIMEOUT_MS)
    return page.locator(".tuopin-counties table").inner_text()


def test_dashboard_runs_changes_and_explains(page) -> None:
    # pick a scenario from the list: Shangluo, at the page's small default scale
    page.locator(".tuopin-scenario").click()
    page.get_by_role("option", name="shangluo.yaml").first.click()
    page.wait_for_function("() => document.querySelector('.tuopin-scenario').innerText.includes('shangluo.yaml')")
    set_field(page, ".tuopin-replicates", "4")

    first = run_and_wait(page, None)
    assert "Shangzhou" in first and "Zhashui" in first, first
    chart_before = page.locator(".tuopin-chart img").first.screenshot()
    headline_before = page.locator(".tuopin-headline").inner_text()

    # a 20% budget cut: fewer exits, more people left poor, in the chart and the table
    set_field(page, ".tuopin-budget", "0.8")
    set_field(page, ".tuopin-replicates", "8")
    page.locator(".tuopin-run").click()
    page.wait_for_selector(".tuopin-progress", timeout=RUN_TIMEOUT_MS)  # the progress bar shows while running
    page.wait_for_function(
        """(previous) => {
            const t = document.querySelector('.tuopin-counties table');
            return t && !document.querySelector('.tuopin-progress') && t.innerText !== previous;
        }""", arg=first, timeout=RUN_TIMEOUT_MS)
    second = page.locator(".tuopin-counties table").inner_text()
    assert second != first
    assert page.locator(".tuopin-headline").inner_text() != headline_before
    assert "Budget = 0.8" in page.locator(".tuopin-levers").inner_text()
    page.wait_for_timeout(500)  # let the new figure's image load before comparing pixels
    assert page.locator(".tuopin-chart img").first.screenshot() != chart_before
    assert page.locator(".tuopin-villages img").count() == 1

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1500, "height": 1450})
    page.wait_for_timeout(500)
    page.screenshot(path=str(SCREENSHOT))
    page.set_viewport_size({"width": 1500, "height": 1000})

    # a bad value: a message on the page, no traceback, the last results kept
    set_field(page, ".tuopin-replicates", "0")
    page.locator(".tuopin-run").click()
    error = page.locator(".tuopin-error")
    error.wait_for(timeout=RUN_TIMEOUT_MS)
    assert "replicates" in error.inner_text()
    assert "Traceback" not in page.locator("body").inner_text()
    assert page.locator(".tuopin-counties table").inner_text() == second

    # Chinese labels
    page.get_by_role("button", name="中文").click()
    page.wait_for_function("() => document.body.innerText.includes('各县与规划对比')", timeout=RUN_TIMEOUT_MS)
    assert "落后于规划" in page.locator(".tuopin-counties table").inner_text() or \
        "按计划" in page.locator(".tuopin-counties table").inner_text()
