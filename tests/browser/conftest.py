"""Browser tests: Playwright driving Debian's Chromium against the live server.

Every request to another host is blocked and counted as a failure, and so is every console error,
page error or Content-Security-Policy violation on our pages. Screenshots go to
``test-artifacts/screenshots/``.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.core.servers.basehttp import WSGIServer
from django.test.testcases import LiveServerThread

# Playwright's sync API runs an event loop in this thread; Django's ORM (used by the tests to
# set up and check data) refuses to run beside one unless told it is safe, which it is here:
# the loop only drives the browser.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# With SQLite in memory, every request thread of the live server shares the test's one
# connection, so two requests at once (the builder validates while it loads a preview) would mix
# their transactions on it. One request at a time there; PostgreSQL keeps the threaded server.
class OneRequestAtATime(WSGIServer):
    def __init__(self, *args, connections_override=None, **kwargs):
        # Requests are served in the live server's own thread, which already uses the override.
        super().__init__(*args, **kwargs)


if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    LiveServerThread.server_class = OneRequestAtATime

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
VIEWPORT = {"width": 1366, "height": 900}


def _chromium_available() -> bool:
    return Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is not None


@pytest.fixture(scope="session")
def browser() -> Iterator:
    if not _chromium_available():
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"REQUIRE_BROWSER is set but {CHROMIUM} does not exist")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            # Without these, Chromium calls home at start-up, which this network refuses.
            args=["--disable-background-networking", "--disable-component-update", "--no-first-run",
                  "--disable-sync", "--disable-default-apps"],
        )
        yield browser
        browser.close()


class Watcher:
    """What went wrong in the browser: requests to other hosts, console errors, page errors."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.problems: list[str] = []

    def route(self, route) -> None:
        url = urlparse(route.request.url)
        if url.scheme in ("data", "blob") or url.netloc == self.host:
            route.continue_()
        else:
            self.problems.append(f"request to another host: {route.request.url}")
            route.abort()

    def console(self, message) -> None:
        # A 4xx from our API is an answer the page expects and shows (a refused definition, a
        # bad cron expression); the browser still logs it. Server errors are caught by response().
        if message.type == "error" and "the server responded with a status of 4" not in message.text:
            self.problems.append(f"console error: {message.text}")

    def response(self, response) -> None:
        if response.status >= 500:
            self.problems.append(f"{response.status} from {response.url}")

    def page_error(self, error) -> None:
        self.problems.append(f"page error: {error}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


def _watched_page(request, browser, live_server, name: str) -> Iterator:
    """A page in a browser context of its own (its own cookies: another tab, another user), watched."""
    context = browser.new_context(viewport=VIEWPORT, base_url=live_server.url)
    watcher = Watcher(urlparse(live_server.url).netloc)
    context.route("**/*", watcher.route)
    page = context.new_page()
    page.on("console", watcher.console)
    page.on("pageerror", watcher.page_error)
    page.on("response", watcher.response)
    page.set_default_timeout(10_000)
    page.watcher = watcher
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        screenshot(page, f"failed-{request.node.name}{name}")
    context.close()
    assert not watcher.problems, "\n".join(watcher.problems)


@pytest.fixture
def page(request, browser, live_server) -> Iterator:
    yield from _watched_page(request, browser, live_server, "")


@pytest.fixture
def other_page(request, browser, live_server) -> Iterator:
    """A second tab, in a browser context of its own: two people (or two tabs) on one automation."""
    yield from _watched_page(request, browser, live_server, "-other")


def login(page, username: str, password: str = "pw") -> None:
    page.goto("/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")


def activate_version(page, number: int) -> str:
    """Press Activate, confirm version ``number`` in its dialog and wait for the notice; returns
    what the dialog said (how many live executions stay on the old version)."""
    page.get_by_role("button", name="Activate").click()
    dialog = page.get_by_role("dialog", name=f"Activate version {number}?")
    said = dialog.inner_text()
    dialog.get_by_role("button", name=f"Activate version {number}").click()
    page.get_by_text(f"Version {number} is active.").first.wait_for()
    return said


def screenshot(page, name: str, *, height: int | None = None) -> Path:
    """The whole page, or its top ``height`` pixels (a picture for the documentation)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    if height:
        page.screenshot(path=str(path), clip={"x": 0, "y": 0, "width": VIEWPORT["width"], "height": height})
    else:
        page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def operator(transactional_db, django_user_model):
    return django_user_model.objects.create_superuser("ops", "ops@example.com", "pw")


AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def accessibility_problems(page) -> list[str]:
    """The WCAG 2.1 A and AA violations axe-core finds on the page as it is now, one line each.

    ``add_script_tag(path=...)`` would inline the file, which the pages' Content-Security-Policy
    (``script-src 'self'``) rightly blocks; so the vendored file is served at a URL of the page's own
    host by a route of this page only, and the policy stays in force."""
    url = page.url.split("/admin/")[0] + "/__tests__/axe.min.js"
    page.route(url, lambda route: route.fulfill(path=str(AXE), content_type="text/javascript"))
    page.add_script_tag(url=url)
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_21_AA)
    if os.environ.get("AXE_DETAIL"):
        import json
        Path(os.environ["AXE_DETAIL"]).write_text(json.dumps(result["violations"], indent=1))
    return [f"{violation['id']} ({violation['impact']}): {violation['help']}: {len(violation['nodes'])} element(s): "
            + "; ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
            for violation in result["violations"]]
