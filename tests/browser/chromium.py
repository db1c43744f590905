"""Headless Chromium for browser tests, driven over the Chrome DevTools Protocol (CDP).

    async with chromium(fake_audio=Path("speech.wav")) as browser:
        page = await browser.open("http://127.0.0.1:8080/")
        await page.evaluate("phone.call()")
        await page.wait_for("phone.state === 'listening'", timeout_s=10)
        assert not page.errors, page.console_text()

The browser runs Debian's `/usr/bin/chromium` (or `$CHROMIUM`) in its own process group with a
fresh profile, a fake microphone that plays `fake_audio` (a 16-bit PCM WAV, looped unless
`loop_audio=False`) and auto-accepted media permissions. CDP is spoken over one WebSocket
(aiohttp) to the browser, with one flattened session per page. Every page collects its console
messages, uncaught exceptions, browser log errors (failed loads) and renderer crashes.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import contextlib
import itertools
import json
import os
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

DEFAULT_EXECUTABLE = "/usr/bin/chromium"

# Chromium on a headless CI box: no GPU, no sandbox (root in a container), no first-run UI,
# no background traffic, a fake microphone whose permission prompt is accepted, audio that may
# start without a click. `--mute-audio` silences the output device without stopping Web Audio
# rendering (AudioWorklets keep running and AudioContext.currentTime keeps advancing).
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--mute-audio",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--remote-debugging-port=0",
)

ERROR_KINDS = frozenset({"error", "assert", "exception", "crash"})

# Process groups of browsers still running: killed at interpreter exit if a test run is torn
# down before `chromium()` could clean up (an event loop closed mid-test, a KeyboardInterrupt).
_running: set[int] = set()


@atexit.register
def _kill_leftovers() -> None:
    for group in list(_running):
        _kill_group(group)


def _kill_group(group: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)
    _running.discard(group)


class ChromiumError(Exception):
    """The browser could not be started or stopped answering."""


class JavaScriptError(ChromiumError):
    """An evaluated expression threw (or returned a rejected promise)."""


class WaitTimeout(AssertionError):
    """A `Page.wait_for` predicate stayed falsy until its timeout."""


@dataclass(frozen=True)
class ConsoleEntry:
    """One thing the page said: `kind` is the console call (log, warning, error...),
    "exception" for an uncaught one, "log.<level>" for a browser log entry, or "crash"."""

    kind: str
    text: str

    def __str__(self) -> str:
        return f"[{self.kind}] {self.text}"


def find_executable(executable: str | os.PathLike[str] | None = None) -> str | None:
    """The Chromium binary to run: `executable`, `$CHROMIUM`, /usr/bin/chromium, or one on
    PATH; None when there is none (`make test` installs Debian's chromium)."""
    for candidate in (executable, os.environ.get("CHROMIUM"), DEFAULT_EXECUTABLE):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class _Connection:
    """Request/response matching and event dispatch over the browser's DevTools socket."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse[bool]) -> None:
        self._socket = socket
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._listeners: dict[str, Callable[[str, dict[str, Any]], None]] = {}
        self._closed: Exception | None = None
        self._reader = asyncio.create_task(self._read(), name="cdp-reader")

    def listen(self, session_id: str, listener: Callable[[str, dict[str, Any]], None]) -> None:
        """Send every event of `session_id` to `listener(method, params)`."""
        self._listeners[session_id] = listener

    async def send(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        session_id: str | None = None,
        timeout_s: float = 30.0,
    ) -> dict[str, Any]:
        if self._closed is not None:
            raise ChromiumError(f"{method}: the DevTools connection is closed") from self._closed
        ident = next(self._ids)
        message: dict[str, Any] = {"id": ident, "method": method, "params": dict(params or {})}
        if session_id is not None:
            message["sessionId"] = session_id
        reply: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[ident] = reply
        try:
            await self._socket.send_str(json.dumps(message))
            async with asyncio.timeout(timeout_s):
                return await reply
        except TimeoutError:
            raise ChromiumError(f"{method}: no answer within {timeout_s} s") from None
        finally:
            self._pending.pop(ident, None)

    async def close(self) -> None:
        await self._socket.close()
        await self._reader

    async def _read(self) -> None:
        try:
            async for frame in self._socket:
                if frame.type is aiohttp.WSMsgType.TEXT:
                    self._dispatch(json.loads(frame.data))
            self._closed = ChromiumError("the browser closed the DevTools connection")
        except Exception as error:
            self._closed = error
        for reply in self._pending.values():
            if not reply.done():
                reply.set_exception(ChromiumError("the DevTools connection closed"))

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "id" in message:
            reply = self._pending.get(message["id"])
            if reply is None or reply.done():
                return
            if "error" in message:
                error = message["error"]
                reply.set_exception(
                    ChromiumError(f"{error.get('message')} {error.get('data', '')}")
                )
            else:
                reply.set_result(message.get("result", {}))
        elif (listener := self._listeners.get(message.get("sessionId", ""))) is not None:
            listener(message["method"], message.get("params", {}))


class Page:
    """One tab. `evaluate` and `wait_for` run JavaScript in it; `console` is what it said."""

    def __init__(self, connection: _Connection, session_id: str, target_id: str) -> None:
        self._connection = connection
        self._session_id = session_id
        self.target_id = target_id
        self.console: list[ConsoleEntry] = []
        self._waiters: list[tuple[str, asyncio.Future[dict[str, Any]]]] = []
        connection.listen(session_id, self._on_event)

    @property
    def errors(self) -> list[ConsoleEntry]:
        """Console errors and failed assertions, uncaught exceptions, browser log errors
        (such as a script that failed to load) and renderer crashes."""
        return [
            entry
            for entry in self.console
            if entry.kind in ERROR_KINDS or entry.kind == "log.error"
        ]

    def console_text(self, last: int = 40) -> str:
        """The last `last` console entries, one a line, to show when a test fails."""
        lines = [str(entry) for entry in self.console[-last:]]
        return "\n".join(lines) if lines else "(the page's console is empty)"

    async def send(self, method: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """A raw CDP command in this page's session."""
        return await self._connection.send(method, params, session_id=self._session_id)

    async def goto(self, url: str, *, timeout_s: float = 30.0) -> None:
        """Navigate and wait for the load event (scripts, modules and styles are in)."""
        loaded = self._expect("Page.loadEventFired")
        reply = await self.send("Page.navigate", {"url": url})
        if reply.get("errorText"):
            raise ChromiumError(f"navigating to {url}: {reply['errorText']}")
        try:
            async with asyncio.timeout(timeout_s):
                await loaded
        except TimeoutError:
            raise ChromiumError(f"{url} did not load within {timeout_s} s") from None

    async def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression (awaited if it is a promise; undefined
        is None). It runs as if from a user gesture, so it may start audio or go fullscreen."""
        reply = await self.send(
            "Runtime.evaluate",
            {
                "expression": expression,
                "returnByValue": True,
                "awaitPromise": True,
                "userGesture": True,
            },
        )
        if "exceptionDetails" in reply:
            raise JavaScriptError(f"{expression}: {_describe_exception(reply['exceptionDetails'])}")
        return reply.get("result", {}).get("value")

    async def wait_for(
        self, predicate: str, *, timeout_s: float = 10.0, interval_s: float = 0.05
    ) -> Any:
        """Poll a JavaScript expression until it is truthy, and return its value. On timeout
        raise `WaitTimeout` (an AssertionError) with its last value and the console."""
        last: Any = None
        try:
            async with asyncio.timeout(timeout_s):
                while True:  # the page's state has no event to wait on: poll it
                    last = await self.evaluate(predicate)
                    if last:
                        return last
                    await asyncio.sleep(interval_s)
        except TimeoutError:
            raise WaitTimeout(
                f"{predicate} was still {last!r} after {timeout_s} s; console:\n"
                + self.console_text()
            ) from None

    async def screenshot(self) -> bytes:
        """A PNG of the viewport, to look at what a failing test saw."""
        reply = await self.send("Page.captureScreenshot", {"format": "png"})
        return base64.b64decode(reply["data"])

    async def close(self) -> None:
        await self._connection.send("Target.closeTarget", {"targetId": self.target_id})

    def _expect(self, method: str) -> asyncio.Future[dict[str, Any]]:
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiters.append((method, future))
        return future

    def _on_event(self, method: str, params: dict[str, Any]) -> None:
        entry = _console_entry(method, params)
        if entry is not None:
            self.console.append(entry)
        for waiter in [w for w in self._waiters if w[0] == method]:
            self._waiters.remove(waiter)
            if not waiter[1].done():
                waiter[1].set_result(params)


class Browser:
    """A running Chromium; `open` gives a new tab on a URL."""

    def __init__(self, connection: _Connection, profile: Path) -> None:
        self._connection = connection
        self.profile = profile

    async def open(self, url: str, *, timeout_s: float = 30.0) -> Page:
        target = await self._connection.send("Target.createTarget", {"url": "about:blank"})
        attached = await self._connection.send(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
        )
        page = Page(self._connection, attached["sessionId"], target["targetId"])
        for domain in ("Runtime", "Page", "Log", "Inspector"):
            await page.send(f"{domain}.enable")
        await page.goto(url, timeout_s=timeout_s)
        return page

    async def version(self) -> str:
        return str((await self._connection.send("Browser.getVersion"))["product"])


@contextlib.asynccontextmanager
async def chromium(
    *,
    fake_audio: Path | None = None,
    loop_audio: bool = True,
    executable: str | os.PathLike[str] | None = None,
    extra_args: Sequence[str] = (),
    start_timeout_s: float = 30.0,
) -> AsyncIterator[Browser]:
    """Start headless Chromium, yield a `Browser`, and at exit close it and kill its whole
    process group (renderers, zygotes, utility processes), then delete its profile."""
    binary = find_executable(executable)
    if binary is None:
        raise ChromiumError("no Chromium found: install Debian's chromium or set $CHROMIUM")
    with tempfile.TemporaryDirectory(prefix="chromium-", ignore_cleanup_errors=True) as tmp:
        profile = Path(tmp) / "profile"
        log_path = Path(tmp) / "chromium.log"
        args = command_line(profile, fake_audio, loop_audio=loop_audio, extra_args=extra_args)
        with log_path.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                binary,
                *args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        _running.add(process.pid)
        try:
            url = await _devtools_url(process, profile, log_path, start_timeout_s)
            async with (
                aiohttp.ClientSession() as http,
                http.ws_connect(url, max_msg_size=0) as socket,
            ):
                connection = _Connection(socket)
                try:
                    yield Browser(connection, profile)
                finally:
                    with contextlib.suppress(ChromiumError):
                        await connection.send("Browser.close", timeout_s=5.0)
                    await connection.close()
        finally:
            await _stop(process)


def command_line(
    profile: Path,
    fake_audio: Path | None,
    *,
    loop_audio: bool = True,
    extra_args: Sequence[str] = (),
) -> list[str]:
    """Chromium's arguments after the binary. The fake microphone reads a 16-bit PCM WAV
    (any rate: Chromium resamples it) and loops it, unless the path ends in `%noloop`."""
    args = [*FLAGS, f"--user-data-dir={profile}", *extra_args]
    if fake_audio is not None:
        suffix = "" if loop_audio else "%noloop"
        args.append(f"--use-file-for-fake-audio-capture={fake_audio.absolute()}{suffix}")
    return [*args, "about:blank"]


async def _devtools_url(
    process: asyncio.subprocess.Process, profile: Path, log: Path, timeout_s: float
) -> str:
    """The browser's DevTools WebSocket URL, from the DevToolsActivePort file that Chromium
    writes into its profile once it listens ("<port>\\n<path>")."""
    port_file = profile / "DevToolsActivePort"
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                if process.returncode is not None:
                    raise ChromiumError(f"Chromium exited with {process.returncode}:\n{_tail(log)}")
                with contextlib.suppress(FileNotFoundError):
                    lines = port_file.read_text().split()
                    if len(lines) == 2:
                        return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise ChromiumError(
            f"Chromium did not listen within {timeout_s} s:\n{_tail(log)}"
        ) from None


async def _stop(process: asyncio.subprocess.Process) -> None:
    """Give the browser a few seconds to exit after Browser.close, then SIGKILL its group
    (always: a renderer or zygote can outlive the main process)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(5.0):
            await process.wait()
    _kill_group(process.pid)
    await process.wait()


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError as error:
        return f"(no log: {error})"


def _console_entry(method: str, params: dict[str, Any]) -> ConsoleEntry | None:
    if method == "Runtime.consoleAPICalled":
        text = " ".join(_describe_value(arg) for arg in params.get("args", []))
        return ConsoleEntry(params.get("type", "log"), text)
    if method == "Runtime.exceptionThrown":
        return ConsoleEntry("exception", _describe_exception(params["exceptionDetails"]))
    if method == "Log.entryAdded":
        entry = params["entry"]
        where = f" ({entry['url']})" if entry.get("url") else ""
        return ConsoleEntry(f"log.{entry.get('level', 'info')}", f"{entry.get('text')}{where}")
    if method == "Inspector.targetCrashed":
        return ConsoleEntry("crash", "the renderer crashed")
    return None


def _describe_value(remote: Mapping[str, Any]) -> str:
    if "value" in remote:
        value = remote["value"]
        return value if isinstance(value, str) else json.dumps(value)
    return str(remote.get("description") or remote.get("unserializableValue") or remote["type"])


def _describe_exception(details: Mapping[str, Any]) -> str:
    exception = details.get("exception") or {}
    text = exception.get("description") or details.get("text", "exception")
    where = details.get("url")
    if where:
        text += f" ({where}:{details.get('lineNumber', 0) + 1})"
    return str(text)
