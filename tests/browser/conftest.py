"""A real headless Chromium (Debian's package, driven by Playwright) for the viewer's and the API docs' tests.

No browser is downloaded: Playwright drives /usr/bin/chromium (scripts/test.sh installs it), with the
flags that keep Chromium itself from reaching for the network. Every page a test opens records the
requests it makes (anything but the page itself is refused and counted), page errors, console
errors and dialogs, so each test can assert the page stayed offline, quiet and script-safe.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from catalog.loader import load_catalog
from catalog.store import Store

CHROMIUM = os.environ.get("HEADWATER_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-default-apps"]
VIEWER_DRAWN = "() => window.headwater && window.headwater.drawnAt !== null"
ARTIFACTS = Path(os.environ.get("HEADWATER_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).is_file(), f"{CHROMIUM} not found: scripts/test.sh installs Debian's chromium"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield launched
        launched.close()


@dataclass
class Opened:
    page: Any
    url: str
    requests: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def wait_for(self, expression: str, arg: Any = None, timeout: float = 30) -> Any:
        """Poll an expression from outside the page: Playwright's in-page polling needs eval, which the
        page's Content-Security-Policy (rightly) forbids."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.page.evaluate(expression, arg)
            if value:
                return value
            assert time.monotonic() < deadline, f"timed out waiting for {expression}"
            time.sleep(0.05)

    def data(self) -> dict[str, Any]:
        """The page's own model, parsed as the page parses it."""
        return self.page.evaluate("JSON.parse(document.getElementById('hw-data').textContent)")

    def node_index(self, key: str) -> int:
        return [d["key"] for d in self.data()["details"]].index(key)

    def screen_position(self, index: int) -> tuple[float, float]:
        return tuple(self.page.evaluate(
            """(i) => { const p = network.getPositions([i])[i]; const d = network.canvasToDOM(p);
                        const r = document.getElementById('mynetwork').getBoundingClientRect();
                        return [r.left + d.x, r.top + d.y]; }""", index))

    def click_node(self, key: str) -> None:
        self.page.mouse.click(*self.screen_position(self.node_index(key)))

    def hover_node(self, key: str) -> str:
        """Hover the node as a user would and return the tooltip's text."""
        self.page.mouse.move(5, 5)
        self.page.wait_for_selector("#hw-tooltip", state="hidden")
        x, y = self.screen_position(self.node_index(key))
        self.page.mouse.move(x, y, steps=4)
        self.page.wait_for_selector("#hw-tooltip", state="visible", timeout=5000)
        return self.page.inner_text("#hw-tooltip")

    def assert_clean(self) -> None:
        assert self.refused == [], f"the page tried to reach {self.refused}"
        assert self.errors == [], self.errors
        assert self.dialogs == [], f"script ran: dialogs {self.dialogs}"


@pytest.fixture
def open_page(browser) -> Iterator[Any]:
    contexts = []

    def open_(url: str, *, width: int = 1400, height: int = 900, timeout: float = 60,
              ready: str = VIEWER_DRAWN, allow_prefix: str | None = None) -> Opened:
        """Open `url` with every other request refused and counted, then wait until `ready` holds.
        `allow_prefix` lets a served page fetch its own assets (the loopback server, nothing else)."""
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        opened = Opened(page=page, url=url)

        def route(request_route: Any) -> None:
            target = request_route.request.url
            if target.split("#")[0] == url.split("#")[0] or (allow_prefix and target.startswith(allow_prefix)):
                request_route.continue_()
            else:
                opened.refused.append(target)
                request_route.abort()

        context.route("**/*", route)
        page.on("request", lambda request: opened.requests.append(request.url))
        page.on("pageerror", lambda error: opened.errors.append(f"page error: {error}"))
        page.on("console", lambda message: opened.errors.append(f"console {message.type}: {message.text}")
                if message.type in ("error", "warning") else None)

        def dialog(d: Any) -> None:
            opened.dialogs.append(f"{d.type}: {d.message}")
            d.dismiss()

        page.on("dialog", dialog)
        page.goto(url)
        opened.wait_for(ready, timeout=timeout)
        return opened

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The bundled example, loaded and checked for real, as `headwater demo` leaves it."""
    from checks.service import run_checks

    examples = Path(__file__).resolve().parents[2] / "examples"
    folder = tmp_path_factory.mktemp("demo")
    store = Store(f"sqlite:///{folder / 'headwater.db'}")
    load_catalog(store, [examples / "catalog.yaml"])
    run_checks(store)
    yield store
    store.close()
