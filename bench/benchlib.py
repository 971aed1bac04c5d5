"""Helpers shared by the benchmark scripts: machine facts, process-tree memory, servers, tables.

Standard library only (Debian's python3), so `make bench` needs nothing from PyPI.
"""

from __future__ import annotations

import datetime
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
WORK = BENCH / ".work"
RESULTS = BENCH / "results"
LUA = BENCH / "wrk"

LOOPBACK = "127.0.0.1"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Machine, commit, results file


def run_text(args: list[str], cwd: Path | None = None) -> str:
    try:
        return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def meminfo_mib(field: str) -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(field + ":"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def machine_info() -> dict:
    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()
    return {
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model,
        "mem_total_mib": meminfo_mib("MemTotal"),
        "mem_available_mib": meminfo_mib("MemAvailable"),
        "kernel": os.uname().release,
        "load_average": [round(x, 2) for x in load],
        "uptime": run_text(["uptime"]),
        "swift": run_text(["swift", "--version"]).splitlines()[0] if shutil.which("swift") else None,
    }


def git_info() -> dict:
    commit = run_text(["git", "rev-parse", "HEAD"], cwd=ROOT)
    dirty = bool(run_text(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT))
    return {"commit": commit or None, "dirty": dirty}


def results_path(date: str | None = None) -> Path:
    return RESULTS / f"{date or datetime.date.today().isoformat()}.json"


def merge_results(section: str, payload: dict, path: Path | None = None) -> Path:
    """Writes `payload` under `section` of today's results file, keeping the other sections
    (`make bench` writes http/cli/inprocess, `make bench-compare` writes compare)."""
    path = path or results_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    document: dict = {}
    if path.exists():
        try:
            document = json.loads(path.read_text())
        except (OSError, ValueError):
            document = {}
    document["date"] = datetime.date.today().isoformat()
    document["updated_at"] = now_iso()
    document["machine"] = payload.get("machine") or document.get("machine")
    document["git"] = payload.get("git") or document.get("git")
    document[section] = payload
    path.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
    return path


def now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


# ---------------------------------------------------------------------------------------------
# Statistics


def median(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def spread(values: list[float]) -> dict:
    """Median, min, max and the relative spread (max-min)/median of a few runs."""
    values = [v for v in values if v is not None]
    if not values:
        return {"median": None, "min": None, "max": None, "spread_pct": None, "runs": []}
    med = statistics.median(values)
    return {
        "median": med,
        "min": min(values),
        "max": max(values),
        "spread_pct": round(100 * (max(values) - min(values)) / med, 1) if med else None,
        "runs": values,
    }


def percentile(sorted_values: list[float], p: float) -> float | None:
    if not sorted_values:
        return None
    k = (len(sorted_values) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


# ---------------------------------------------------------------------------------------------
# Process trees and memory


def children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may contain spaces: split after the last ')'.
        fields = stat[stat.rfind(")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry))
    return children


def process_tree(pid: int) -> list[int]:
    children = children_map()
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        if Path(f"/proc/{current}").exists():
            tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def status_kib(pid: int, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def pss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def tree_memory(pid: int) -> dict:
    """Resident memory of a process and all its descendants, from /proc.

    `rss_mib` sums VmRSS over the tree (what the issue asks; pages shared between forked
    workers count once per process), `pss_mib` sums the proportional set size (shared pages
    split between their users: the tree's real footprint), `hwm_mib` sums the peaks."""
    pids = process_tree(pid)
    rss = sum(status_kib(p, "VmRSS") or 0 for p in pids)
    hwm = sum(status_kib(p, "VmHWM") or 0 for p in pids)
    pss_values = [pss_kib(p) for p in pids]
    pss = sum(v for v in pss_values if v is not None) if any(v is not None for v in pss_values) else None
    return {
        "processes": len(pids),
        "rss_mib": round(rss / 1024, 1),
        "pss_mib": round(pss / 1024, 1) if pss is not None else None,
        "hwm_mib": round(hwm / 1024, 1),
    }


# ---------------------------------------------------------------------------------------------
# Ports, HTTP


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def http_call(port: int, method: str, path: str, body=None, token: str | None = None, timeout: float = 10.0,
              headers: dict | None = None) -> tuple[int, bytes]:
    """One request on a new connection, for setup and probes (not for load)."""
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        all_headers = {"Connection": "close"}
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        payload = None
        if body is not None:
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        connection.request(method, path, body=payload, headers=all_headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def expect_ok(port: int, method: str, path: str, body=None, token: str | None = None) -> dict:
    status, data = http_call(port, method, path, body, token)
    if not 200 <= status < 300:
        raise RuntimeError(f"{method} {path} answered {status}: {data[:300]!r}")
    return json.loads(data) if data else {}


def wait_first_ok(port: int, method: str, path: str, deadline: float, token_source=None, interval: float = 0.002,
                  process: subprocess.Popen | None = None) -> float | None:
    """Polls until the first 2xx; returns the perf_counter time of that answer, None on timeout.
    `token_source` is a callable giving the bearer token once it is known (None before)."""
    while time.perf_counter() < deadline:
        if process is not None and process.poll() is not None:
            return None
        token = token_source() if token_source else None
        if token_source is None or token:
            try:
                status, _ = http_call(port, method, path, token=token, timeout=2.0)
                if 200 <= status < 300:
                    return time.perf_counter()
            except OSError:
                pass
        time.sleep(interval)
    return None


# ---------------------------------------------------------------------------------------------
# Processes we start: each in its own session so that stopping it stops its whole tree, and
# never anything else.


class ManagedProcess:
    def __init__(self, args: list[str], log_path: Path, env: dict | None = None, cwd: Path | None = None):
        self.args = args
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_file = open(log_path, "wb")
        self.stopped = False
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            args, stdout=self.log_file, stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def memory(self) -> dict:
        return tree_memory(self.pid)

    def stop(self, timeout: float = 15.0) -> None:
        if self.stopped:
            return
        self.stopped = True
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.process.wait(timeout=5)
        else:
            # The leader is gone; children of its session may remain.
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass
        self.log_file.close()


TOKEN_RE = re.compile(r"\bmreg_[A-Za-z0-9_\-]+")


class MregServer:
    """`mreg serve` on loopback over a database of its own."""

    def __init__(self, binary: Path, db: Path, log_path: Path, port: int | None = None, token: str | None = None,
                 extra_args: list[str] | None = None):
        self.binary = binary
        self.extra_args = extra_args or []
        self.db = db
        self.port = port or free_port()
        self.token = token
        self.log_path = log_path
        self.proc: ManagedProcess | None = None
        self.cold_start_s: float | None = None

    def create_token(self, name: str = "bench", role: str = "admin") -> str:
        out = subprocess.run(
            [str(self.binary), "token", "create", "--name", name, "--role", role, "--json", "--db", str(self.db)],
            capture_output=True, text=True, timeout=60, check=True).stdout
        self.token = json.loads(out)["token"]
        return self.token

    def start(self, timeout: float = 30.0) -> float:
        """Starts the server and returns the cold start: process start to the first 200 of
        GET /v1/models?limit=1 with a token (read from the log when the database is new)."""
        self.proc = ManagedProcess(
            [str(self.binary), "serve", "--db", str(self.db), "--host", LOOPBACK, "--port", str(self.port),
             "--log-level", "warning"] + self.extra_args,
            self.log_path)

        def token_source():
            if self.token is None:
                match = TOKEN_RE.search(self.proc.log_text())
                if match:
                    self.token = match.group(0)
            return self.token

        answered = wait_first_ok(self.port, "GET", "/v1/models?limit=1", self.proc.started + timeout,
                                 token_source=token_source, interval=0.001, process=self.proc.process)
        if answered is None:
            self.stop()
            raise RuntimeError(f"mreg serve did not answer within {timeout}s; log:\n{self.proc.log_text()[-2000:]}")
        self.cold_start_s = answered - self.proc.started
        return self.cold_start_s

    def memory(self) -> dict:
        return self.proc.memory() if self.proc else {}

    def stop(self) -> None:
        if self.proc:
            self.proc.stop()


# ---------------------------------------------------------------------------------------------
# Tables


def cold_start(binary: Path, work: Path, repeats: int, existing_db: Path, token: str) -> dict:
    """Process start to the first 200 of an authenticated GET /v1/models?limit=1: on a new
    database (migrations and the first token included) and on the database the HTTP runs left."""
    fresh, existing = [], []
    for i in range(repeats):
        db = work / f"cold-{i}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        server = MregServer(binary, db, work / "cold-server.log")
        try:
            fresh.append(round(server.start() * 1000, 1))
        finally:
            server.stop()
        server = MregServer(binary, existing_db, work / "cold-server.log", token=token)
        try:
            existing.append(round(server.start() * 1000, 1))
        finally:
            server.stop()
    return {"new_db_ms": spread(fresh), "existing_db_ms": spread(existing)}


def fmt_num(value, digits: int = 0) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if digits == 0:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    def line(cells):
        return "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), sep] + [line(r) for r in rows])


def markdown_table(header: list[str], rows: list[list[str]], left: int = 1) -> str:
    """The first `left` columns aligned left, the rest (figures) right."""
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if i < left else "---:" for i in range(len(header))) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)
