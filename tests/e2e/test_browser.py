"""The dashboard in a real browser: Debian's Chromium, headless, driven by Playwright, against the
running dashboard on the test stack. Walks the restore wizard end to end, checks the restored
files on disk, and saves a screenshot of every page under test-artifacts/dashboard/."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from syncoxide.dev import stack as devstack
from tests.conftest import free_port

pytestmark = pytest.mark.e2e
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP evil.example 127.0.0.1",
]  # evil.example: a DNS rebinding
PAGES = ["", "policies", "snapshots", "restore", "search", "analytics", "cleanup", "sync", "audit"]


@pytest.fixture(scope="module")
def dashboard(stack) -> str:
    port = free_port()
    settings = stack.settings.model_copy(update={"dashboard_port": port})
    log = ARTIFACTS / "streamlit.log"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        argv = devstack.dashboard_argv(settings)
        server = subprocess.Popen(argv, env=stack.env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).close()
            break
        except OSError:
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.3)
    yield url
    server.terminate()
    server.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: run `make setup`")
    with playwright.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def choose(page, label: str, option: str) -> None:
    page.get_by_test_id("stSelectbox").filter(has_text=label).first.click()
    page.get_by_role("option", name=re.compile(re.escape(option))).first.click()


def type_into(page, label: str, text: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(text)
    box.press("Enter")


def test_every_page_renders_without_errors(browser, dashboard, backed_up):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    for path in PAGES:
        page.goto(f"{dashboard}/{path}")
        page.get_by_test_id("stApp").wait_for()
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(1500)
        page.screenshot(path=str(ARTIFACTS / f"{path or 'overview'}.png"), full_page=True)
        errors = page.get_by_test_id("stException")
        assert errors.count() == 0, f"{path or 'overview'}: {errors.first.inner_text()[:2000]}"
    page.close()


def test_restore_wizard_in_chromium(browser, dashboard, backed_up, workdir):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(30_000)
    page.goto(f"{dashboard}/restore")
    page.get_by_text("1. Repository").wait_for()
    choose(page, "repository", backed_up["repository"].name)
    page.get_by_text("2. Snapshot").wait_for()
    choose(page, "snapshot", backed_up["snapshots"][1])
    page.get_by_text("3. Files and folders").wait_for()
    photos = str(backed_up["root"] / "photos")
    type_into(page, "or add a path", photos)
    page.get_by_role("button", name="add path").click()
    page.get_by_text(f"chosen: {photos}").wait_for()
    target = workdir / "from-the-browser"
    type_into(page, "folder", str(target))
    page.get_by_test_id("stMetric").filter(has_text="files").wait_for()
    page.screenshot(path=str(ARTIFACTS / "restore-confirm.png"), full_page=True)
    page.get_by_role("button", name="restore", exact=True).click()
    page.get_by_text("verified against the snapshot").wait_for(timeout=120_000)
    page.screenshot(path=str(ARTIFACTS / "restore-done.png"), full_page=True)
    restored = target / photos.lstrip("/")
    assert (restored / "beach.jpg").read_bytes() == (backed_up["root"] / "photos" / "beach.jpg").read_bytes()
    assert sorted(p.name for p in restored.iterdir()) == ["beach-again.jpg", "beach.jpg"]
    page.close()


def test_a_page_reached_under_a_rebound_name_shows_nothing(browser, dashboard, backed_up):
    """evil.example resolves to 127.0.0.1 in this browser: the page must stop before it shows anything."""
    port = dashboard.rsplit(":", 1)[1]
    page = browser.new_page()
    for url in (f"http://evil.example:{port}/", f"http://evil.example:{port}/snapshots"):
        page.goto(url)
        page.get_by_test_id("stApp").wait_for()
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(1500)
        shown = page.inner_text("body")
        assert f"does not answer to the name 'evil.example:{port}'" in shown, shown
        assert backed_up["repository"].name not in shown and "Policies" not in shown
    page.screenshot(path=str(ARTIFACTS / "rebinding-refused.png"), full_page=True)
    own = browser.new_page()
    own.goto(f"{dashboard}/snapshots")
    own.get_by_test_id("stApp").wait_for()
    own.wait_for_load_state("networkidle")
    own.wait_for_timeout(1500)
    assert "does not answer" not in own.inner_text("body") and "Policies" in own.inner_text("body")
