"""``streamlit run app.py`` on a free port, in its own process group, and what goes over its
websocket (:class:`Wire`): for browser tests and bench/."""
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class AppServer:
    """Start the app against ``db``, wait until /_stcore/health answers, stop it on exit.

    Raises RuntimeError (with the end of the server log) if it dies or is not healthy in time.
    """

    def __init__(self, db: Path, log: Path, timeout: float = 60):
        self.db, self.log, self.timeout = db, log, timeout
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def __enter__(self) -> "AppServer":
        port = free_port()
        env = dict(os.environ, ATLAS_DB=str(self.db), PYTHONUNBUFFERED="1")
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", "app.py",
                 "--server.port", str(port), "--server.headless", "true"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group, so stopping ends all of it
            )
        self.url = f"http://localhost:{port}"
        no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + self.timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.proc.returncode}:\n{tail(self.log)}")
            try:
                with no_proxy.open(f"{self.url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError(f"streamlit not healthy after {self.timeout} s:\n{tail(self.log)}")
            time.sleep(0.1)

    def __exit__(self, *exc) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                proc.wait(timeout=grace)
                return
            except subprocess.TimeoutExpired:
                continue


class Wire:
    """What went over a Playwright page's Streamlit websocket: the browser's rerun requests
    (``BackMsg.rerun_script``) and the server's finished runs (``ForwardMsg.script_finished``),
    decoded with Streamlit's own protobuf classes (see tests/test_browser_views.py)."""

    def __init__(self, page) -> None:
        self.reruns = 0      # BackMsg.rerun_script sent by the browser
        self.finished = 0    # ForwardMsg.script_finished sent by the server
        page.on("websocket", self._attach)

    def _attach(self, ws) -> None:
        if not ws.url.endswith("/_stcore/stream"):
            return
        ws.on("framesent", self._sent)
        ws.on("framereceived", self._received)

    def _sent(self, payload) -> None:
        if isinstance(payload, bytes):
            msg = BackMsg.FromString(payload)
            if msg.WhichOneof("type") == "rerun_script":
                self.reruns += 1

    def _received(self, payload) -> None:
        if isinstance(payload, bytes):
            msg = ForwardMsg.FromString(payload)
            if msg.WhichOneof("type") == "script_finished":
                self.finished += 1

    def counts(self) -> tuple[int, int]:
        return self.reruns, self.finished
