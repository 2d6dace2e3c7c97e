"""Running the HTTP API (`millesime serve`) with uvicorn, held against hostile clients.

- Read timeout: a request must arrive whole — head and body — within `Limits.request_timeout`
  seconds of its first byte (of the connection, for the first request). A connection that sends
  nothing, half a header or a body that never ends is closed then, quietly. An idle connection
  between two requests is closed by uvicorn's keep-alive timeout.
- Connection limit: over `Limits.max_connections` open connections, a request gets a 503 (in
  French, `Retry-After`) and its connection is closed; over twice that, a new connection is
  closed at once, unread, so that idle sockets cannot exhaust the process's file descriptors.
- Bounded backlog: at most `Limits.backlog` connections wait to be accepted.
- Logs that cannot be flooded: every record goes through `Throttle` — at most a few records of
  one kind a minute, then a count of those left out; the traceback of a network or resource
  error (a reset connection, a descriptor limit) is cut to one line.
- Several processes (`workers`): the socket is bound once, here, and shared; each worker builds
  its own app from an `AppFactory`, which pickles to a few settings.
"""
from __future__ import annotations

import errno
import logging
import resource
import signal
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from uvicorn import Config, Server  # first: a missing `serve` extra is reported as uvicorn missing
from uvicorn.protocols.http.h11_impl import H11Protocol

import h11  # noqa: E402 - uvicorn's own HTTP/1.1 library

from dsl.errors import MillesimeError

from .registry import Registry
from .server import create_app

log = logging.getLogger("millesime.server")


class ServeError(MillesimeError):
    """The server cannot start; the message is in French."""


@dataclass(frozen=True)
class Limits:
    max_connections: int = 100
    request_timeout: float = 10.0  # seconds to receive a whole request, head and body
    backlog: int = 128
    keep_alive: int = 5  # seconds an idle connection stays open between two requests


# ---------------------------------------------------------------- the app, in each process

class AppFactory:
    """Builds the app (`create_app`) in the process that serves it. Pickled for worker processes
    as its settings only; a registry already loaded is reused in the process that loaded it."""

    def __init__(self, rulesets_dir: str | Path | None, allowed_hosts: tuple[str, ...] = (), registry=None):
        self.rulesets_dir = None if rulesets_dir is None else str(rulesets_dir)
        self.allowed_hosts = tuple(allowed_hosts)
        self.registry = registry

    def __getstate__(self):
        return {"rulesets_dir": self.rulesets_dir, "allowed_hosts": self.allowed_hosts, "registry": None}

    def __call__(self):
        registry = self.registry
        if registry is None:
            registry = Registry.load(self.rulesets_dir) if self.rulesets_dir else None
        return create_app(registry, allowed_hosts=self.allowed_hosts)


# ---------------------------------------------------------------- the protocol

_BUSY_BODY = '{"error": "serveur occupé : trop de connexions ouvertes ; réessayez dans quelques secondes"}'.encode()


async def _busy(scope, receive, send):
    """The answer to a request over the connection limit."""
    await send({"type": "http.response.start", "status": 503, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(_BUSY_BODY)).encode()),
        (b"retry-after", b"5"), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": _BUSY_BODY})


class GuardedH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, with a read timeout per request and a connection limit."""

    def __init__(self, config: Config, server_state, app_state, _loop=None):
        super().__init__(config, server_state, app_state, _loop)
        self.limits: Limits = getattr(config, "millesime_limits", None) or Limits()
        self.read_timer = None

    def connection_made(self, transport) -> None:
        already = len(self.connections)
        super().connection_made(transport)
        if already >= 2 * self.limits.max_connections:  # far over: not even read
            log.warning("connexion fermée sans être lue : %d connexions déjà ouvertes", already)
            transport.close()
            return
        if already >= self.limits.max_connections:
            self.app = _busy
            log.warning("requête refusée (503) : %d connexions déjà ouvertes", already)
        self._arm()

    def data_received(self, data: bytes) -> None:
        self._arm()  # the first bytes of a request (or more of it): its clock runs
        super().data_received(data)
        if self.conn.their_state not in (h11.IDLE, h11.SEND_BODY):  # received whole, or over
            self._disarm()

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self.read_timer is None and not self.transport.is_closing():
            self.read_timer = self.loop.call_later(self.limits.request_timeout, self._timed_out)

    def _disarm(self) -> None:
        if self.read_timer is not None:
            self.read_timer.cancel()
            self.read_timer = None

    def _timed_out(self) -> None:
        """The request did not arrive whole in time: the app, if it waits for the body, is told the
        client left (it answers nobody and logs nothing), and the connection is closed."""
        self.read_timer = None
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        if not self.transport.is_closing():
            self.transport.close()


# ---------------------------------------------------------------- logs

class Throttle(logging.Filter):
    """At most `burst` records of one kind (logger, level, message template) per `window` seconds;
    the next one shown says how many were left out. A traceback of an OSError (a connection reset,
    a descriptor limit: the network's doing, not a bug) becomes one line."""

    MAX_KINDS = 1000

    def __init__(self, burst: int = 5, window: float = 60.0, clock=time.monotonic):
        super().__init__()
        self.burst, self.window, self.clock = burst, window, clock
        self.kinds: dict[tuple, list] = {}  # kind → [window start, shown, left out]

    def filter(self, record: logging.LogRecord) -> bool:
        now = self.clock()
        key = (record.name, record.levelno, str(record.msg))
        state = self.kinds.get(key)
        if state is None:
            if len(self.kinds) >= self.MAX_KINDS:
                self.kinds.clear()
            state = self.kinds[key] = [now, 0, 0]
        left_out = 0
        if now - state[0] >= self.window:
            left_out = state[2]
            state[:] = [now, 0, 0]
        if state[1] >= self.burst:
            state[2] += 1
            return False
        state[1] += 1
        if record.exc_info and isinstance(record.exc_info[1], OSError):
            record.msg = f"{record.getMessage()} ({record.exc_info[1]})"
            record.args, record.exc_info, record.exc_text = None, None, None
        if left_out:
            record.msg = f"{record.getMessage()} [{left_out} message(s) semblable(s) omis auparavant]"
            record.args = None
        return True


def log_config() -> dict:
    """Logging of the server process and of each worker: warnings and errors to stderr, throttled."""
    quiet = {"handlers": ["stderr"], "level": "WARNING", "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"throttle": {"()": "engine.serving.Throttle"}},
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s : %(message)s"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
                                "formatter": "plain", "filters": ["throttle"]}},
        "loggers": {"uvicorn": quiet, "uvicorn.error": {"level": "WARNING"}, "asyncio": quiet,
                    "millesime": quiet},
    }


# ---------------------------------------------------------------- starting

def bind(host: str, port: int, backlog: int = Limits.backlog) -> socket.socket:
    """A socket listening on host:port, or ServeError saying why not, in French. It listens at once:
    the address printed is good even before the workers have started (connections wait in the
    backlog)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        raise ServeError(f"adresse d'écoute inconnue : « {host} » (par exemple 127.0.0.1, ::1 ou 0.0.0.0)") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ServeError(f"le port {port} est déjà utilisé sur {host} : un autre serveur l'occupe ; "
                             "choisissez-en un autre avec --port") from None
        if exc.errno == errno.EACCES:
            raise ServeError(f"pas le droit d'écouter sur le port {port} de {host} (les ports sous 1024 "
                             "sont réservés à l'administrateur) ; choisissez-en un autre avec --port") from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise ServeError(f"l'adresse {host} n'appartient pas à cette machine ; écoutez sur 127.0.0.1 "
                             "ou 0.0.0.0") from None
        raise ServeError(f"impossible d'écouter sur {host}:{port} : {exc.strerror or exc}") from None
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


def fit_to_descriptors(limits: Limits) -> tuple[Limits, str | None]:
    """The limits, with max_connections lowered if the process may not open enough file
    descriptors for twice that many connections (its soft limit is raised first when it can be)."""
    needed = 2 * limits.max_connections + 64
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return limits, None
    allowed = max(1, (soft - 64) // 2)
    note = (f"au plus {allowed} connexions simultanées (et non {limits.max_connections}) : ce processus ne peut "
            f"ouvrir que {soft} fichiers (ulimit -n)")
    return Limits(allowed, limits.request_timeout, limits.backlog, limits.keep_alive), note


def config(factory: AppFactory, limits: Limits, workers: int = 1, logs: bool = True) -> Config:
    """The uvicorn configuration: our protocol, our limits, our logs (`logs=False`: logging left as
    it is, for tests), no access log."""
    cfg = Config(factory, factory=True, http=GuardedH11Protocol, workers=workers, lifespan="off",
                 log_config=log_config() if logs else None, log_level="warning", access_log=False, backlog=limits.backlog,
                 timeout_keep_alive=limits.keep_alive, timeout_graceful_shutdown=int(limits.request_timeout) + 5,
                 proxy_headers=False, server_header=False)
    cfg.millesime_limits = limits
    return cfg


def run(sock: socket.socket, cfg: Config) -> bool:
    """Serve on `sock` until interrupted (Ctrl-C, SIGTERM). False if the server did not start."""
    if cfg.workers > 1:
        from uvicorn.supervisors import Multiprocess
        Multiprocess(cfg, sockets=[sock]).run()
        return True
    server = Server(cfg)
    # uvicorn stops on SIGINT/SIGTERM, then raises the signal again for the handler it found: with
    # Python's, Ctrl-C would end in a KeyboardInterrupt and SIGTERM in exit status 143 after a clean
    # stop. This handler makes a stop by signal a normal end (exit status 0); before uvicorn's own
    # handler is in place, it asks the server to stop.
    def stop(signum, frame):
        server.should_exit = True

    own = threading.current_thread() is threading.main_thread()
    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)} if own else {}
    try:
        server.run(sockets=[sock])
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return server.started
