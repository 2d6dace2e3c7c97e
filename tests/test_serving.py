"""`millesime serve` under hostile clients (issue 16): read timeouts, a connection limit, quiet
logs, aborted uploads, a busy port, several processes.

Each test runs a real server on the loopback interface (127.0.0.1, a free port), opens a few
sockets (never more than a dozen), waits on conditions — the server's own count of connections,
a socket closed by the server — and stops by itself: every wait has a generous bound, reached
only if the behaviour tested is missing.

Needs the `serve` extra (uvicorn); skipped without it.
"""
from __future__ import annotations

import http.client
import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

pytest.importorskip("uvicorn", reason="the `serve` extra (uvicorn) is not installed")

import uvicorn  # noqa: E402
from click.testing import CliRunner  # noqa: E402

from engine import serving, shipped_registry  # noqa: E402
from engine.cli import main  # noqa: E402

BOUND = 30.0  # seconds: the longest any condition is waited for before the test fails
GP = {"specialty": "medecine_generale", "sector": 1, "optam": False, "patients_mt": 900, "file_active": 1500}
BODY = json.dumps({"physician": GP, "on": "2024-07-01"}).encode()


def wait_for(condition, what: str) -> None:
    """Until `condition()` holds; fails after BOUND seconds. Polls, it does not sleep a set time."""
    deadline = time.monotonic() + BOUND
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"still waiting after {BOUND} s: {what}")
        time.sleep(0.01)


@contextmanager
def running(limits: serving.Limits):
    sock = serving.bind("127.0.0.1", 0)
    cfg = serving.config(serving.AppFactory(None, (), shipped_registry()), limits, logs=False)
    server = uvicorn.Server(cfg)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started or not thread.is_alive(), "the server to start")
        assert server.started
        yield server, sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(BOUND)
        sock.close()


def connections(server) -> int:
    return len(server.server_state.connections)


def connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=BOUND)
    return s


def closed_by_server(s: socket.socket) -> bool:
    """Reads until the server closes the socket (True) or BOUND seconds pass (False)."""
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        ready, _, _ = select.select([s], [], [], deadline - time.monotonic())
        if not ready:
            return False
        try:
            if s.recv(65536) == b"":
                return True
        except (ConnectionResetError, BrokenPipeError):
            return True
    return False


def post_options(port: int) -> tuple[int, dict, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=BOUND)
    try:
        conn.request("POST", "/options", BODY, {"Content-Type": "application/json", "Host": "localhost"})
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), json.loads(r.read())
    finally:
        conn.close()


# ---------------------------------------------------------------- read timeouts

HEAD = (b"POST /options HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n")


@pytest.mark.parametrize("sent", [
    b"",                                                # sends nothing
    b"POST /options HTTP/1.1\r\nHost: loc",             # half a header
    HEAD % 5000 + BODY[:20],                            # a body that never ends
    b"POST /options HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n5\r\n{\"phy\r\n",  # chunks without the last one
], ids=["nothing", "half-header", "endless-body", "endless-chunks"])
def test_a_slow_client_is_closed_and_others_are_served(sent):
    with running(serving.Limits(max_connections=10, request_timeout=0.5)) as (server, port):
        slow = connect(port)
        try:
            slow.sendall(sent)
            assert closed_by_server(slow), "the server kept the connection open"
        finally:
            slow.close()
        wait_for(lambda: connections(server) == 0, "the connection to be forgotten")
        status, _, body = post_options(port)
        assert status == 200 and body["eligible"] is True


def test_a_request_sent_a_byte_at_a_time_is_cut_off():
    # trickling keeps a connection busy forever if only silence is timed: the whole request is
    with running(serving.Limits(max_connections=10, request_timeout=0.5)) as (server, port):
        s = connect(port)
        try:
            request = HEAD % 100_000 + b"x" * 100_000
            for i in range(len(request)):
                try:
                    s.sendall(request[i:i + 1])
                except (BrokenPipeError, ConnectionResetError):
                    break
                ready, _, _ = select.select([s], [], [], 0.01)  # the server's answer: it closed
                if ready and closed_by_server(s):
                    break
            else:
                pytest.fail("the whole request was taken in, a byte at a time")
        finally:
            s.close()


def test_an_idle_connection_does_not_stop_a_request_on_another():
    with running(serving.Limits(max_connections=10, request_timeout=60)) as (server, port):
        idle = connect(port)
        try:
            wait_for(lambda: connections(server) == 1, "the idle connection to be accepted")
            status, _, _ = post_options(port)
            assert status == 200
        finally:
            idle.close()


# ---------------------------------------------------------------- connection limit

def test_over_the_connection_limit_requests_get_503_then_connections_are_refused():
    with running(serving.Limits(max_connections=3, request_timeout=60)) as (server, port):
        idle = []
        try:
            idle += [connect(port) for _ in range(3)]
            wait_for(lambda: connections(server) == 3, "three idle connections")
            status, headers, body = post_options(port)
            assert status == 503
            assert body == {"error": "serveur occupé : trop de connexions ouvertes ; réessayez dans quelques "
                                     "secondes"}
            assert headers["retry-after"] == "5"
            # up to twice the limit a connection is accepted (its request gets a 503); beyond, closed unread
            idle += [connect(port) for _ in range(3)]
            wait_for(lambda: connections(server) == 6, "six idle connections")
            extra = connect(port)
            try:
                assert closed_by_server(extra)
            finally:
                extra.close()
            assert connections(server) == 6
        finally:
            for s in idle:
                s.close()
        wait_for(lambda: connections(server) == 0, "the idle connections to be closed")
        status, _, body = post_options(port)
        assert status == 200 and body["eligible"] is True


# ---------------------------------------------------------------- aborted uploads

def test_an_upload_aborted_by_the_client_is_dropped_quietly(caplog):
    caplog.set_level(logging.INFO)
    with running(serving.Limits(max_connections=10, request_timeout=60)) as (server, port):
        s = connect(port)
        s.sendall(HEAD % 5000 + BODY[:40])
        wait_for(lambda: len(server.server_state.tasks) == 1, "the request to reach the app")
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # reset
        s.close()
        wait_for(lambda: connections(server) == 0 and not server.server_state.tasks, "the request to end")
        status, _, _ = post_options(port)
        assert status == 200
    noisy = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert noisy == [], [r.getMessage() for r in noisy]


# ---------------------------------------------------------------- logs

class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_repeated_log_records_are_throttled_and_counted():
    clock = Clock()
    throttle = serving.Throttle(burst=5, window=60.0, clock=clock)
    record = lambda: logging.LogRecord("uvicorn.error", logging.WARNING, __file__, 1,  # noqa: E731
                                       "Invalid HTTP request received.", None, None)
    shown = [throttle.filter(record()) for _ in range(1000)]
    assert shown.count(True) == 5 and shown[:5] == [True] * 5
    clock.now = 61.0
    later = record()
    assert throttle.filter(later)
    assert later.getMessage() == "Invalid HTTP request received. [995 message(s) semblable(s) omis auparavant]"
    other = logging.LogRecord("millesime.server", logging.ERROR, __file__, 1, "another", None, None)
    assert throttle.filter(other)  # another kind of record has its own count


def test_the_traceback_of_a_network_error_is_one_line():
    try:
        raise OSError(24, "Too many open files")
    except OSError:
        record = logging.LogRecord("asyncio", logging.ERROR, __file__, 1, "socket.accept() out of system resource",
                                   None, sys.exc_info())
    assert serving.Throttle().filter(record)
    assert record.exc_info is None
    assert record.getMessage() == "socket.accept() out of system resource ([Errno 24] Too many open files)"


def test_the_server_log_configuration_cannot_be_flooded():
    # the configuration `millesime serve` installs, in a process of its own
    code = ("import logging, logging.config\n"
            "from engine.serving import log_config\n"
            "logging.config.dictConfig(log_config())\n"
            "for name in ('uvicorn.error', 'asyncio', 'millesime.server'):\n"
            "    for _ in range(10000):\n"
            "        logging.getLogger(name).warning('Invalid HTTP request received.')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=BOUND,
                          cwd=Path(__file__).parents[1])
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stderr.splitlines()) == 3 * 5


# ---------------------------------------------------------------- the command

def test_a_busy_port_is_a_french_message_and_exit_code_1():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = CliRunner().invoke(main, ["serve", "--port", str(port)])
    assert r.exit_code == 1
    assert r.output == (f"erreur : le port {port} est déjà utilisé sur 127.0.0.1 : un autre serveur l'occupe ; "
                        "choisissez-en un autre avec --port\n")  # and no address printed before


def test_serve_with_two_workers_answers_and_stops_on_sigterm():
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "serve", "--port", "0", "--workers", "2"],
                            cwd=Path(__file__).parents[1], stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stderr.readline()  # the first line: where it listens
        assert line.startswith("simulateur : http://127.0.0.1:") and line.rstrip().endswith("(2 processus)"), line
        port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
        workers = lambda: [p for p in Path("/proc").iterdir() if p.name.isdigit()  # noqa: E731
                           and _parent(p) == proc.pid]
        wait_for(lambda: len(workers()) >= 2, "two worker processes")
        answers = set()
        for _ in range(6):
            status, _, body = post_options(port)
            answers.add(status)
        assert answers == {200}
        for _ in range(50):  # bad requests: each worker logs a few, then counts
            with connect(port) as s:
                s.sendall(b"NOT HTTP AT ALL\r\n\r\n")
                closed_by_server(s)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=BOUND)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert err.count("Invalid HTTP request received.") <= 2 * 5


def _parent(proc_dir: Path) -> int | None:
    try:
        return int((proc_dir / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_stops_on_a_signal_with_exit_code_0(sig):
    # uvicorn raised the signal again once stopped: SIGTERM ended in status 143, Ctrl-C in a traceback
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "serve", "--port", "0"],
                            cwd=Path(__file__).parents[1], stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = proc.stderr.readline()
        port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
        assert post_options(port)[0] == 200  # serving, its signal handlers in place
    finally:
        proc.send_signal(sig)
        try:
            _, err = proc.communicate(timeout=BOUND)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "Aborted" not in err
