"""The HTML trace explorer in a real headless browser (Debian's chromium).

Chromium is driven through the DevTools protocol over a pipe
(``--remote-debugging-pipe``: JSON messages ending in NUL on fds 3 and 4), so
the test needs nothing beyond the standard library and the browser. It checks
that the page loads with no console error, no exception and no network
request, and that pressing keys changes the step shown and its picture.

Without chromium the test skips, saying why; with CI=true it must run (.ci/run
installs chromium), so a missing browser fails there instead of passing
silently.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rmapcheck.cli import main

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _browser() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI") == "true":
        pytest.fail("CI=true but no chromium is installed: .ci/run must install it "
                    "(apt-get install -y chromium)")
    pytest.skip("chromium is not installed (apt-get install chromium); "
                "this test always runs in CI")


class DevTools:
    """A minimal DevTools-protocol client over chromium's debugging pipe."""

    def __init__(self, exe: str, profile: str) -> None:
        cmd_r, self.cmd_w = os.pipe()  # we write commands, chromium reads fd 3
        self.out_r, out_w = os.pipe()  # chromium writes fd 4, we read
        args = [exe, "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--no-first-run",
                "--disable-component-update", "--disable-sync", "--disable-extensions",
                "--disable-dev-shm-usage", f"--user-data-dir={profile}",
                "--remote-debugging-pipe", "about:blank"]

        def wire() -> None:  # in the child: the pipe ends become fds 3 and 4
            high_r = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 16)
            high_w = fcntl.fcntl(out_w, fcntl.F_DUPFD, 16)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        # close_fds=False: closing would run after wire() and close fds 3 and 4;
        # the parent's other fds are not inheritable, so exec closes them anyway
        # preexec_fn is unsafe only with threads; the test process starts none
        self.proc = subprocess.Popen(args, preexec_fn=wire, close_fds=False,  # noqa: PLW1509
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        os.close(cmd_r)
        os.close(out_w)
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None, timeout: float = 30.0) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.cmd_w, json.dumps(message).encode() + b"\0")
        wanted = self.next_id
        deadline = time.monotonic() + timeout
        while True:
            for reply in self._read(deadline):
                if reply.get("id") == wanted:
                    if "error" in reply:
                        raise RuntimeError(f"{method}: {reply['error']}")
                    return reply.get("result", {})
                self.events.append(reply)

    def wait_event(self, method: str, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event.get("method") == method:
                    self.events.remove(event)
                    return event
            self.events.extend(self._read(deadline))

    def _read(self, deadline: float) -> list[dict[str, Any]]:
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("chromium did not answer in time")
            ready, _, _ = select.select([self.out_r], [], [], left)
            if ready:
                chunk = os.read(self.out_r, 1 << 16)
                if not chunk:
                    raise RuntimeError("chromium closed the debugging pipe")
                self.buffer += chunk
        messages = []
        while b"\0" in self.buffer:
            raw, self.buffer = self.buffer.split(b"\0", 1)
            messages.append(json.loads(raw))
        return messages

    def close(self) -> None:
        # a browser that is already gone cannot be closed politely: wait or kill below
        with contextlib.suppress(Exception):
            self.send("Browser.close", timeout=5)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.cmd_w)
        os.close(self.out_r)


@pytest.fixture(scope="module")
def anonmm_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("html") / "anonmm.html"
    assert main(["verify", "anonmm.spec", "--html", str(path)]) == 12
    return path


@contextlib.contextmanager
def running_browser() -> Iterator[DevTools]:
    """Headless Chromium with a profile of its own, closed and removed after."""
    exe = _browser()
    profile = tempfile.mkdtemp(prefix="rmapcheck-chromium-")
    tools = DevTools(exe, profile)
    try:
        yield tools
    finally:
        tools.close()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture()
def browser() -> Iterator[DevTools]:
    with running_browser() as tools:
        yield tools


def _open(tools: DevTools, url: str) -> str:
    target = tools.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = tools.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
        "sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        tools.send(f"{domain}.enable", session=session)
    tools.send("Page.navigate", {"url": url}, session=session)
    tools.wait_event("Page.loadEventFired")
    return session


def _eval(tools: DevTools, session: str, expression: str) -> Any:
    result = tools.send("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                        session=session)
    return result["result"].get("value")


def _press(tools: DevTools, session: str, key: str) -> None:
    codes = {"ArrowUp": 38, "ArrowDown": 40, "ArrowLeft": 37, "ArrowRight": 39,
             "Home": 36, "End": 35, "j": 74, "k": 75}
    params = {"key": key, "code": key if len(key) > 1 else f"Key{key.upper()}",
              "windowsVirtualKeyCode": codes[key]}
    down = dict(params, type="keyDown")
    if len(key) == 1:
        down["text"] = key
    tools.send("Input.dispatchKeyEvent", down, session=session)
    tools.send("Input.dispatchKeyEvent", dict(params, type="keyUp"), session=session)


def _problems(tools: DevTools) -> list[str]:
    out = []
    for event in tools.events:
        method = event.get("method")
        params = event.get("params", {})
        if method == "Runtime.exceptionThrown":
            out.append("exception: " + json.dumps(params.get("exceptionDetails", {}))[:300])
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "warning"):
            out.append("console: " + json.dumps(params.get("args", []))[:300])
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            out.append("log: " + params["entry"].get("text", ""))
        elif method == "Network.requestWillBeSent":
            url = params.get("request", {}).get("url", "")
            if not url.startswith(("file:", "data:", "about:")):
                out.append("network request: " + url)
    return out


def _view(tools: DevTools, session: str) -> tuple[str, str, str]:
    return (_eval(tools, session, "document.body.dataset.step"),
            _eval(tools, session, "document.querySelector('.picture.shown').dataset.index"),
            _eval(tools, session, "document.querySelector('#steps > li.selected').dataset.index"))


def test_explorer_loads_without_errors_and_keys_step(browser: DevTools, anonmm_html: Path) -> None:
    session = _open(browser, anonmm_html.resolve().as_uri())
    assert _eval(browser, session, "document.title").startswith("rmapcheck: anonmm")
    # the page opens on the violation: the last of the 3 steps, its picture shown
    assert _view(browser, session) == ("3", "3", "3")
    assert _eval(browser, session, "document.querySelectorAll('.picture').length") == 4
    assert _eval(browser, session,
                 "document.querySelector('.picture.shown svg .edge-missing') !== null")
    _press(browser, session, "ArrowUp")
    assert _view(browser, session) == ("2", "2", "2")
    _press(browser, session, "k")
    assert _view(browser, session) == ("1", "1", "1")
    _press(browser, session, "j")
    assert _view(browser, session) == ("2", "2", "2")
    _press(browser, session, "Home")
    assert _view(browser, session) == ("0", "0", "0")
    _press(browser, session, "ArrowLeft")  # stays at the first step
    assert _view(browser, session) == ("0", "0", "0")
    _press(browser, session, "End")
    assert _view(browser, session) == ("3", "3", "3")
    # exactly one picture is visible, and it is laid out (not display: none)
    assert _eval(browser, session, "document.querySelectorAll('.picture.shown').length") == 1
    assert _eval(browser, session,
                 "document.querySelector('.picture.shown svg').getBoundingClientRect().width") > 100
    # clicking a step shows it too
    _eval(browser, session, "document.querySelectorAll('#steps > li')[1].click()")
    assert _view(browser, session) == ("1", "1", "1")
    assert _problems(browser) == []


def test_checked_in_explorer_loads(browser: DevTools) -> None:
    page = Path(__file__).resolve().parent.parent / "docs" / "anonmm.html"
    if not page.exists():
        pytest.skip("docs/anonmm.html is not generated yet")
    session = _open(browser, page.as_uri())
    assert _view(browser, session) == ("3", "3", "3")
    _press(browser, session, "ArrowUp")
    assert _view(browser, session) == ("2", "2", "2")
    assert _problems(browser) == []
