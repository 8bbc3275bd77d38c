"""The dashboard in a real browser: `tuopin app` on a free loopback port, driven by Playwright in
Debian's Chromium (/usr/bin/chromium, installed by `make browser`; no browser is downloaded).

One session walks the page as a planner would: the page opens on the Shangluo baseline, already
run; move the budget slider and run: baseline and variant side by side with their difference; type
a bad value (a message, no traceback; it goes when the value is fixed); switch to Chinese (no
English left on the page, the message too); pick another scenario (its own baseline, levers back
to the plan). Screenshots go to runs/dashboard/ (ignored by git), at 1024 and 1400 px.
"""

from __future__ import annotations

import os
import re
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
SHOTS = ROOT / "runs" / "dashboard"
ALLOWED_LATIN = re.compile(r"[\w./-]+\.yaml|English|ENGLISH|CSV|PNG|SVG")
"""Latin text that may stay in Chinese mode: file names, the language switch, file formats."""
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
    """Type a value into a text field (it takes effect as typed)."""
    field = page.locator(f"{css} input")
    field.fill(value)
    field.press("Tab")


def shoot(page, name: str) -> None:
    """Screenshots of the whole page at 1024 and 1400 pixels wide."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1024, 1400):
        page.set_viewport_size({"width": width, "height": 2400})
        page.wait_for_timeout(700)
        page.screenshot(path=str(SHOTS / f"{name}_{width}.png"))
    page.set_viewport_size({"width": 1400, "height": 1000})


def wait_done(page, css: str, previous: str = "") -> str:
    """Wait until ``css`` shows, no run is in progress, and its text differs from ``previous``."""
    page.wait_for_function(
        """([css, previous]) => {
            const t = document.querySelector(css);
            return t && !document.querySelector('.tuopin-progress') && t.innerText !== previous;
        }""", arg=[css, previous], timeout=RUN_TIMEOUT_MS)
    return page.locator(css).inner_text()


def test_dashboard_opens_on_the_baseline_compares_and_speaks_chinese(page) -> None:
    # the page opens on Shangluo's baseline, already run: no difference view yet
    first = wait_done(page, ".tuopin-counties table")
    assert "Shangzhou" in first and "Zhashui" in first, first
    headline = page.locator(".tuopin-headline").inner_text()
    for words in ("Declared exits", "Net reduction", "Still poor at the end", "Relapses", "P(meet)"):
        assert words in headline
    assert page.locator(".tuopin-difference").count() == 0
    assert "simulated person stands for" in page.locator(".tuopin-scale-note").inner_text()
    assert page.locator(".tuopin-tip-budget").get_attribute("title").startswith("Multiplies every year's budget")
    shoot(page, "baseline_en")

    # a 20% budget cut on the slider, then Run: baseline and variant side by side
    thumb = page.locator(".tuopin-budget [role=slider]").first
    for value in ("0.95", "0.90", "0.85", "0.80"):  # one step at a time: each must reach the server
        thumb.focus()
        thumb.press("ArrowLeft")
        page.wait_for_function("(v) => document.querySelector('.tuopin-tip-budget').innerText.includes(v)",
                               arg=value, timeout=RUN_TIMEOUT_MS)
    page.locator(".tuopin-run").click()
    page.wait_for_selector(".tuopin-progress", timeout=RUN_TIMEOUT_MS)  # the progress bar shows while running
    diff = wait_done(page, ".tuopin-difference table")
    for words in ("Baseline", "Variant", "Variant − baseline", "P(variant better)", "neither way is better"):
        assert words in diff, diff
    assert "Budget = 0.8" in page.locator(".tuopin-levers").inner_text()
    exits = page.locator(".tuopin-difference tbody tr").first.locator("td")
    assert exits.nth(0).inner_text().startswith("Declared exits")
    assert exits.nth(4).inner_text().startswith("-")  # fewer declared exits with less money
    page.wait_for_timeout(500)
    assert page.locator(".tuopin-chart img").count() == 4  # exits, still poor, relapses, difference
    assert page.locator(".tuopin-villages img").count() == 1
    assert page.locator(".tuopin-export").inner_text().count("CSV") == 1
    shoot(page, "difference_en")

    # a bad value: a message on the page, no traceback, the last results kept
    set_field(page, ".tuopin-replicates", "0")
    page.locator(".tuopin-run").click()
    error = page.locator(".tuopin-error")
    error.wait_for(timeout=RUN_TIMEOUT_MS)
    assert "Replicates" in error.inner_text()
    assert "Traceback" not in page.locator("body").inner_text()
    assert page.locator(".tuopin-difference table").inner_text() == diff

    # Chinese: every label, the message and the tables; no English left
    page.get_by_role("button", name="中文").click()
    page.wait_for_function("() => document.body.innerText.includes('主要结果')", timeout=RUN_TIMEOUT_MS)
    assert "重复次数" in page.locator(".tuopin-error").inner_text()
    assert "方案更优的概率" in page.locator(".tuopin-difference").inner_text()
    page.wait_for_function("() => document.querySelector('.tuopin-counties table').innerText.includes('落后于规划')",
                           timeout=RUN_TIMEOUT_MS)  # the widgets below the headline update after it
    left = ALLOWED_LATIN.sub("", page.locator("body").inner_text())
    assert not re.findall(r"[A-Za-z]{2,}", left), re.findall(r"[A-Za-z]{2,}", left)
    set_field(page, ".tuopin-replicates", "10")  # fixing the value clears the message
    page.wait_for_function("() => !document.querySelector('.tuopin-error')", timeout=RUN_TIMEOUT_MS)
    shoot(page, "difference_zh")

    # another scenario: its own baseline, levers back to the plan's values
    page.locator(".tuopin-scenario").click()
    page.get_by_role("option", name="township.yaml").first.click()
    wait_done(page, ".tuopin-counties table", previous=page.locator(".tuopin-counties table").inner_text())
    assert page.locator(".tuopin-difference").count() == 0
    assert "所有参数均与规划相同" in page.locator(".tuopin-levers").inner_text()
    shoot(page, "township_zh")
