#!/usr/bin/env python3
"""`make bench-compare`: mreg and MLflow's model registry side by side, same client, same run.

Both servers run on loopback over SQLite at the same time; one load client drives the same
workload against each, alternating cell by cell. The client is wrk (bench/wrk/compare.lua, C,
the default) or, with --client python, bench/loadclient.py (Python threads over raw sockets).
Each operation is one request shape (`Shape`) both clients fill in the same way:

  operation        mreg                                         MLflow (REST API 2.0)
  create version   POST /v1/models/M/versions                   POST model-versions/create
  move alias       POST /v1/models/M/promote {to: release}      POST registered-models/alias
  get by alias     GET  /v1/models/M/resolve?key=K (rollout)    GET  registered-models/alias
  search versions  GET  /v1/models/M/versions?limit=50          GET  model-versions/search?filter=name='M'&max_results=50

with 1 and 8 clients (wrk: -t1 -c1 and -t2 -c8), and in two client modes (see BENCH-NOTES /
BENCHMARKS.md):
  newconn   — a new connection per request: mreg vs MLflow `--workers 2`
  keepalive — kept-alive connections:      mreg vs MLflow `--workers 1`
MLflow runs with MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false for the load; a third MLflow with its
defaults (job execution on, --workers 2) is started at the end for its cold start and memory.
MLflow keeps its SQLite defaults (rollback journal, synchronous=FULL).

Writes the `compare` section of bench/results/<date>.json and prints the tables.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import benchlib as B
from loadclient import Request, run_load

OPS = ["create_version", "move_alias", "get_by_alias", "search_versions"]
OP_LABELS = {
    "create_version": "create version",
    "move_alias": "move alias / promote",
    "get_by_alias": "get by alias / resolve",
    "search_versions": "search versions (50)",
}
MLFLOW_VERSION = os.environ.get("MLFLOW_VERSION", "3.17.2")
VENV = B.BENCH / ".mlflow" / "venv"
TARGET_RATIO = 50


# ---------------------------------------------------------------------------------------------
# The two backends: the same four operations, each a request shape.


@dataclass(frozen=True)
class Shape:
    """One operation's request. `{n}` in the path or body becomes a value no other request of
    the run uses (an artifact name, a request key); `{v}` becomes a version from 1 … pool, and
    requests in flight at the same time name different ones (mreg answers 409 to a promotion of
    the version the branch already holds)."""
    method: str
    path: str
    body: str | None = None


class MregBackend:
    name = "mreg"

    def __init__(self, server: B.MregServer):
        self.server = server
        self.port = server.port
        self.token = server.token
        self.pool = 0

    def call(self, method, path, body=None):
        return B.expect_ok(self.port, method, path, body, self.server.token)

    def setup(self, pool: int = 100, search_versions: int = 100) -> None:
        self.pool = pool
        self.call("POST", "/v1/models", {"name": "bench-create"})
        # One more than the pool: the version `before("move_alias")` parks the branch on.
        for i in range(1, pool + 2):
            self.call("POST", "/v1/models/bench-alias/versions", {"artifact_uri": f"s3://bench/alias/{i}"})
        for i in range(1, search_versions + 1):
            self.call("POST", "/v1/models/bench-search/versions", {"artifact_uri": f"s3://bench/search/{i}"})
        for i in (1, 2):
            self.call("POST", "/v1/models/bench-resolve/versions", {"artifact_uri": f"s3://bench/resolve/{i}"})
        self.call("POST", "/v1/models/bench-resolve/promote", {"to": "release", "version": 1})
        self.call("POST", "/v1/models/bench-resolve/promote", {"to": "master"})
        self.call("POST", "/v1/models/bench-resolve/promote", {"to": "release", "version": 2})
        self.call("POST", "/v1/models/bench-resolve/rollout", {"version": 2, "steps": [25, 50, 100]})

    def before(self, op: str) -> None:
        """Untimed: a cell of promotions starts with the branch on a version outside the pool."""
        if op == "move_alias":
            self.call("POST", "/v1/models/bench-alias/promote", {"to": "release", "version": self.pool + 1})

    def op(self, name: str) -> Shape:
        return {
            "create_version": Shape("POST", "/v1/models/bench-create/versions", '{"artifact_uri":"s3://bench/create/{n}"}'),
            "move_alias": Shape("POST", "/v1/models/bench-alias/promote", '{"to":"release","version":{v}}'),
            "get_by_alias": Shape("GET", "/v1/models/bench-resolve/resolve?key=user-{n}"),
            "search_versions": Shape("GET", "/v1/models/bench-search/versions?limit=50"),
            "ceiling": Shape("GET", "/healthz"),
        }[name]


class MlflowBackend:
    token = None

    def __init__(self, name: str, port: int):
        self.name = name
        self.port = port
        self.pool = 0

    def call(self, method, path, body=None):
        return B.expect_ok(self.port, method, "/api/2.0/mlflow/" + path, body)

    def setup(self, pool: int = 100, search_versions: int = 100) -> None:
        self.pool = pool
        for model in ("bench-create", "bench-alias", "bench-search", "bench-resolve"):
            self.call("POST", "registered-models/create", {"name": model})
        for i in range(1, pool + 2):
            self.call("POST", "model-versions/create", {"name": "bench-alias", "source": f"s3://bench/alias/{i}"})
        for i in range(1, search_versions + 1):
            self.call("POST", "model-versions/create", {"name": "bench-search", "source": f"s3://bench/search/{i}"})
        self.call("POST", "model-versions/create", {"name": "bench-resolve", "source": "s3://bench/resolve/1"})
        self.call("POST", "registered-models/alias", {"name": "bench-resolve", "alias": "champion", "version": "1"})

    def before(self, op: str) -> None:
        """The same untimed reset as mreg's (MLflow would accept a repeat, but both do the same work)."""
        if op == "move_alias":
            self.call("POST", "registered-models/alias", {"name": "bench-alias", "alias": "release", "version": str(self.pool + 1)})

    def op(self, name: str) -> Shape:
        base = "/api/2.0/mlflow/"
        search = urllib.parse.urlencode({"filter": "name='bench-search'", "max_results": 50})
        return {
            "create_version": Shape("POST", base + "model-versions/create", '{"name":"bench-create","source":"s3://bench/create/{n}"}'),
            "move_alias": Shape("POST", base + "registered-models/alias", '{"name":"bench-alias","alias":"release","version":"{v}"}'),
            "get_by_alias": Shape("GET", base + "registered-models/alias?name=bench-resolve&alias=champion"),
            "search_versions": Shape("GET", base + "model-versions/search?" + search),
        }[name]


# ---------------------------------------------------------------------------------------------
# The two clients. Both fill `{n}` with "<cell tag>-…" and `{v}` with 1 + (a counter) mod pool.

CLIENTS = ("wrk", "python")
CLIENT_LABELS = {
    "wrk": "wrk (bench/wrk/compare.lua: C, -t1 -c1 for 1 client, -t2 -c8 for 8)",
    "python": "bench/loadclient.py (Python threads, raw HTTP/1.1 sockets, TCP_NODELAY)",
}
_cell_tags = itertools.count(1)
NON2XX_RE = re.compile(r"Non-2xx or 3xx responses:\s*(\d+)")


def run_cell(backend, op: str, clients: int, mode: str, duration: float, max_requests: int, client: str = "wrk") -> dict:
    shape = backend.op(op)
    tag = f"c{next(_cell_tags)}"
    backend.before(op)
    if client == "wrk":
        result = run_wrk_cell(backend, shape, op, clients, mode, duration, tag)
    else:
        result = run_python_cell(backend, shape, op, clients, mode, duration, max_requests, tag)
    result["server"] = backend.name
    result["client"] = client
    return result


def run_python_cell(backend, shape: Shape, op: str, clients: int, mode: str, duration: float, max_requests: int,
                    tag: str) -> dict:
    pool = max(backend.pool, 1)

    def build(seq):
        fill = lambda text: text.replace("{n}", f"{tag}-{seq}").replace("{v}", str(1 + seq % pool))  # noqa: E731
        return Request(shape.method, fill(shape.path), fill(shape.body).encode() if shape.body is not None else None)

    headers = {"Authorization": f"Bearer {backend.token}"} if backend.token else {}
    return run_load(backend.port, op, build, clients, mode, duration, max_requests, headers=headers)


def run_wrk_cell(backend, shape: Shape, op: str, clients: int, mode: str, duration: float, tag: str) -> dict:
    """One cell with wrk: 1 client is -t1 -c1, more are -t2 -cN (the machine has 2 cores).
    wrk's -d takes whole seconds, so a cell lasts at least 1 s."""
    threads = 1 if clients == 1 else 2
    seconds = max(1, round(duration))
    env = dict(os.environ, MREG_BENCH_LUA=str(B.LUA), BENCH_METHOD=shape.method, BENCH_PATH=shape.path,
               BENCH_BODY=shape.body or "", BENCH_AUTH=backend.token or "", BENCH_CLOSE="1" if mode == "newconn" else "0",
               BENCH_TAG=tag, BENCH_POOL=str(max(backend.pool, 1)), BENCH_THREADS=str(threads))
    args = ["wrk", f"-t{threads}", f"-c{clients}", f"-d{seconds}s", "--latency", "--timeout", "10s",
            "-s", str(B.LUA / "compare.lua"), f"http://{B.LOOPBACK}:{backend.port}{shape.path.split('?')[0]}"]
    completed = subprocess.run(args, env=env, capture_output=True, text=True, timeout=seconds + 60)
    line = next((l for l in completed.stdout.splitlines() if l.startswith("WRK_JSON ")), None)
    if completed.returncode != 0 or line is None:
        raise RuntimeError(f"wrk {op} against {backend.name} failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}")
    data = json.loads(line[len("WRK_JSON "):])
    socket_errors = sum(v for k, v in data["errors"].items() if k != "status")
    non2xx = NON2XX_RE.search(completed.stdout)
    rejected = max(int(non2xx.group(1)) if non2xx else 0, int(data["errors"]["status"]))
    ok = int(data["requests"]) - rejected
    elapsed = data["duration_us"] / 1e6
    lat = data["latency_us"]
    samples = [l.strip() for l in completed.stdout.splitlines() if "errors" in l.lower() or "Non-2xx" in l]
    return {
        "op": op, "mode": mode, "clients": clients, "threads": threads,
        "requests_ok": ok, "errors": socket_errors + rejected, "elapsed_s": round(elapsed, 3),
        "ops_per_s": round(ok / elapsed, 1) if elapsed > 0 else None,
        "p50_ms": lat["p50"] / 1000, "p90_ms": lat["p90"] / 1000, "p99_ms": lat["p99"] / 1000, "max_ms": lat["max"] / 1000,
        "error_samples": samples[:5] if socket_errors + rejected else [],
    }


# ---------------------------------------------------------------------------------------------
# MLflow servers


class MlflowServer:
    def __init__(self, label: str, workers: int, jobs: bool, work: Path):
        self.label = label
        self.workers = workers
        self.jobs = jobs
        self.port = B.free_port()
        self.dir = work / label
        self.proc: B.ManagedProcess | None = None
        self.cold_start_s: float | None = None

    def start(self, timeout: float = 120.0) -> float:
        import shutil
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        env = dict(os.environ, MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true", PYTHONUNBUFFERED="1")
        env.pop("MLFLOW_TRACKING_URI", None)
        if not self.jobs:
            env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
        args = [str(VENV / "bin" / "mlflow"), "server",
                "--backend-store-uri", f"sqlite:///{self.dir / 'mlflow.db'}",
                "--artifacts-destination", str(self.dir / "artifacts"),
                "--host", B.LOOPBACK, "--port", str(self.port), "--workers", str(self.workers)]
        self.proc = B.ManagedProcess(args, self.dir / "server.log", env=env, cwd=self.dir)
        answered = B.wait_first_ok(self.port, "GET", "/api/2.0/mlflow/registered-models/search?max_results=1",
                                   self.proc.started + timeout, interval=0.01, process=self.proc.process)
        if answered is None:
            log = self.proc.log_text()[-3000:]
            self.stop()
            raise RuntimeError(f"MLflow ({self.label}) did not answer within {timeout}s; log:\n{log}")
        self.cold_start_s = answered - self.proc.started
        return self.cold_start_s

    def memory(self) -> dict:
        return self.proc.memory() if self.proc else {}

    def stop(self) -> None:
        if self.proc:
            self.proc.stop(timeout=20)


def ensure_mlflow() -> str:
    mlflow = VENV / "bin" / "mlflow"
    if not mlflow.exists():
        raise SystemExit(f"{mlflow} is missing: run bench/compare.sh (make bench-compare) to install MLflow {MLFLOW_VERSION}")
    return B.run_text([str(VENV / "bin" / "python"), "-c", "import mlflow; print(mlflow.__version__)"])


# ---------------------------------------------------------------------------------------------


def aggregate(cells: list[dict]) -> dict:
    """Per op, clients and configuration: median and spread over the rounds."""
    out: dict = {}
    for cell in cells:
        key = (cell["op"], cell["clients"], cell["config"])
        out.setdefault(key, []).append(cell)
    summary: dict = {}
    for (op, clients, config), runs in out.items():
        summary.setdefault(op, {}).setdefault(str(clients), {})[config] = {
            "ops_per_s": B.spread([r["ops_per_s"] for r in runs]),
            "p50_ms": B.spread([r["p50_ms"] for r in runs]),
            "p99_ms": B.spread([r["p99_ms"] for r in runs]),
            "errors": sum(r["errors"] for r in runs),
            "requests_ok": sum(r["requests_ok"] for r in runs),
        }
    return summary


CONFIGS = [
    # config key, server key, client mode, label
    ("mreg_newconn", "mreg", "newconn", "mreg, new conn"),
    ("mreg_keepalive", "mreg", "keepalive", "mreg, keep-alive"),
    ("mlflow_w2_newconn", "mlflow_w2", "newconn", "MLflow w2, new conn"),
    ("mlflow_w1_keepalive", "mlflow_w1", "keepalive", "MLflow w1, keep-alive"),
]


def ratios(summary: dict) -> dict:
    out = {}
    for op, by_clients in summary.items():
        for clients, configs in by_clients.items():
            med = {k: (v["ops_per_s"]["median"] or 0) for k, v in configs.items()}
            ours_best = max(med.get("mreg_newconn", 0), med.get("mreg_keepalive", 0))
            theirs_best = max(med.get("mlflow_w2_newconn", 0), med.get("mlflow_w1_keepalive", 0))
            r = {
                "newconn": round(med["mreg_newconn"] / med["mlflow_w2_newconn"], 1) if med.get("mlflow_w2_newconn") else None,
                "keepalive": round(med["mreg_keepalive"] / med["mlflow_w1_keepalive"], 1) if med.get("mlflow_w1_keepalive") else None,
                "best_vs_best": round(ours_best / theirs_best, 1) if theirs_best else None,
                "mlflow_best_config": max(("mlflow_w2_newconn", "mlflow_w1_keepalive"), key=lambda k: med.get(k, 0)),
            }
            r["target_met"] = r["best_vs_best"] is not None and r["best_vs_best"] >= TARGET_RATIO
            out.setdefault(op, {})[clients] = r
    return out


def render(doc: dict) -> str:
    lines = []
    m = doc["machine"]
    lines.append(f"mreg vs MLflow {doc['mlflow_version']} — {doc['started_at']} — commit {str(doc['git']['commit'])[:12]}")
    lines.append(f"machine: {m['cores']} cores, {m['mem_total_mib']:.0f} MiB; load at start {m['load_average']}, "
                 f"end {m.get('load_average_end')}")
    lines.append(f"client: {doc['client']}")
    lines.append(f"{doc['rounds']} rounds × {doc['duration_s']} s per cell, alternating servers; "
                 f"ops/s median of rounds [min–max]")
    lines.append("")
    rows = []
    for op in OPS:
        for clients in ("1", "8"):
            configs = doc["summary"][op][clients]
            row = [OP_LABELS[op], clients]
            for key, _, _, _ in CONFIGS:
                s = configs[key]["ops_per_s"]
                err = configs[key]["errors"]
                row.append(f"{B.fmt_num(s['median'])} [{B.fmt_num(s['min'])}–{B.fmt_num(s['max'])}]"
                           + (f" ({err} err)" if err else ""))
            r = doc["ratios"][op][clients]
            row += [f"{r['newconn']}×", f"{r['keepalive']}×", f"{r['best_vs_best']}×"]
            rows.append(row)
    lines.append(B.table(["operation", "clients"] + [c[3] for c in CONFIGS]
                         + ["ratio new conn", "ratio keep-alive", "best/best"], rows))
    lines.append("")
    rows = []
    for op in OPS:
        for clients in ("1", "8"):
            configs = doc["summary"][op][clients]
            row = [OP_LABELS[op], clients]
            for key, _, _, _ in CONFIGS:
                row.append(f"{B.fmt_num(configs[key]['p50_ms']['median'], 2)} / {B.fmt_num(configs[key]['p99_ms']['median'], 2)}")
            rows.append(row)
    lines.append("latency p50 / p99 ms (median of rounds)")
    lines.append(B.table(["operation", "clients"] + [c[3] for c in CONFIGS], rows))
    ceiling = doc.get("client_ceiling")
    if ceiling:
        lines.append("")
        lines.append("client ceiling (the same client against mreg's GET /healthz, no database): "
                     + ", ".join(f"{c['mode']} {c['clients']} client(s) {B.fmt_num(c['ops_per_s'])} ops/s" for c in ceiling))
    lines.append("")
    lines.append("cold start (process start to the first 200 of a cheap API call) and memory of the whole process tree")
    rows = []
    for s in doc["servers"]:
        cold = s["cold_start_ms"]
        cold_text = (f"{B.fmt_num(cold['median'], 1)} [{B.fmt_num(cold['min'], 1)}–{B.fmt_num(cold['max'], 1)}]"
                     if isinstance(cold, dict) else B.fmt_num(cold, 1))
        idle, loaded = s.get("memory_idle", {}), s.get("memory_after_load", {})
        rows.append([s["label"], cold_text, f"{idle.get('processes', '-')}", B.fmt_num(idle.get("rss_mib"), 1),
                     B.fmt_num(idle.get("pss_mib"), 1), B.fmt_num(loaded.get("rss_mib"), 1), B.fmt_num(loaded.get("pss_mib"), 1)])
    lines.append(B.table(["server", "cold start ms", "procs", "RSS idle MiB", "PSS idle", "RSS after load", "PSS after load"], rows))
    lines.append("")
    met = [(op, c) for op in OPS for c in ("1", "8") if not doc["ratios"][op][c]["target_met"]]
    lines.append(f"target ≥ {TARGET_RATIO}× MLflow's best on every operation: "
                 + ("met" if not met else "MISSED on " + ", ".join(f"{OP_LABELS[o]} ({c} client(s)): "
                                                                   f"{doc['ratios'][o][c]['best_vs_best']}×" for o, c in met)))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin-dir", default=str(B.ROOT / ".build" / "release"))
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("COMPARE_ROUNDS", 3)))
    parser.add_argument("--duration", type=float, default=float(os.environ.get("COMPARE_DURATION", 2)),
                        help="seconds per cell (one op, one client count, one server, one mode)")
    parser.add_argument("--max-requests", type=int, default=200_000, help="per cell (the Python client only)")
    parser.add_argument("--client", choices=CLIENTS, default=os.environ.get("COMPARE_CLIENT", "wrk"),
                        help="wrk (bench/wrk/compare.lua; the default) or python (bench/loadclient.py)")
    parser.add_argument("--pool", type=int, default=100, help="versions the alias / promote cycles through")
    parser.add_argument("--out", help="results file (default bench/results/<date>.json, section compare)")
    args = parser.parse_args()

    binary = Path(args.bin_dir).resolve() / "mreg"
    if not binary.exists():
        B.log(f"{binary} does not exist: build it first (make release)")
        return 2
    mlflow_version = ensure_mlflow()
    work = B.WORK / "compare"
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    doc = {"kind": "compare", "started_at": B.now_iso(), "machine": B.machine_info(), "git": B.git_info(),
           "mlflow_version": mlflow_version, "rounds": args.rounds, "duration_s": args.duration, "pool": args.pool,
           "client": CLIENT_LABELS[args.client],
           "mlflow_sqlite": "MLflow's defaults: rollback journal, synchronous=FULL (not changed)",
           "servers": []}

    db = work / "mreg.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    mreg = B.MregServer(binary, db, work / "mreg-server.log")
    mreg.create_token()
    servers = {}
    try:
        mreg.start()
        B.log(f"compare: mreg on port {mreg.port}")
        servers["mreg"] = MregBackend(mreg)
        mlflow_w2 = MlflowServer("mlflow-w2", workers=2, jobs=False, work=work)
        B.log("compare: starting MLflow --workers 2 (job execution off)…")
        mlflow_w2.start()
        B.log(f"compare:   first answer after {mlflow_w2.cold_start_s:.1f} s")
        mlflow_w1 = MlflowServer("mlflow-w1", workers=1, jobs=False, work=work)
        B.log("compare: starting MLflow --workers 1 (job execution off)…")
        mlflow_w1.start()
        B.log(f"compare:   first answer after {mlflow_w1.cold_start_s:.1f} s")
        servers["mlflow_w2"] = MlflowBackend("mlflow_w2", mlflow_w2.port)
        servers["mlflow_w1"] = MlflowBackend("mlflow_w1", mlflow_w1.port)
        for key, backend in servers.items():
            t = time.perf_counter()
            backend.setup(pool=args.pool)
            B.log(f"compare: seeded {key} in {time.perf_counter() - t:.1f} s")
        time.sleep(2)
        idle = {"mreg": mreg.memory(), "mlflow_w2": mlflow_w2.memory(), "mlflow_w1": mlflow_w1.memory()}

        cells = []
        for round_index in range(args.rounds):
            B.log(f"compare: round {round_index + 1}/{args.rounds}")
            for op in OPS:
                for clients in (1, 8):
                    for pair_index, (mode, theirs) in enumerate((("newconn", "mlflow_w2"), ("keepalive", "mlflow_w1"))):
                        order = ["mreg", theirs] if (round_index + pair_index) % 2 == 0 else [theirs, "mreg"]
                        for server_key in order:
                            cell = run_cell(servers[server_key], op, clients, mode, args.duration, args.max_requests,
                                            args.client)
                            cell["round"] = round_index + 1
                            cell["config"] = f"{server_key}_{mode}"
                            cells.append(cell)
                            B.log(f"  {op:<16} {clients} {cell['config']:<20} {B.fmt_num(cell['ops_per_s']):>8} ops/s  "
                                  f"p50 {B.fmt_num(cell['p50_ms'], 2)} ms  p99 {B.fmt_num(cell['p99_ms'], 2)} ms"
                                  + (f"  ERRORS {cell['errors']} {cell['error_samples'][:1]}" if cell["errors"] else ""))
                            time.sleep(0.1)
        loaded = {"mreg": mreg.memory(), "mlflow_w2": mlflow_w2.memory(), "mlflow_w1": mlflow_w1.memory()}
        ceiling = [run_cell(servers["mreg"], "ceiling", c, mode, args.duration, args.max_requests, args.client)
                   for mode in ("newconn", "keepalive") for c in (1, 8)]
        doc["client_ceiling"] = [{k: c[k] for k in ("mode", "clients", "ops_per_s", "p50_ms", "p99_ms")} for c in ceiling]
        mlflow_w2.stop()
        mlflow_w1.stop()
        mreg.stop()
        doc["cells"] = cells
        doc["summary"] = aggregate(cells)
        doc["ratios"] = ratios(doc["summary"])

        # Our cold start, alone on the machine: new database and the one the load left.
        cold = B.cold_start(binary, work, 5, existing_db=db, token=mreg.token)
        doc["servers"].append({"label": "mreg serve", "cold_start_ms": cold["existing_db_ms"],
                               "cold_start_new_db_ms": cold["new_db_ms"], "memory_idle": idle["mreg"],
                               "memory_after_load": loaded["mreg"]})
        doc["servers"].append({"label": "MLflow --workers 2, jobs off", "cold_start_ms": round(mlflow_w2.cold_start_s * 1000, 1),
                               "memory_idle": idle["mlflow_w2"], "memory_after_load": loaded["mlflow_w2"]})
        doc["servers"].append({"label": "MLflow --workers 1, jobs off", "cold_start_ms": round(mlflow_w1.cold_start_s * 1000, 1),
                               "memory_idle": idle["mlflow_w1"], "memory_after_load": loaded["mlflow_w1"]})

        # MLflow with its defaults (job execution on): cold start and memory, idle and after a short load.
        default = MlflowServer("mlflow-default", workers=2, jobs=True, work=work)
        B.log("compare: starting MLflow --workers 2 with its defaults (job execution on)…")
        try:
            default.start()
            B.log(f"compare:   first answer after {default.cold_start_s:.1f} s; letting its job runner settle 5 s")
            time.sleep(5)
            idle_default = default.memory()
            backend = MlflowBackend("mlflow_default", default.port)
            backend.setup(pool=10, search_versions=10)
            run_cell(backend, "get_by_alias", 8, "newconn", args.duration, args.max_requests, args.client)
            loaded_default = default.memory()
        finally:
            default.stop()
        doc["servers"].append({"label": "MLflow --workers 2, defaults (jobs on)", "cold_start_ms": round(default.cold_start_s * 1000, 1),
                               "memory_idle": idle_default, "memory_after_load": loaded_default})
    finally:
        for s in (locals().get("mlflow_w2"), locals().get("mlflow_w1"), locals().get("default")):
            if s is not None:
                s.stop()
        mreg.stop()

    doc["wall_s"] = round(time.perf_counter() - t0, 1)
    doc["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    text = render(doc)
    doc["table"] = text
    print(text)
    path = B.merge_results("compare", doc, Path(args.out) if args.out else None)
    print(f"\nwrote {path.relative_to(B.ROOT) if path.is_relative_to(B.ROOT) else path} ({doc['wall_s']} s)")
    mreg_errors = sum(c["errors"] for c in doc["cells"] if c["config"].startswith("mreg"))
    if mreg_errors:
        print(f"mreg answered {mreg_errors} errors in the shared workload (must be 0)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
