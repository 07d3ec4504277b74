"""Headless Chromium for the web pages' tests: Debian's own browser (installed by
`scripts/web.sh browser`), driven by Playwright (one driver per session, tests/e2e/
conftest.py), with no browser download. Screens are
kept in var/test-artifacts/screens/ for people to look at."""

import os
from pathlib import Path
from typing import Any

import segno
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Playwright,
    Response,
    Route,
)

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# No sandbox as root; no background traffic to the browser maker's servers.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENS = Path(__file__).resolve().parents[1] / "var" / "test-artifacts" / "screens"
# axe-core, the accessibility rules engine (from the npm registry, a development package
# of web/package.json): what it finds serious or critical fails a screen.
AXE = Path(__file__).resolve().parents[1] / "web" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = ("serious", "critical")


def launch(playwright: Playwright, *extra_flags: str) -> Browser:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS + list(extra_flags))


class Tab:
    """A page in a fresh browser context, with what went wrong in it: script errors,
    Content-Security-Policy violations, a page or script that failed to load, any 5xx.
    (An API's 4xx is an answer the page handles, not a fault.)"""

    def __init__(self, browser: Browser, width: int, height: int, **options: Any) -> None:
        viewport = {"width": width, "height": height}
        self.context = browser.new_context(viewport=viewport, **options)  # type: ignore[arg-type]
        self.page: Page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(str(error)))
        self.page.on("response", self._response)

    def _console(self, message: ConsoleMessage) -> None:
        # Chromium logs every 4xx and 5xx as "Failed to load resource"; _response judges them.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.problems.append(message.text)

    def _response(self, response: Response) -> None:
        api = "/api/" in response.url
        if response.status >= 500 or (response.status >= 400 and not api):
            self.problems.append(f"{response.status} {response.url}")

    def screenshot(self, name: str) -> Path:
        SCREENS.mkdir(parents=True, exist_ok=True)
        path = SCREENS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def accessibility_violations(self) -> list[str]:
        """axe-core's serious and critical violations on the page as it stands (WCAG 2.1 A
        and AA and axe's best practices), one line each: rule, impact, and the first few
        elements. Run through the DevTools protocol, so the page's CSP does not stop it."""
        if not self.page.evaluate("() => typeof window.axe === 'object'"):
            self.page.evaluate(AXE.read_text())
        found = self.page.evaluate(
            """async () => (await axe.run(document, {resultTypes: ['violations']}))
                .violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"""
        )
        return [
            f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(v['nodes'])}"
            for v in found
            if v["impact"] in BLOCKING_IMPACTS
        ]

    def close(self) -> None:
        self.context.close()


class HeldAnswers:
    """The page's requests to URLs matching `pattern`, held unanswered until `release()`:
    a screen still loading when the user moves on to another."""

    def __init__(self, page: Page, pattern: str) -> None:
        self._page, self._pattern = page, pattern
        self._routes: list[Route] = []
        page.route(pattern, self._hold)

    def _hold(self, route: Route) -> None:
        self._routes.append(route)

    def wait(self, seconds: float = 5.0) -> None:
        """Until the page has asked at least once."""
        for _ in range(int(seconds * 10)):
            if self._routes:
                return
            self._page.wait_for_timeout(100)
        raise AssertionError(f"the page never asked for {self._pattern}")

    def release(self) -> None:
        """Answers what was held, as the server would have; later requests go through."""
        for route in self._routes:
            route.continue_()
        self._page.unroute(self._pattern)


def camera_filming(text: str, folder: Path) -> tuple[str, ...]:
    """Chromium flags for a fake camera that films a QR code of `text`: a Y4M video (the
    format Chromium's fake capture device reads), written to `folder`."""
    modules = segno.make(text, error="m").matrix
    scale, quiet = 8, 4
    side = (len(modules) + 2 * quiet) * scale
    width, height = 640, 480
    left, top = (width - side) // 2, (height - side) // 2
    luma = bytearray([235]) * (width * height)  # white paper
    for row, line in enumerate(modules):
        for column, dark in enumerate(line):
            if dark:
                x0, y0 = left + (column + quiet) * scale, top + (row + quiet) * scale
                for y in range(y0, y0 + scale):
                    luma[y * width + x0 : y * width + x0 + scale] = bytes([16]) * scale
    chroma = bytes([128]) * (width * height // 4)
    frame = b"FRAME\n" + bytes(luma) + chroma + chroma
    video = folder / "qr.y4m"
    header = f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode()
    video.write_bytes(header + frame * 10)
    return (
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    )
