"""Several app servers behind nginx, all on one DuckLake (issue 17): the repository's own
deploy/nginx/atlas.conf, its EDIT lines filled in, in front of two ``streamlit run app.py`` on one
lake, driven by headless Chromium through nginx.

What is checked:

- the overview page renders through the proxy with its map painted (so the websocket crosses it);
- two browsers (contexts, each with its own cookies) are placed on the two app servers: each
  server holds one's websocket;
- every request of one browser, its first one (no cookie yet) included, went to one app server:
  the document, the frontend's static files, the health check and the websocket. Read from the
  access log the config itself defines (``atlas_upstream``: the upstream and the stickiness key of
  each request);
- a websocket addressed to the site by a name and a port (atlas.example.org:PORT) is accepted:
  the config passes the browser's Host on, port included;
- when an app server stops, its browsers' requests go on to the other one.

Placement is by a hash of a random cookie, so a second browser lands on the first one's server
half the time: the test gives the second context its cookie by a cheap first request
(``context.request``, which shares the context's cookies) and, while that lands on the first
server, starts a new context, as a second clerk would be a new browser.

nginx runs as this user, from a temporary prefix (``nginx -p``), with ``daemon off``; as root its
workers run as root too (not Debian's www-data or nobody, who cannot read pytest's folders).
"""
from __future__ import annotations

import base64
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.appserver import ROOT, AppServer, free_port, tail
from tests.support import browser_api, require_tool

sync_api = browser_api()  # skips the module without a browser; fails instead in CI

CONF = ROOT / "deploy" / "nginx" / "atlas.conf"
NGINX = Path("/usr/sbin/nginx")  # Debian's package; /usr/sbin is not on every user's PATH
MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
TIMEOUT_MS = 120_000  # a fresh server's first page reads the lake cold: slow on a busy machine
COOKIE = "atlas_node"
# One line of the config's log_format atlas_upstream
LINE = re.compile(r'"(?P<method>\S+) (?P<path>\S+) [^"]*" (?P<status>\d{3}) \d+ '
                  r'upstream=(?P<upstream>\S+(?:, \S+)*) node=(?P<node>\S+) cookie=(?P<cookie>\S+) ')


def nginx_binary() -> str:
    if NGINX.exists():
        return str(NGINX)
    return require_tool("nginx", "nginx")  # a skip, or a failure where browsers are required


def render(folder: Path, port: int, upstreams: list[str]) -> Path:
    """deploy/nginx/atlas.conf with its EDIT lines filled in (listen, the upstream's servers, the
    access log) in ``folder``, inside a top-level nginx.conf of the folder's own; returns that."""
    text = CONF.read_text(encoding="utf-8")

    def once(pattern: str, new, count: int = 1) -> None:  # new: a replacement, or a function of the match
        nonlocal text
        text, n = re.subn(pattern, new, text, flags=re.M)
        assert n == count, f"{CONF.name}: expected {count} line(s) matching {pattern!r}, found {n}"

    once(r"^(\s*)listen 80;", rf"\g<1>listen 127.0.0.1:{port};")
    once(r"^(\s*access_log )/var/log/nginx/atlas\.access\.log( atlas_upstream;)", rf"\g<1>{folder}/access.log\g<2>")
    servers = iter(upstreams)
    once(r"^(\s*server )127\.0\.0\.1:\d+( .*;)", lambda m: f"{m[1]}{next(servers)}{m[2]}", count=len(upstreams))
    (folder / "atlas.conf").write_text(text, encoding="utf-8")
    temp = "\n".join(f"    {kind}_temp_path {folder}/{kind}_temp;" for kind in ("client_body", "proxy", "fastcgi",
                                                                              "uwsgi", "scgi"))
    wrapper = folder / "nginx.conf"
    wrapper.write_text(f"""{'user root;' if os.geteuid() == 0 else ''}
daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log info;
events {{
    worker_connections 256;
}}
http {{
{temp}
    include {folder}/atlas.conf;
}}
""", encoding="utf-8")
    return wrapper


class Nginx:
    """``nginx -c <wrapper>`` in the foreground, until the block ends."""

    def __init__(self, folder: Path, port: int, upstreams: list[str]):
        self.folder, self.port = folder, port
        self.conf = render(folder, port, upstreams)
        self.log = folder / "access.log"
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None

    def command(self, *extra: str) -> list[str]:
        return [nginx_binary(), "-p", f"{self.folder}/", "-e", str(self.folder / "error.log"),
                "-c", str(self.conf), *extra]

    def __enter__(self) -> "Nginx":
        checked = subprocess.run(self.command("-t"), capture_output=True, text=True)
        assert checked.returncode == 0, f"nginx -t refused the rendered {CONF.name}:\n{checked.stderr}"
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 10
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.proc.returncode}:\n{tail(self.folder / 'error.log')}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                if time.monotonic() > deadline:
                    self.__exit__(None, None, None)
                    raise RuntimeError(f"nginx not listening after 10 s:\n{tail(self.folder / 'error.log')}")
                time.sleep(0.05)

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # fast shutdown: open websockets are cut
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def lines(self) -> list[dict]:
        found = []
        for raw in self.log.read_text(encoding="utf-8").splitlines():
            match = LINE.search(raw)
            assert match, f"an access log line not in the atlas_upstream format: {raw}"
            found.append(match.groupdict())
        return found

    def upstream_of(self, node: str) -> set[str]:
        return {line["upstream"] for line in self.lines() if line["node"] == node}


def at_once(servers: list[AppServer], method) -> None:
    """Start or stop every server at the same time: each takes seconds."""
    with ThreadPoolExecutor(len(servers)) as pool:
        list(pool.map(method, servers))


@pytest.fixture
def deployment(make_lake, demo_db, tmp_path):
    """Two app servers on one new lake (a copy of the demo city), nginx in front of them."""
    nginx_binary()  # skip (or fail) before anything is started
    target = make_lake(demo_db)  # sets ATLAS_DATA_PATH, which the servers inherit
    with ExitStack() as stack:
        servers = [AppServer(target, tmp_path / f"app-{n}.log") for n in (1, 2)]
        stack.callback(at_once, servers, lambda server: server.__exit__(None, None, None))  # those that started
        at_once(servers, AppServer.__enter__)
        upstreams = [server.url.replace("http://localhost:", "127.0.0.1:") for server in servers]
        folder = tmp_path / "nginx"
        folder.mkdir()
        proxy = stack.enter_context(Nginx(folder, free_port(), upstreams))
        yield proxy, dict(zip(upstreams, servers))


def wait_for_map(page) -> None:
    page.frame_locator(MAP_IFRAME).locator("path.leaflet-interactive").first.wait_for(
        state="visible", timeout=TIMEOUT_MS)
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(timeout=TIMEOUT_MS)


def handshake(port: int, host: str) -> str:
    """The status line nginx answers a browser's websocket handshake addressed to ``host``."""
    key = base64.b64encode(os.urandom(16)).decode()
    request = (f"GET /_stcore/stream HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\n"
               f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(request.encode("ascii"))
        return connection.recv(4096).decode("latin-1").split("\r\n")[0]


def cookie_of(context) -> str:
    values = [c["value"] for c in context.cookies() if c["name"] == COOKIE]
    assert len(values) == 1, f"expected one {COOKIE} cookie, found {context.cookies()}"
    return values[0]


def kind_of(line: dict) -> str:
    path = line["path"]
    if path == "/" or path.startswith("/?"):
        return "document"
    if path == "/_stcore/stream":
        return "websocket"
    if path == "/_stcore/health":
        return "health"
    if path.startswith("/static/"):
        return "static"
    return "other"


def test_the_config_passes_nginx_t_and_takes_the_largest_upload(tmp_path):
    checked = subprocess.run(Nginx(tmp_path, free_port(), ["127.0.0.1:1", "127.0.0.1:2"]).command("-t"),
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    # a ledger Streamlit accepts (server.maxUploadSize, MB) must not be refused by nginx first
    streamlit_config = (ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8")
    app_limit = int(re.search(r"^maxUploadSize = (\d+)", streamlit_config, re.M)[1])
    nginx_limit = int(re.search(r"^\s*client_max_body_size (\d+)m;", CONF.read_text(encoding="utf-8"), re.M)[1])
    assert nginx_limit > app_limit


def test_two_app_servers_on_one_lake_behind_nginx(deployment, browser, shots):
    proxy, servers = deployment
    upstreams = list(servers)
    contexts, pages = [], []
    size = {"viewport": {"width": 1400, "height": 1700}, "locale": "zh-CN"}  # tall: the map in the picture
    try:
        # The first browser's first visit: no cookie, placed by the request's id, which it keeps
        first = browser.new_context(**size)
        contexts.append(first)
        pages.append(first.new_page())
        pages[0].goto(proxy.url)
        first_node = cookie_of(first)
        (first_upstream,) = proxy.upstream_of(first_node)

        # A second browser, placed on the other server (see the module docstring)
        for _ in range(30):
            second = browser.new_context(**size)
            assert second.request.get(f"{proxy.url}/_stcore/health").ok
            if proxy.upstream_of(cookie_of(second)) != {first_upstream}:
                break
            second.close()
        else:
            pytest.fail(f"30 new browsers all went to {first_upstream}: the cookie does not spread them")
        contexts.append(second)
        pages.append(second.new_page())
        pages[1].goto(proxy.url)  # the two servers draw their first pages at the same time
        second_node = cookie_of(second)

        # (a) the overview through nginx, its map painted: the websocket crossed the proxy
        for page in pages:
            wait_for_map(page)
        pages[0].screenshot(path=str(shots / "nginx_overview.png"))
        assert cookie_of(first) == first_node, "the first browser's cookie changed"
    finally:
        for page in pages:
            page.close()  # closes the websockets: nginx logs each (101) as it closes
        for context in contexts:
            context.close()

    nodes = {first_node: "first", second_node: "second"}
    deadline = time.monotonic() + 10
    while {line["node"] for line in proxy.lines() if kind_of(line) == "websocket"} < set(nodes):
        assert time.monotonic() < deadline, f"no websocket line for each browser:\n{tail(proxy.log)}"
        time.sleep(0.1)
    lines = proxy.lines()
    by_node: dict[str, list[dict]] = {node: [line for line in lines if line["node"] == node] for node in nodes}

    # (c) every request of one browser went to one app server, its cookie-less first one included
    placed = {}
    for node, who in nodes.items():
        mine = by_node[node]
        assert {line["upstream"] for line in mine} <= set(upstreams), mine
        assert len({line["upstream"] for line in mine}) == 1, f"the {who} browser was served by several: {mine}"
        placed[who] = mine[0]["upstream"]
        kinds = {kind_of(line) for line in mine}
        assert {"health", "static", "websocket"} <= kinds, f"the {who} browser's requests: {mine}"
        assert [line["status"] for line in mine if kind_of(line) == "websocket"] == ["101"], mine
        assert mine[0]["cookie"] == "-" and all(line["cookie"] == node for line in mine[1:]), (
            f"the {who} browser's first request should set the cookie that every later one sends: {mine}")
        assert not [line for line in mine if line["status"].startswith(("4", "5"))], mine
    assert kind_of(by_node[first_node][0]) == "document"  # the first visit: the page itself, no cookie
    assert "document" in {kind_of(line) for line in by_node[second_node]}

    # (b) the two browsers, between them, on both servers: one websocket (session) each
    assert placed["first"] != placed["second"], placed
    sessions = {up: sum(1 for line in lines if kind_of(line) == "websocket" and line["upstream"] == up)
                for up in upstreams}
    assert sessions == {up: 1 for up in upstreams}, sessions
    assert not [line for line in lines if line["status"].startswith("5")], tail(proxy.log)

    # A site addressed by name and port: the websocket is still the page's own origin to Streamlit
    assert handshake(proxy.port, f"atlas.example.org:{proxy.port}") == "HTTP/1.1 101 Switching Protocols"

    # A server stops: its browsers' requests go on to the other one (a new session there)
    servers[placed["first"]].__exit__(None, None, None)
    asked = urllib.request.Request(f"{proxy.url}/_stcore/health", headers={"Cookie": f"{COOKIE}={first_node}"})
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(asked, timeout=10) as answer:
        assert answer.status == 200
    assert proxy.lines()[-1]["upstream"].split(", ")[-1] == placed["second"], tail(proxy.log, 1)
