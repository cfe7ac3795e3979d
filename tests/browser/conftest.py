"""Browser tier: Playwright driving Debian's chromium against the app on a real HTTP server.

Fixtures:
- ``app``: the root conftest's app (fresh instance folder, migrated SQLite, base data, users) with
  CSRF switched ON — the browser must go through the same protection as a real user.
- ``live_server``: that app served by a threaded werkzeug server on 127.0.0.1 (free port); ``.url``.
- ``browser`` (session): chromium from /usr/bin/chromium (Playwright's own download is unreachable).
- ``page`` (per test): a fresh context (zh-CN locale, own cookies); a failing test leaves a
  full-page screenshot in test-artifacts/; ``artifact(name)`` gives a path there.
- ``log_in(page, username)``: through the real login form.

Without chromium the tier is skipped, except under CI (``CI`` set), where it fails: CI must run it.
"""
from __future__ import annotations

import os
import re
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # reported by the ``browser`` fixture: skip locally, fail in CI
    sync_playwright = expect = None

CHROMIUM = os.environ.get("DALABA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# Long enough for a loaded CI machine, short enough that a wrong selector fails fast.
TIMEOUT_MS = 10_000


class LiveServer:
    """A WSGI app on a loopback port in a background thread."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       name="live-server", daemon=True)

    def start(self) -> "LiveServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def app(app):
    """The root ``app`` with CSRF protection on (Flask-WTF reads the flag on every request)."""
    app.config["WTF_CSRF_ENABLED"] = True
    return app


@pytest.fixture
def live_server(app):
    server = LiveServer(app).start()
    yield server
    server.stop()


def _unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"browser tests must run in CI, but {reason}", pytrace=False)
    pytest.skip(reason)


def _chromium() -> str:
    path = CHROMIUM if os.path.isabs(CHROMIUM) else shutil.which(CHROMIUM)
    if not (path and os.access(path, os.X_OK)):
        _unavailable(f"chromium not found at {CHROMIUM}: install Debian's package "
                     "(apt-get install chromium) or set DALABA_CHROMIUM")
    if sync_playwright is None:
        _unavailable("the Python package playwright is not installed (pip install -r requirements-dev.txt)")
    return path


@pytest.fixture(scope="session")
def browser():
    executable = _chromium()
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
    except Exception:
        playwright.stop()
        raise
    yield browser
    browser.close()
    playwright.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)  # the page fixture reads it at teardown
    return report


def artifact_path(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


@pytest.fixture
def artifact():
    """``artifact("name.png")``: a path in test-artifacts/ (git-ignored; CI keeps it)."""
    return artifact_path


@pytest.fixture
def page(browser, request):
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai",
                                  viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    page = context.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    name = re.sub(r"[^\w.-]+", "_", request.node.nodeid.split("::", 1)[-1])[:120]
    shot = artifact_path(f"FAILED-{name}.png")
    if report is not None and report.failed:
        try:
            page.screenshot(path=str(shot), full_page=True)
        except Exception as exc:  # a crashed page must not hide the test's own failure
            print(f"could not save a failure screenshot: {exc}")
    else:
        shot.unlink(missing_ok=True)  # a stale picture of an old failure would mislead
    context.close()


@pytest.fixture
def log_in(live_server):
    """``log_in(page, "sec_a")`` goes through the real login form and waits for the start page."""
    def log_in(page, username: str, password: str = "password123"):
        page.goto(f"{live_server.url}/login")
        page.locator("#username").fill(username)
        page.locator("#password").fill(password)
        page.locator("form.login button[type=submit]").click()
        expect(page).not_to_have_url(re.compile(r"/login"))
        return page
    return log_in
