"""The one load client `make bench-compare` drives both servers with (mreg and MLflow).

Plain HTTP/1.1 over blocking sockets, one thread per client, standard library only. Two modes:

* `newconn`   — a new TCP connection per request (`Connection: close`); the latency includes
                the connect. The only fair mode for MLflow with `--workers 2` (uvicorn never sets
                TCP_NODELAY on accepted sockets there, so a kept-alive connection waits ~40 ms
                for a delayed ACK on every request after the first).
* `keepalive` — one persistent connection per client.

Every run is bounded twice: by its duration and by a request count. The client sets
TCP_NODELAY on its own sockets. Requests are built by an `op(seq)` callable so that each one can
carry its own key or body; `seq` is a counter shared by the run's threads.
"""

from __future__ import annotations

import itertools
import socket
import threading
import time
from dataclasses import dataclass, field

from benchlib import LOOPBACK, percentile


class ProtocolError(Exception):
    pass


@dataclass
class Request:
    method: str
    path: str
    body: bytes | None = None


def encode(request: Request, host: str, headers: dict[str, str], close: bool) -> bytes:
    lines = [f"{request.method} {request.path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if request.body is not None:
        lines.append("Content-Type: application/json")
        lines.append(f"Content-Length: {len(request.body)}")
    elif request.method in ("POST", "PUT"):
        lines.append("Content-Length: 0")
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (request.body or b"")


def read_response(reader) -> tuple[int, bool, bytes]:
    """Reads one response from a buffered socket reader: (status, keep_alive, body)."""
    status_line = reader.readline(65537)
    if not status_line:
        raise ProtocolError("connection closed before the status line")
    parts = status_line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise ProtocolError(f"bad status line {status_line[:80]!r}")
    status = int(parts[1])
    length, chunked, keep = None, False, parts[0] == b"HTTP/1.1"
    while True:
        line = reader.readline(65537)
        if line in (b"\r\n", b"\n"):
            break
        if not line:
            raise ProtocolError("connection closed in the headers")
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        elif name == b"connection":
            v = value.strip().lower()
            keep = False if v == b"close" else (True if v == b"keep-alive" else keep)
    if chunked:
        body = bytearray()
        while True:
            size = int(reader.readline(65537).split(b";")[0].strip(), 16)
            if size == 0:
                while reader.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass
                break
            body += reader.read(size)
            reader.readline(65537)
        return status, keep, bytes(body)
    if length is None:
        if status in (204, 304) or 100 <= status < 200:
            return status, keep, b""
        return status, False, reader.read()
    body = reader.read(length) if length else b""
    if len(body) != length:
        raise ProtocolError("connection closed in the body")
    return status, keep, body


@dataclass
class RunResult:
    op: str
    mode: str
    clients: int
    ok: int = 0
    errors: int = 0
    elapsed_s: float = 0.0
    latencies: list[float] = field(default_factory=list, repr=False)
    error_samples: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        lat = sorted(self.latencies)
        ms = lambda p: round(percentile(lat, p) * 1000, 3) if lat else None  # noqa: E731
        return {
            "op": self.op,
            "mode": self.mode,
            "clients": self.clients,
            "requests_ok": self.ok,
            "errors": self.errors,
            "elapsed_s": round(self.elapsed_s, 3),
            "ops_per_s": round(self.ok / self.elapsed_s, 1) if self.elapsed_s > 0 else None,
            "p50_ms": ms(50),
            "p90_ms": ms(90),
            "p99_ms": ms(99),
            "max_ms": round(lat[-1] * 1000, 3) if lat else None,
            "error_samples": self.error_samples[:5],
        }


def run_load(port: int, op_name: str, op, clients: int, mode: str, duration: float, max_requests: int,
             headers: dict[str, str] | None = None, timeout: float = 10.0, max_errors: int = 50) -> dict:
    """Drives `op` against 127.0.0.1:port from `clients` threads for `duration` seconds or
    `max_requests` requests, whichever comes first. Counts non-2xx answers and socket errors."""
    assert mode in ("newconn", "keepalive")
    host = f"{LOOPBACK}:{port}"
    headers = headers or {}
    close = mode == "newconn"
    counter = itertools.count()
    result = RunResult(op=op_name, mode=mode, clients=clients)
    lock = threading.Lock()
    start_barrier = threading.Barrier(clients + 1)
    stop = threading.Event()
    deadline_box = [0.0]

    def connect():
        sock = socket.create_connection((LOOPBACK, port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, sock.makefile("rb", buffering=65536)

    def worker():
        latencies, ok, errors, samples = [], 0, 0, []
        sock = reader = None
        start_barrier.wait()
        deadline = deadline_box[0]
        perf = time.perf_counter
        try:
            while not stop.is_set():
                if perf() >= deadline:
                    break
                seq = next(counter)
                if seq >= max_requests:
                    break
                request = op(seq)
                payload = encode(request, host, headers, close)
                t0 = perf()
                try:
                    if sock is None:
                        sock, reader = connect()
                    sock.sendall(payload)
                    status, keep, body = read_response(reader)
                except (OSError, ProtocolError, ValueError) as error:
                    errors += 1
                    if len(samples) < 5:
                        samples.append(f"{request.method} {request.path}: {type(error).__name__}: {error}")
                    if sock is not None:
                        reader.close()
                        sock.close()
                    sock = reader = None
                    if errors >= max_errors:
                        stop.set()
                    continue
                t1 = perf()
                if 200 <= status < 300:
                    ok += 1
                    latencies.append(t1 - t0)
                else:
                    errors += 1
                    if len(samples) < 5:
                        samples.append(f"{request.method} {request.path}: {status} {body[:200]!r}")
                    if errors >= max_errors:
                        stop.set()
                if close or not keep:
                    reader.close()
                    sock.close()
                    sock = reader = None
        finally:
            if sock is not None:
                reader.close()
                sock.close()
            with lock:
                result.ok += ok
                result.errors += errors
                result.latencies.extend(latencies)
                result.error_samples.extend(samples)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    started = time.perf_counter()
    deadline_box[0] = started + duration
    start_barrier.wait()
    for t in threads:
        t.join(duration + timeout + 5)
    stop.set()
    result.elapsed_s = time.perf_counter() - started
    return result.summary()
