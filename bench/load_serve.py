"""Bounded load test of `millesime serve` on loopback: requests/second and latency percentiles.

    .venv/bin/python bench/load_serve.py [--requests 2000] [--workers 4] [--time-limit 60] [--lean]

Starts the server in a subprocess on 127.0.0.1 (a free port), sends at most --requests requests
(mixed: /options for a physician without contract, /evaluate for a running contract) from
--workers threads over keep-alive connections, stops after --time-limit seconds at the latest,
then stops the server. `--lean` asks for answers without explanation trees (`"explain": false`, as
the simulator page does since issue 14). Traffic never leaves the loopback interface. Not part of
pytest.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time

HOST = "127.0.0.1"

OPTIONS = {"physician": {"specialty": "medecine_generale", "sector": 1, "optam": False,
                         "patients_mt": 900, "file_active": 1500}, "on": "2024-07-01"}
EVALUATE = {"case": {"physician": {"specialty": "medecine_generale", "sector": 1, "optam": False,
                                   "patients_mt": 900, "file_active": 1500},
                     "contract": {"signed_on": "2024-07-01", "option": "full", "initial_patients_mt": 900,
                                  "initial_file_active": 1500, "target_patients_mt": 1000,
                                  "target_file_active": 1600}},
            "on": "2025-09-01"}
REQUESTS = [("/options", json.dumps(OPTIONS).encode()), ("/evaluate", json.dumps(EVALUATE).encode())]
LEAN = [("/options", json.dumps({**OPTIONS, "explain": False}).encode()),
        ("/evaluate", json.dumps({**EVALUATE, "explain": False}).encode())]


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", "from engine.cli import main; main()", "serve",
                             "--host", HOST, "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the server exited at start-up")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/rulesets")
            if conn.getresponse().status == 200:
                conn.close()
                return proc
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit("the server did not answer within 30 s")


def run(port: int, total: int, workers: int, time_limit: float, requests=REQUESTS):
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    counter = iter(range(total))
    stop_at = time.monotonic() + time_limit

    def worker():
        conn = http.client.HTTPConnection(HOST, port, timeout=10)
        local, codes = [], {}
        while time.monotonic() < stop_at:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            path, body = requests[i % len(requests)]
            t0 = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=10)
                status = 0
            local.append(time.perf_counter() - t0)
            codes[status] = codes.get(status, 0) + 1
        conn.close()
        with lock:
            latencies.extend(local)
            for k, v in codes.items():
                statuses[k] = statuses.get(k, 0) + v

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, latencies, statuses


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--lean", action="store_true", help='answers without explanation ("explain": false)')
    args = parser.parse_args()
    port = free_port()
    server = start_server(port)
    try:
        requests = LEAN if args.lean else REQUESTS
        run(port, args.warmup, 1, 30, requests)  # rulesets compiled, schemas built, caches warm
        elapsed, latencies, statuses = run(port, args.requests, args.workers, args.time_limit, requests)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    done = len(latencies)
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}")
    kind = "without explanation (explain: false)" if args.lean else "explanation included"
    print(f"requests: {done} ({args.workers} workers, mix /options + /evaluate, {kind}) "
          f"in {elapsed:.2f} s; statuses {dict(sorted(statuses.items()))}")
    if done:
        print(f"throughput: {done / elapsed:.1f} requests/s")
        print(f"latency: p50 {percentile(latencies, 50) * 1000:.1f} ms, p90 {percentile(latencies, 90) * 1000:.1f} ms, "
              f"p99 {percentile(latencies, 99) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms, "
              f"mean {statistics.fmean(latencies) * 1000:.1f} ms")
    if statuses.keys() - {200}:
        sys.exit(1)


if __name__ == "__main__":
    main()
