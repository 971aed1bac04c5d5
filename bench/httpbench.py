#!/usr/bin/env python3
"""`make bench` (and `make bench-smoke`): mreg measured in process, over HTTP and as a CLI.

1. In process and at scale: `mreg-bench --json` (bench/mreg-bench/).
2. Over HTTP: `mreg serve` on loopback driven by wrk (2 threads, 32 connections, 15 s per
   route, several rounds): register, promote/rollback pair, resolve (with and without a
   rollout), branch GET, history. Throughput, p50/p99, errors, server RSS and CPU; cold start.
3. The WAL under sustained registrations: its size each second of a 60 s wrk run, and the
   write pauses its restarts cost.
4. The event stream and webhooks: commit-to-receipt with 1 and 200 SSE subscribers; webhook
   delivery latency and speed to a local receiver, and registrations with 10 subscriptions.
5. Whole-process CLI: hyperfine on `mreg show` and `mreg register`.

Prints a table and writes bench/results/<date>.json (section http, wal, cli, inprocess; `make
bench-compare` adds compare). `--smoke` runs a tiny version that checks the harness, not
timings, and writes bench/.work/smoke.json instead.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import benchlib as B

# Issue targets, checked (and printed) but never failing the run: timings are noisy here.
TARGETS = {
    "register_rps": 5000,
    "resolve_rps": 30000,
    "p99_ms": 5.0,
    "server_rss_mib": 64,
    "cold_start_ms": 200,
    "cli_ms": 20,
    # Through a server (--server), a request's round trip and the HTTP client's start on top.
    "cli_remote_ms": 25,
}

POOL = 500  # versions cycled by the promote/rollback pair (see bench/wrk/promote_rollback.lua)


# ---------------------------------------------------------------------------------------------
# Fixtures on our server


class Client:
    """Setup requests over one kept-alive connection (fast enough for a few thousand calls)."""

    def __init__(self, port: int, token: str):
        import http.client
        self.connection = http.client.HTTPConnection(B.LOOPBACK, port, timeout=30)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body=None, ok=(200, 201)) -> dict:
        payload = json.dumps(body).encode() if body is not None else None
        self.connection.request(method, path, body=payload, headers=self.headers)
        response = self.connection.getresponse()
        data = response.read()
        if response.status not in ok:
            raise RuntimeError(f"setup {method} {path} answered {response.status}: {data[:300]!r}")
        return json.loads(data) if data else {}

    def close(self):
        self.connection.close()


def seed(port: int, token: str, pool: int) -> dict:
    """Models the routes run against:
    bench-reg   registered into by the register route (starts empty)
    bench-regk  registered into by the register_keyed route (starts empty)
    bench-pr    `pool` versions, each promoted to release once (promote/rollback pair, history)
    bench-res   v1 on master, v2 on release and rolling out onto master (resolve with rollout,
                branch GET)
    bench-plain v1 on master, no rollout (resolve without rollout)"""
    c = Client(port, token)
    t0 = time.perf_counter()
    try:
        for i in range(1, pool + 1):
            c.call("POST", "/v1/models/bench-pr/versions", {"artifact_uri": f"s3://bench/pr/{i}"})
        for i in range(1, pool + 1):
            c.call("POST", "/v1/models/bench-pr/promote", {"to": "release", "version": i})
        for model in ("bench-res", "bench-plain"):
            c.call("POST", f"/v1/models/{model}/versions", {"artifact_uri": f"s3://bench/{model}/1"})
            c.call("POST", f"/v1/models/{model}/promote", {"to": "release"})
            c.call("POST", f"/v1/models/{model}/promote", {"to": "master"})
        c.call("POST", "/v1/models/bench-res/versions", {"artifact_uri": "s3://bench/bench-res/2"})
        c.call("POST", "/v1/models/bench-res/promote", {"to": "release"})
        c.call("POST", "/v1/models/bench-res/rollout", {"version": 2, "steps": [25, 50, 100]})
        c.call("POST", "/v1/models", {"name": "bench-reg", "description": "written by the register route"})
        c.call("POST", "/v1/models", {"name": "bench-regk", "description": "written by the register_keyed route"})
        # Sanity: resolve answers both versions across keys.
        seen = {c.call("GET", f"/v1/models/bench-res/resolve?key=user-{k}").get("version") for k in range(64)}
    finally:
        c.close()
    return {"seed_s": round(time.perf_counter() - t0, 2), "resolve_versions_seen": sorted(v for v in seen if v)}


# ---------------------------------------------------------------------------------------------
# wrk


ROUTES = [
    # name, lua script, path (for the URL), model (MREG_BENCH_MODEL), description
    ("register", "register.lua", "/v1/models/bench-reg/versions", "bench-reg",
     "POST …/versions: a new version each request"),
    ("register_keyed", "register_keyed.lua", "/v1/models/bench-regk/versions", "bench-regk",
     "POST …/versions with an Idempotency-Key each, as the CLI sends it"),
    ("promote_rollback", "promote_rollback.lua", "/v1/models/bench-pr/promote", "bench-pr",
     "POST promote / POST rollback on release, alternating"),
    ("resolve_rollout", "resolve.lua", "/v1/models/bench-res/resolve", "bench-res",
     "GET …/resolve?key=K, a new key each request, rollout at 25 %"),
    ("resolve", "resolve.lua", "/v1/models/bench-plain/resolve", "bench-plain",
     "GET …/resolve?key=K, no rollout"),
    ("branch", "get.lua", "/v1/models/bench-res/branches/master", "bench-res",
     "GET …/branches/master"),
    ("history", "get.lua", "/v1/models/bench-pr/history?limit=20", "bench-pr",
     "GET …/history?limit=20"),
]

# Not a registry route: the floor of the HTTP stack (no token, no database, a tiny JSON body),
# run once after the rounds, so the routes above can be read against it.
REFERENCE = ("healthz", "get.lua", "/healthz", "bench-res", "GET /healthz: no token, no database (the stack's floor)")

NON2XX_RE = re.compile(r"Non-2xx or 3xx responses:\s*(\d+)")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rfind(")") + 2:].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def run_wrk(server: B.MregServer, route: tuple, duration: str, threads: int, connections: int, pool: int) -> dict:
    name, script, path, model, _ = route
    env = dict(os.environ, MREG_TOKEN=server.token, MREG_BENCH_LUA=str(B.LUA), MREG_BENCH_MODEL=model,
               MREG_BENCH_POOL=str(pool), MREG_BENCH_THREADS=str(threads))
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}", "--latency", "--timeout", "5s",
            "-s", str(B.LUA / script), f"http://{B.LOOPBACK}:{server.port}{path}"]
    cpu0 = cpu_seconds(server.proc.pid)
    wall0 = time.perf_counter()
    seconds = float(duration.rstrip("s"))
    completed = subprocess.run(args, env=env, capture_output=True, text=True, timeout=seconds + 60)
    wall = time.perf_counter() - wall0
    cpu = cpu_seconds(server.proc.pid) - cpu0
    line = next((l for l in completed.stdout.splitlines() if l.startswith("WRK_JSON ")), None)
    if completed.returncode != 0 or line is None:
        raise RuntimeError(f"wrk {name} failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}")
    data = json.loads(line[len("WRK_JSON "):])
    non2xx = NON2XX_RE.search(completed.stdout)
    errors = sum(data["errors"].values())
    lat = data["latency_us"]
    memory = server.memory()
    return {
        "route": name,
        "requests": int(data["requests"]),
        "duration_s": round(data["duration_us"] / 1e6, 3),
        "rps": round(data["requests"] / (data["duration_us"] / 1e6), 1),
        "errors": data["errors"],
        "errors_total": errors,
        "non_2xx_3xx": int(non2xx.group(1)) if non2xx else 0,
        "p50_ms": lat["p50"] / 1000, "p90_ms": lat["p90"] / 1000, "p99_ms": lat["p99"] / 1000,
        "p999_ms": lat["p999"] / 1000, "max_ms": lat["max"] / 1000, "mean_ms": round(lat["mean"] / 1000, 3),
        "server_cpu_cores": round(cpu / wall, 2) if wall > 0 else None,
        "server_rss_mib_after": memory.get("rss_mib"),
    }


# ---------------------------------------------------------------------------------------------
# Parts


def part_inprocess(bin_dir: Path, quick: bool, work: Path) -> dict:
    binary = bin_dir / "mreg-bench"
    if not binary.exists():
        B.log(f"in-process: {binary} does not exist")
        return {"failed": f"{binary} does not exist (swift build --product mreg-bench)"}
    out = work / "inprocess.json"
    out.unlink(missing_ok=True)
    args = [str(binary), "--json", str(out), "--dir", str(work)] + (["--quick"] if quick else [])
    B.log(f"in-process: {' '.join(args)}")
    t0 = time.perf_counter()
    # Its progress (stderr) goes straight through; its table (stdout) is echoed and kept.
    completed = subprocess.run(args, cwd=work, timeout=1200, text=True, stdout=subprocess.PIPE)
    sys.stderr.write(completed.stdout)
    if completed.returncode != 0:
        return {"failed": f"exit {completed.returncode}", "stdout": completed.stdout[-2000:]}
    if not out.exists():
        return {"failed": f"mreg-bench exited 0 but wrote no {out.name}", "stdout": completed.stdout[-4000:]}
    try:
        data = json.loads(out.read_text())
    except (OSError, ValueError) as error:
        return {"failed": f"unreadable JSON at {out}: {error}", "stdout": completed.stdout[-2000:]}
    return {"wall_s": round(time.perf_counter() - t0, 1), "report": data, "table": completed.stdout}


def new_server(binary: Path, db: Path, log: Path) -> B.MregServer:
    """A server (not yet started) on a new database at `db`, with an admin token."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    server = B.MregServer(binary, db, log)
    server.create_token()
    return server


def part_http(bin_dir: Path, work: Path, runs: int, duration: str, threads: int, connections: int,
              routes: list[tuple], pool: int, cold_repeats: int) -> dict:
    binary = bin_dir / "mreg"
    db = work / "http.db"
    server = new_server(binary, db, work / "http-server.log")
    cold_first = server.start()
    B.log(f"http: mreg serve on port {server.port} (pid {server.proc.pid}), first answer after {cold_first*1000:.0f} ms")
    results: dict = {"wrk": {"threads": threads, "connections": connections, "duration": duration,
                             "version": B.run_text(["wrk", "--version"]).split(" [")[0] if shutil.which("wrk") else None},
                     "pool": pool, "routes": {}, "runs": []}
    try:
        results["seed"] = seed(server.port, server.token, pool)
        results["memory_after_seed"] = server.memory()
        B.log(f"http: seeded in {results['seed']['seed_s']} s; {runs} round(s) of {len(routes)} routes × {duration}")
        for round_index in range(runs):
            for route in routes:
                r = run_wrk(server, route, duration, threads, connections, pool)
                r["round"] = round_index + 1
                results["runs"].append(r)
                B.log(f"  round {round_index + 1} {r['route']:<17} {r['rps']:>10,.0f} req/s  p50 {r['p50_ms']:.2f} ms  "
                      f"p99 {r['p99_ms']:.2f} ms  errors {r['errors_total']}  server CPU {r['server_cpu_cores']} cores  "
                      f"RSS {r['server_rss_mib_after']} MiB")
        ref_duration = f"{min(5.0, float(duration.rstrip('s'))):g}s"
        results["reference"] = run_wrk(server, REFERENCE, ref_duration, threads, connections, pool)
        r = results["reference"]
        B.log(f"  reference {r['route']:<13} {r['rps']:>10,.0f} req/s  p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms  "
              f"errors {r['errors_total']}  server CPU {r['server_cpu_cores']} cores ({ref_duration})")
        results["memory_end"] = server.memory()
        results["server_vmhwm_mib"] = round((B.status_kib(server.proc.pid, "VmHWM") or 0) / 1024, 1)
        results["db_size_mib"] = round(sum(Path(f"{db}{s}").stat().st_size for s in ("", "-wal") if Path(f"{db}{s}").exists()) / 2**20, 1)
    finally:
        server.stop()
    for route in routes:
        runs_of = [r for r in results["runs"] if r["route"] == route[0]]
        results["routes"][route[0]] = {
            "description": route[4],
            "rps": B.spread([r["rps"] for r in runs_of]),
            "p50_ms": B.spread([r["p50_ms"] for r in runs_of]),
            "p99_ms": B.spread([r["p99_ms"] for r in runs_of]),
            "errors_total": sum(r["errors_total"] for r in runs_of),
            "requests_total": sum(r["requests"] for r in runs_of),
            "server_cpu_cores": B.median([r["server_cpu_cores"] for r in runs_of]),
        }
    results["cold_start"] = B.cold_start(binary, work, cold_repeats, existing_db=db, token=server.token)
    return results


def metrics(port: int) -> dict[str, float]:
    """The server's /metrics as {name: value}, for the samples without labels."""
    import urllib.request
    with urllib.request.urlopen(f"http://{B.LOOPBACK}:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    values = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and not line.startswith("#") and "{" not in parts[0]:
            values[parts[0]] = float(parts[1])
    return values


# The WAL restarts past 4096 frames (Database.BackgroundCheckpoint.restartFrames) of 4 KiB pages
# and 24-byte frame headers, checked every 500 ms and at once past twice that; the bound the file
# must stay under (README, "The database file") allows for what writes add while the
# checkpointer catches up.
WAL_RESTART_BYTES = 4096 * (4096 + 24)
WAL_BOUND_BYTES = 3 * WAL_RESTART_BYTES


def part_wal(bin_dir: Path, work: Path, seconds: int, threads: int, connections: int) -> dict:
    """The WAL under sustained registrations: its file size sampled every second of a `seconds`
    wrk run on the register route, and the write pauses the server counted for its restarts."""
    import threading
    db = work / "wal.db"
    server = new_server(bin_dir / "mreg", db, work / "wal-server.log")
    server.start()
    samples: list[int] = []
    stop = threading.Event()

    def sample():
        wal = Path(f"{db}-wal")
        while not stop.wait(1.0):
            samples.append(wal.stat().st_size if wal.exists() else 0)

    try:
        Client(server.port, server.token).call("POST", "/v1/models", {"name": "bench-reg"})
        B.log(f"wal: {seconds} s of registrations (wrk -t{threads} -c{connections}), the WAL's size sampled each second")
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            load = run_wrk(server, ROUTES[0], f"{seconds}s", threads, connections, POOL)
        finally:
            stop.set()
            sampler.join()
        counters = metrics(server.port)
    finally:
        server.stop()
    result = {
        "seconds": seconds, "threads": threads, "connections": connections,
        "register": {k: load[k] for k in ("rps", "p50_ms", "p99_ms", "p999_ms", "max_ms", "errors_total")},
        "wal_bytes_each_second": samples, "wal_bytes_max": max(samples, default=0),
        "restart_bytes": WAL_RESTART_BYTES, "bound_bytes": WAL_BOUND_BYTES,
        "write_pauses": counters.get("mreg_db_wal_write_pauses"), "wal_restarts": counters.get("mreg_db_wal_restarts"),
        "longest_pause_ms": round(counters.get("mreg_db_wal_write_pause_longest_seconds", 0) * 1000, 3),
        "paused_ms": round(counters.get("mreg_db_wal_write_paused_seconds", 0) * 1000, 3),
    }
    B.log(f"wal: max {result['wal_bytes_max'] / 2**20:.1f} MiB (bound {WAL_BOUND_BYTES / 2**20:.0f} MiB); "
          f"{result['wal_restarts']} restarts, longest pause {result['longest_pause_ms']} ms; register p99 {load['p99_ms']:.2f} ms")
    return result


def part_events(bin_dir: Path, work: Path, subscriber_counts: list[int], events: int, rate: int, runs: int) -> dict:
    """The live event stream (GET /v1/events): `subscribers` SSE connections, then `events`
    registrations at `rate` per second over one kept-alive connection; each subscriber notes,
    for every event, when it arrived against the entry's own `at` (the change's time, taken
    before its commit, on the same clock). Latency is commit-to-receipt plus the commit itself.
    Rounds alternate the subscriber counts."""
    import asyncio
    import datetime
    import threading

    parsed_at: dict[bytes, float] = {}

    def at_ms(text: bytes) -> float:
        # Every subscriber sees the same `at` of an event: parse it once.
        value = parsed_at.get(text)
        if value is None:
            moment = datetime.datetime.strptime(text.decode(), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
            value = parsed_at[text] = moment.timestamp() * 1000
        return value

    async def subscribe(port: int, token: str, model: str, ready: asyncio.Event, latencies: list, counts: list, index: int):
        reader, writer = await asyncio.open_connection(B.LOOPBACK, port)
        writer.write((f"GET /v1/events?model={model} HTTP/1.1\r\nHost: {B.LOOPBACK}\r\n"
                      f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n").encode())
        await writer.drain()
        pending = b""
        try:
            # Read what has arrived in one piece and note its time once: a line at a time, the
            # client's own parsing, not the stream, is what 200 subscribers in one process measure.
            while counts[index] < events:
                chunk = await reader.read(1 << 16)
                if not chunk:
                    break
                received = time.time() * 1000
                *lines, pending = (pending + chunk).split(b"\n")
                for line in lines:
                    if line.startswith(b"data: "):
                        start = line.find(b'"at":"') + 6
                        latencies.append(received - at_ms(line[start:line.find(b'"', start)]))
                        counts[index] += 1
                    elif not ready.is_set() and line.startswith(b": mreg events after"):
                        ready.set()
        finally:
            writer.close()

    def write_events(port: int, token: str, model: str):
        c = Client(port, token)
        interval = 1.0 / rate
        next_at = time.perf_counter()
        for n in range(events):
            c.call("POST", f"/v1/models/{model}/versions", {"artifact_uri": f"s3://bench/{model}/{n}"})
            next_at += interval
            delay = next_at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        c.close()

    async def one_round(port: int, token: str, model: str, subscribers: int) -> dict:
        latencies: list[float] = []
        counts = [0] * subscribers
        readies = [asyncio.Event() for _ in range(subscribers)]
        tasks = [asyncio.create_task(subscribe(port, token, model, readies[i], latencies, counts, i)) for i in range(subscribers)]
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), timeout=60)
        t0 = time.perf_counter()
        cpu0 = cpu_seconds(server.proc.pid)
        writer = threading.Thread(target=write_events, args=(port, token, model))
        writer.start()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=120)
        wall = time.perf_counter() - t0
        server_cpu = cpu_seconds(server.proc.pid) - cpu0
        writer.join()
        ordered = sorted(latencies)
        return {"subscribers": subscribers, "events": events, "delivered": sum(counts), "wall_s": round(wall, 2),
                "server_cpu_s": round(server_cpu, 2),
                "delivered_per_s": round(sum(counts) / wall), "p50_ms": round(B.percentile(ordered, 50), 2),
                "p99_ms": round(B.percentile(ordered, 99), 2), "max_ms": round(ordered[-1], 2)}

    server = new_server(bin_dir / "mreg", work / "events.db", work / "events-server.log")
    server.start()
    rounds: list[dict] = []
    try:
        c = Client(server.port, server.token)
        for round_index in range(runs):
            for subscribers in subscriber_counts:
                model = f"bench-ev-{round_index}-{subscribers}"
                c.call("POST", "/v1/models", {"name": model})
                r = asyncio.run(one_round(server.port, server.token, model, subscribers))
                r["round"] = round_index + 1
                rounds.append(r)
                B.log(f"  events round {round_index + 1}: {subscribers:>3} subscriber(s), {r['delivered']:,} delivered in "
                      f"{r['wall_s']} s ({r['delivered_per_s']:,}/s, server CPU {r['server_cpu_s']} s), commit-to-receipt p50 {r['p50_ms']} ms p99 {r['p99_ms']} ms "
                      f"max {r['max_ms']} ms")
        c.close()
    finally:
        server.stop()
    summary = {}
    for subscribers in subscriber_counts:
        of = [r for r in rounds if r["subscribers"] == subscribers]
        summary[str(subscribers)] = {"p50_ms": B.spread([r["p50_ms"] for r in of]), "p99_ms": B.spread([r["p99_ms"] for r in of]),
                                     "max_ms": B.spread([r["max_ms"] for r in of]),
                                     "delivered_per_s": B.spread([r["delivered_per_s"] for r in of])}
    return {"events": events, "rate_per_s": rate, "rounds": rounds, "by_subscribers": summary}


class WebhookReceiver:
    """A local webhook receiver on its own thread and event loop: answers every POST 204 at once
    and notes, per delivery, its arrival against the event's own `timestamp` (the change's `at`,
    taken before its commit, on the same clock). It does not check signatures: the tests do
    that (mregTests/WebhookTests); here it measures delivery, not Python's HMAC."""

    def __init__(self, nice: int = 0):
        import asyncio
        import threading
        self.nice = nice
        self.latencies: list[float] = []
        self.count = 0
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.ready.wait(10)

    def _run(self):
        import asyncio
        import datetime
        import threading
        asyncio.set_event_loop(self.loop)
        if self.nice:
            # Linux sets niceness per thread: this one only takes the CPU the server and wrk
            # leave, as a receiver on another machine would.
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self.nice)

        async def handle(reader, writer):
            try:
                while True:
                    head = await reader.readuntil(b"\r\n\r\n")
                    length = 0
                    for line in head.split(b"\r\n"):
                        if line.lower().startswith(b"content-length:"):
                            length = int(line.split(b":", 1)[1])
                    body = await reader.readexactly(length)
                    received = time.time() * 1000
                    start = body.find(b'"timestamp":"') + 13
                    moment = datetime.datetime.strptime(body[start:body.find(b'"', start)].decode(), "%Y-%m-%dT%H:%M:%S.%fZ")
                    self.latencies.append(received - moment.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)
                    self.count += 1
                    writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                writer.close()

        async def main():
            self.server = await asyncio.start_server(handle, B.LOOPBACK, 0)
            self.port = self.server.sockets[0].getsockname()[1]
            self.ready.set()
            await self.server.serve_forever()

        try:
            self.loop.run_until_complete(main())
        except Exception:
            pass

    def reset(self):
        self.latencies, self.count = [], 0

    def wait_for(self, count: int, timeout: float) -> float:
        """Seconds until `count` deliveries arrived (raises after `timeout`)."""
        t0 = time.perf_counter()
        while self.count < count:
            if time.perf_counter() - t0 > timeout:
                raise RuntimeError(f"the webhook receiver got {self.count} of {count} deliveries in {timeout} s")
            time.sleep(0.002)
        return time.perf_counter() - t0

    def stop(self):
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)


def part_webhooks(bin_dir: Path, work: Path, events: int, rate: int, backlog: int, runs: int, duration: str,
                  threads: int, connections: int, receiver_nice: int = 0) -> dict:
    """Webhook delivery (docs/EVENTS.md section 5), against a local receiver:
    - latency: one subscription; `events` registrations at `rate` per second over one kept-alive
      connection; commit-to-receipt of each delivery;
    - speed: a disabled subscription with `backlog` events waiting is enabled; deliveries per
      second until the receiver has them all (one subscription is one delivery at a time);
    - cost to writers: wrk on the register route for `duration` with no subscription, with 10 on
      `branch.*` (woken by every commit, sending nothing), and with 10 on `version.register`
      (every registration sent 10 times), alternating, `runs` rounds.
    With `receiver_nice`, the receiver's thread runs at that niceness."""
    receiver = WebhookReceiver(receiver_nice)
    server = B.MregServer(bin_dir / "mreg", work / "webhooks.db", work / "webhooks-server.log",
                          extra_args=["--allow-private-webhooks"])
    for suffix in ("", "-wal", "-shm", ".secrets-key"):
        Path(f"{work / 'webhooks.db'}{suffix}").unlink(missing_ok=True)
    server.create_token()
    server.start()
    url = f"http://{B.LOOPBACK}:{receiver.port}/hook"
    result: dict = {"events": events, "rate_per_s": rate, "backlog": backlog, "receiver_nice": receiver_nice, "rounds": [],
                    "writers": []}
    try:
        c = Client(server.port, server.token)

        def subscribe(events_filter: str, model: str | None = None) -> str:
            body = {"url": url, "events": events_filter}
            if model:
                body["model"] = model
            return c.call("POST", "/v1/webhooks", body)["webhook"]["id"]

        for round_index in range(runs):
            model = f"bench-wh-{round_index}"
            c.call("POST", "/v1/models", {"name": model})
            hook = subscribe("version.register", model)
            time.sleep(0.5)  # the new subscription reaches the delivering side asynchronously
            receiver.reset()
            interval, next_at = 1.0 / rate, time.perf_counter()
            for n in range(events):
                c.call("POST", f"/v1/models/{model}/versions", {"artifact_uri": f"s3://bench/{model}/{n}"})
                next_at += interval
                if (delay := next_at - time.perf_counter()) > 0:
                    time.sleep(delay)
            receiver.wait_for(events, 120)
            ordered = sorted(receiver.latencies)
            # The backlog: disabled, `backlog` registrations wait in the log, then enabled.
            c.call("POST", f"/v1/webhooks/{hook}/disable")
            time.sleep(0.5)  # as does the disable (an attempt in flight finishes first)
            for n in range(backlog):
                c.call("POST", f"/v1/models/{model}/versions", {"artifact_uri": f"s3://bench/{model}/b{n}"})
            receiver.reset()
            c.call("POST", f"/v1/webhooks/{hook}/enable")
            seconds = receiver.wait_for(backlog, 300)
            c.call("DELETE", f"/v1/webhooks/{hook}")
            r = {"round": round_index + 1, "p50_ms": round(B.percentile(ordered, 50), 2), "p99_ms": round(B.percentile(ordered, 99), 2),
                 "max_ms": round(ordered[-1], 2), "backlog_per_s": round(backlog / seconds)}
            result["rounds"].append(r)
            B.log(f"  webhooks round {round_index + 1}: commit-to-receipt p50 {r['p50_ms']} ms p99 {r['p99_ms']} ms max {r['max_ms']} ms; "
                  f"a backlog of {backlog:,} delivered at {r['backlog_per_s']:,}/s")

        route = ROUTES[0]
        for round_index in range(runs):
            for setup in ("none", "10 on branch.*", "10 on version.register"):
                hooks = []
                if setup != "none":
                    hooks = [subscribe(setup.split(" on ")[1]) for _ in range(10)]
                    time.sleep(0.5)
                receiver.reset()
                load = run_wrk(server, route, duration, threads, connections, POOL)
                entry = {"round": round_index + 1, "subscriptions": setup, "rps": load["rps"], "p99_ms": load["p99_ms"],
                         "errors": load["errors_total"] + load["non_2xx_3xx"], "server_cpu_cores": load["server_cpu_cores"]}
                catch_up = ""
                if setup == "10 on version.register":
                    # Deliveries yield the CPU to requests: how far they were behind when the
                    # load stopped, and how long they took to catch up.
                    expected = 10 * load["requests"]
                    entry["delivered_during_run"] = round(receiver.count / expected, 3)
                    entry["catch_up_s"] = round(receiver.wait_for(expected, 600), 2)
                    catch_up = f"; {entry['delivered_during_run']:.0%} delivered during the run, the rest {entry['catch_up_s']} s after"
                for hook in hooks:
                    c.call("DELETE", f"/v1/webhooks/{hook}")
                result["writers"].append(entry)
                B.log(f"  webhooks writers round {round_index + 1}, {setup}: register {load['rps']:,.0f}/s p99 {load['p99_ms']:.2f} ms{catch_up}")
        c.close()
    finally:
        server.stop()
        receiver.stop()
    result["summary"] = {
        "p50_ms": B.spread([r["p50_ms"] for r in result["rounds"]]), "p99_ms": B.spread([r["p99_ms"] for r in result["rounds"]]),
        "backlog_per_s": B.spread([r["backlog_per_s"] for r in result["rounds"]]),
        "register_rps": {setup: B.spread([w["rps"] for w in result["writers"] if w["subscriptions"] == setup])
                         for setup in ("none", "10 on branch.*", "10 on version.register")},
        "catch_up_s": B.spread([w["catch_up_s"] for w in result["writers"] if "catch_up_s" in w]),
        "delivered_during_run": B.spread([w["delivered_during_run"] for w in result["writers"] if "delivered_during_run" in w]),
    }
    return result


def part_cli(bin_dir: Path, work: Path, warmup: int, runs: int) -> dict:
    if not shutil.which("hyperfine"):
        return {"skipped": "hyperfine is not installed (scripts/install-deps.sh hyperfine)"}
    binary = bin_dir / "mreg"
    db = work / "cli.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    subprocess.run([str(binary), "register", "bench-cli", "--artifact", "s3://bench/cli/1", "--db", str(db),
                    "--actor", "bench"], check=True, capture_output=True, timeout=60)
    # Remote mode: the same commands through `mreg serve` on a database of its own.
    remote_db = work / "cli-remote.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{remote_db}{suffix}").unlink(missing_ok=True)
    server = B.MregServer(binary, remote_db, work / "cli-server.log")
    server.create_token()
    server.start()
    try:
        url = f"http://{B.LOOPBACK}:{server.port}"
        subprocess.run([str(binary), "register", "bench-cli", "--artifact", "s3://bench/cli/1", "--server", url,
                        "--token", server.token], check=True, capture_output=True, timeout=60)
        q = shlex.quote
        remote = f"--server {q(url)} --token {q(server.token)}"
        commands = {
            "show": f"{q(str(binary))} show bench-cli 1 --db {q(str(db))}",
            "register": f"{q(str(binary))} register bench-cli --artifact s3://bench/cli/n --db {q(str(db))} --actor bench",
            "remote show": f"{q(str(binary))} show bench-cli 1 {remote}",
            "remote register": f"{q(str(binary))} register bench-cli --artifact s3://bench/cli/n {remote}",
        }
        out = work / "hyperfine.json"
        args = ["hyperfine", "-N", "--warmup", str(warmup), "--runs", str(runs), "--export-json", str(out), "--style", "basic"]
        for name, command in commands.items():
            args += ["-n", name, command]
        B.log(f"cli: hyperfine --warmup {warmup} --runs {runs}: mreg show, mreg register, on the file and through a server")
        completed = subprocess.run(args, capture_output=True, text=True, timeout=600)
    finally:
        server.stop()
    if completed.returncode != 0:
        raise RuntimeError(f"hyperfine failed:\n{completed.stdout}\n{completed.stderr}")
    data = json.loads(out.read_text())
    result = {"warmup": warmup, "runs": runs, "hyperfine": B.run_text(["hyperfine", "--version"]), "commands": {}}
    for entry in data["results"]:
        times = sorted(entry["times"])
        result["commands"][entry["command"]] = {
            "median_ms": round(entry["median"] * 1000, 2),
            "mean_ms": round(entry["mean"] * 1000, 2),
            "stddev_ms": round((entry.get("stddev") or 0) * 1000, 2),
            "min_ms": round(entry["min"] * 1000, 2),
            "p90_ms": round(B.percentile(times, 90) * 1000, 2),
            "max_ms": round(entry["max"] * 1000, 2),
            "user_ms": round(entry["user"] * 1000, 2),
            "system_ms": round(entry["system"] * 1000, 2),
        }
    return result


# ---------------------------------------------------------------------------------------------
# Report


def ok_mark(ok: bool | None) -> str:
    return "-" if ok is None else ("met" if ok else "MISSED")


def report(doc: dict) -> tuple[str, list[dict]]:
    lines, checks = [], []
    m = doc["machine"]
    lines.append(f"mreg bench — {doc['started_at']} — commit {str(doc['git']['commit'])[:12]}"
                 f"{' (dirty tree)' if doc['git']['dirty'] else ''}")
    lines.append(f"machine: {m['cores']} cores ({m['cpu_model']}), {m['mem_total_mib']:.0f} MiB; "
                 f"load at start {m['load_average']}")
    http = doc.get("http")
    if http and "routes" in http:
        w = http["wrk"]
        lines.append("")
        lines.append(f"Over HTTP: wrk -t{w['threads']} -c{w['connections']} -d{w['duration']}, "
                     f"{len(http['runs']) // max(1, len(http['routes']))} round(s); median of rounds [min–max]")
        rows = []
        for name, r in http["routes"].items():
            rps = r["rps"]
            rows.append([name, f"{B.fmt_num(rps['median'])}", f"[{B.fmt_num(rps['min'])}–{B.fmt_num(rps['max'])}]",
                         B.fmt_num(r["p50_ms"]["median"], 2), B.fmt_num(r["p99_ms"]["median"], 2),
                         f"[{B.fmt_num(r['p99_ms']['min'], 2)}–{B.fmt_num(r['p99_ms']['max'], 2)}]",
                         str(r["errors_total"]), B.fmt_num(r["server_cpu_cores"], 2)])
        lines.append(B.table(["route", "req/s", "range", "p50 ms", "p99 ms", "p99 range", "errors", "server cores"], rows))
        ref = http.get("reference")
        if ref:
            lines.append(f"reference, once: GET /healthz (no token, no database) {B.fmt_num(ref['rps'])} req/s, "
                         f"p50 {B.fmt_num(ref['p50_ms'], 2)} ms, p99 {B.fmt_num(ref['p99_ms'], 2)} ms, "
                         f"server {B.fmt_num(ref['server_cpu_cores'], 2)} cores")
        mem = http.get("memory_end", {})
        lines.append(f"server RSS at the end: {mem.get('rss_mib')} MiB (peak VmHWM {http.get('server_vmhwm_mib')} MiB, "
                     f"PSS {mem.get('pss_mib')} MiB); database {http.get('db_size_mib')} MiB")
        cs = http["cold_start"]
        lines.append(f"cold start to first API answer: new db {B.fmt_num(cs['new_db_ms']['median'], 1)} ms "
                     f"[{B.fmt_num(cs['new_db_ms']['min'], 1)}–{B.fmt_num(cs['new_db_ms']['max'], 1)}], "
                     f"existing db {B.fmt_num(cs['existing_db_ms']['median'], 1)} ms "
                     f"[{B.fmt_num(cs['existing_db_ms']['min'], 1)}–{B.fmt_num(cs['existing_db_ms']['max'], 1)}]")
        routes = http["routes"]
        if "register" in routes:
            checks.append({"target": "register ≥ 5,000 req/s", "value": routes["register"]["rps"]["median"],
                           "ok": routes["register"]["rps"]["median"] >= TARGETS["register_rps"]})
        for key in ("resolve", "resolve_rollout"):
            if key in routes:
                checks.append({"target": f"{key} ≥ 30,000 req/s", "value": routes[key]["rps"]["median"],
                               "ok": routes[key]["rps"]["median"] >= TARGETS["resolve_rps"]})
        for key in ("register", "resolve", "resolve_rollout"):
            if key in routes:
                checks.append({"target": f"{key} p99 ≤ 5 ms", "value": routes[key]["p99_ms"]["median"],
                               "ok": routes[key]["p99_ms"]["median"] <= TARGETS["p99_ms"]})
        peak = max([mem.get("rss_mib") or 0] + [r["server_rss_mib_after"] or 0 for r in http["runs"]])
        checks.append({"target": "server RSS ≤ 64 MiB under load", "value": peak, "ok": peak <= TARGETS["server_rss_mib"]})
        checks.append({"target": "cold start ≤ 200 ms (existing db)", "value": cs["existing_db_ms"]["median"],
                       "ok": cs["existing_db_ms"]["median"] <= TARGETS["cold_start_ms"]})
        checks.append({"target": "cold start ≤ 200 ms (new db)", "value": cs["new_db_ms"]["median"],
                       "ok": cs["new_db_ms"]["median"] <= TARGETS["cold_start_ms"]})
        checks.append({"target": "HTTP errors = 0", "value": sum(r["errors_total"] for r in routes.values()),
                       "ok": all(r["errors_total"] == 0 for r in routes.values())})
    wal = doc.get("wal")
    if wal:
        lines.append("")
        lines.append(f"WAL under {wal['seconds']} s of registrations (wrk -t{wal['threads']} -c{wal['connections']}): "
                     f"{B.fmt_num(wal['register']['rps'])} req/s, p99 {B.fmt_num(wal['register']['p99_ms'], 2)} ms, "
                     f"max {B.fmt_num(wal['register']['max_ms'], 2)} ms")
        lines.append(f"  WAL file MiB each second: {' '.join(f'{b / 2**20:.1f}' for b in wal['wal_bytes_each_second'])}")
        lines.append(f"  {B.fmt_num(wal['wal_restarts'])} restarts; writes paused {B.fmt_num(wal['write_pauses'])} times, "
                     f"{B.fmt_num(wal['paused_ms'], 1)} ms in all, longest {B.fmt_num(wal['longest_pause_ms'], 2)} ms")
        checks.append({"target": f"WAL ≤ {wal['bound_bytes'] / 2**20:.0f} MiB under sustained writes (MiB)",
                       "value": wal["wal_bytes_max"] / 2**20, "ok": wal["wal_bytes_max"] <= wal["bound_bytes"]})
    events = doc.get("events")
    if events:
        lines.append("")
        lines.append(f"Event stream (GET /v1/events): {events['events']} registrations at {events['rate_per_s']}/s, "
                     "commit-to-receipt at each subscriber (median of rounds, [min–max])")
        rows = []
        for subscribers, e in events["by_subscribers"].items():
            rows.append([subscribers, B.fmt_num(e["delivered_per_s"]["median"]), B.fmt_num(e["p50_ms"]["median"], 2),
                         B.fmt_num(e["p99_ms"]["median"], 2), f"{B.fmt_num(e['p99_ms']['min'], 2)}–{B.fmt_num(e['p99_ms']['max'], 2)}",
                         B.fmt_num(e["max_ms"]["median"], 2)])
        lines.append(B.table(["subscribers", "delivered/s", "p50 ms", "p99 ms", "p99 range", "max ms"], rows))
        wide = events["by_subscribers"].get("200")
        if wide:
            checks.append({"target": "events p99 commit-to-receipt ≤ 50 ms at 200 subscribers", "value": wide["p99_ms"]["median"],
                           "ok": wide["p99_ms"]["median"] <= 50})
    hooks = doc.get("webhooks")
    if hooks:
        summary = hooks["summary"]
        lines.append("")
        lines.append(f"Webhooks, to a local receiver (median of rounds, [min–max]): {hooks['events']} registrations at "
                     f"{hooks['rate_per_s']}/s, commit-to-receipt p50 {B.fmt_num(summary['p50_ms']['median'], 2)} ms, "
                     f"p99 {B.fmt_num(summary['p99_ms']['median'], 2)} ms [{B.fmt_num(summary['p99_ms']['min'], 2)}–"
                     f"{B.fmt_num(summary['p99_ms']['max'], 2)}]; a backlog of {hooks['backlog']:,} delivered at "
                     f"{B.fmt_num(summary['backlog_per_s']['median'])}/s to one subscription"
                     + (f"; the receiver at nice {hooks['receiver_nice']}" if hooks.get("receiver_nice") else ""))
        rows = [[setup, B.fmt_num(spread["median"]), f"{B.fmt_num(spread['min'])}–{B.fmt_num(spread['max'])}"]
                for setup, spread in summary["register_rps"].items()]
        lines.append(B.table(["webhook subscriptions", "register/s", "range"], rows))
        base = summary["register_rps"]["none"]["median"]
        for setup in ("10 on branch.*", "10 on version.register"):
            value = summary["register_rps"][setup]["median"]
            checks.append({"target": f"register/s with {setup} within 10 % of none", "value": value,
                           "ok": base > 0 and value >= 0.9 * base})
    cli = doc.get("cli")
    if cli and "commands" in cli:
        lines.append("")
        lines.append(f"Whole-process CLI: hyperfine -N --warmup {cli['warmup']} --runs {cli['runs']}")
        rows = [[name, B.fmt_num(c["median_ms"], 2), B.fmt_num(c["min_ms"], 2), B.fmt_num(c["p90_ms"], 2),
                 B.fmt_num(c["max_ms"], 2)] for name, c in cli["commands"].items()]
        lines.append(B.table(["mreg", "median ms", "min ms", "p90 ms", "max ms"], rows))
        for name, c in cli["commands"].items():
            limit = TARGETS["cli_remote_ms"] if name.startswith("remote") else TARGETS["cli_ms"]
            checks.append({"target": f"mreg {name} ≤ {limit} ms", "value": c["median_ms"], "ok": c["median_ms"] <= limit})
    elif cli:
        lines.append(f"\nWhole-process CLI: {cli.get('skipped') or cli}")
    inproc = doc.get("inprocess")
    if inproc is not None:
        lines.append("")
        if "report" in inproc:
            lines.append(f"In process (mreg-bench, {inproc['wall_s']} s): see its table above and the 'inprocess' section of the JSON")
        else:
            lines.append(f"In process (mreg-bench): {inproc.get('failed')}")
    if doc.get("kind") == "smoke":
        lines.append("")
        lines.append("(smoke run: about a second per part; the timings mean nothing and no target is checked)")
        checks = [c for c in checks if c["target"] == "HTTP errors = 0"]
    elif checks:
        lines.append("")
        lines.append("Targets (informational; timings on 2 shared cores are noisy):")
        lines.append(B.table(["target", "measured", "status"],
                             [[c["target"], B.fmt_num(c["value"], 1), ok_mark(c["ok"])] for c in checks]))
    return "\n".join(lines), checks


# ---------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin-dir", default=str(B.ROOT / ".build" / "release"))
    parser.add_argument("--smoke", action="store_true", help="a tiny run that checks the harness, not timings")
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", 2)), help="rounds of the HTTP routes")
    parser.add_argument("--duration", default=os.environ.get("BENCH_DURATION", "15s"), help="wrk -d per route and round")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--only", default="inprocess,http,wal,events,webhooks,cli,client", help="comma-separated parts to run")
    parser.add_argument("--webhook-receiver-nice", type=int, default=0,
                        help="run the webhook receiver's thread at this niceness (19: as if on another machine)")
    parser.add_argument("--wal-seconds", type=int, default=60, help="length of the sustained load the WAL is sampled under")
    parser.add_argument("--out", help="results file (default bench/results/<date>.json; smoke: bench/.work/smoke.json)")
    args = parser.parse_args()

    bin_dir = Path(args.bin_dir).resolve()
    if not (bin_dir / "mreg").exists():
        B.log(f"{bin_dir / 'mreg'} does not exist: build it first (make release)")
        return 2
    if not shutil.which("wrk") and "http" in args.only:
        B.log("wrk is not installed: scripts/install-deps.sh wrk hyperfine")
        return 2
    parts = set(args.only.split(","))
    work = B.WORK / ("smoke" if args.smoke else "bench")
    work.mkdir(parents=True, exist_ok=True)
    doc = {"kind": "smoke" if args.smoke else "bench", "started_at": B.now_iso(), "machine": B.machine_info(),
           "git": B.git_info(), "binary": str(bin_dir.relative_to(B.ROOT) if bin_dir.is_relative_to(B.ROOT) else bin_dir)}
    t0 = time.perf_counter()

    if args.smoke:
        runs, duration, routes, pool, cold, warmup, cli_runs = 1, "1s", [r for r in ROUTES if r[0] in ("register", "resolve_rollout")], 100, 1, 1, 3
    else:
        runs, duration, routes, pool, cold, warmup, cli_runs = args.runs, args.duration, ROUTES, POOL, 5, 5, 50

    if "inprocess" in parts:
        doc["inprocess"] = part_inprocess(bin_dir, quick=args.smoke, work=work)
    if "http" in parts:
        doc["http"] = part_http(bin_dir, work, runs, duration, args.threads, args.connections, routes, pool, cold)
    if "wal" in parts:
        doc["wal"] = part_wal(bin_dir, work, 2 if args.smoke else args.wal_seconds, args.threads, args.connections)
    if "events" in parts:
        doc["events"] = part_events(bin_dir, work, [1, 200] if not args.smoke else [1, 3], 50 if args.smoke else 1000,
                                    500 if args.smoke else 200, 1 if args.smoke else 3)
    if "webhooks" in parts:
        doc["webhooks"] = part_webhooks(bin_dir, work, 20 if args.smoke else 1000, 500 if args.smoke else 200,
                                        50 if args.smoke else 5000, 1 if args.smoke else 3, duration, args.threads, args.connections,
                                        args.webhook_receiver_nice)
    if "cli" in parts:
        doc["cli"] = part_cli(bin_dir, work, warmup, cli_runs)
    if args.smoke and "client" in parts:
        doc["client"] = smoke_client(bin_dir, work)
    doc["wall_s"] = round(time.perf_counter() - t0, 1)
    doc["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]

    text, checks = report(doc)
    doc["targets"] = checks
    print(text)
    if args.smoke:
        out = Path(args.out) if args.out else work / "smoke.json"
        out.write_text(json.dumps(doc, indent=2) + "\n")
        problems = smoke_problems(doc)
        for p in problems:
            print(f"bench-smoke: {p}")
        print(f"bench-smoke: {'FAILED' if problems else 'OK'} in {doc['wall_s']} s (results in {out.relative_to(B.ROOT)})")
        return 1 if problems else 0
    path = Path(args.out) if args.out else B.results_path()
    for section in ("inprocess", "http", "wal", "events", "webhooks", "cli"):
        if section in doc:
            B.merge_results(section, {**doc[section], "machine": doc["machine"], "git": doc["git"],
                                      "started_at": doc["started_at"]}, path)
    B.merge_results("bench_targets", {"checks": checks, "machine": doc["machine"], "git": doc["git"],
                                      "wall_s": doc["wall_s"]}, path)
    print(f"\nwrote {path.relative_to(B.ROOT) if path.is_relative_to(B.ROOT) else path} ({doc['wall_s']} s)")
    http_errors = sum(r["errors_total"] for r in doc.get("http", {}).get("routes", {}).values())
    if http_errors:
        print(f"HTTP errors: {http_errors} (must be 0): the figures above are not valid")
        return 1
    return 0


def smoke_client(bin_dir: Path, work: Path) -> dict:
    """Both clients of `make bench-compare` (wrk and Python), briefly against mreg only."""
    import compare
    server = B.MregServer(bin_dir / "mreg", work / "client.db", work / "client-server.log")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{server.db}{suffix}").unlink(missing_ok=True)
    server.create_token()
    server.start()
    try:
        backend = compare.MregBackend(server)
        backend.setup(pool=20, search_versions=10)
        cells = []
        for client in compare.CLIENTS:
            for op in compare.OPS:
                for mode in ("newconn", "keepalive"):
                    cells.append(compare.run_cell(backend, op, clients=2, mode=mode, duration=0.3, max_requests=200,
                                                  client=client))
        return {"cells": cells}
    finally:
        server.stop()


def smoke_problems(doc: dict) -> list[str]:
    problems = []
    inproc = doc.get("inprocess", {})
    if "failed" in inproc:
        problems.append(f"mreg-bench --quick failed: {inproc['failed']}")
    http = doc.get("http", {})
    for r in http.get("runs", []) + ([http["reference"]] if "reference" in http else []):
        if r["requests"] <= 0:
            problems.append(f"wrk {r['route']}: no request completed")
        if r["errors_total"] or r["non_2xx_3xx"]:
            problems.append(f"wrk {r['route']}: {r['errors_total']} errors ({r['errors']})")
    wal = doc.get("wal")
    if wal is not None and (not wal["wal_bytes_each_second"] or wal["register"]["errors_total"] or wal["write_pauses"] is None):
        problems.append(f"wal: no samples, errors, or no pause counters in /metrics: {wal}")
    hooks = doc.get("webhooks")
    if hooks is not None and (not hooks["rounds"] or any(w["errors"] or w["rps"] <= 0 for w in hooks["writers"])):
        problems.append(f"webhooks: no round, or errors while registering: {hooks}")
    cli = doc.get("cli")
    if cli is not None and ("commands" not in cli or set(cli["commands"]) != {"show", "register", "remote show", "remote register"}):
        problems.append(f"hyperfine: {cli}")
    for cell in doc.get("client", {}).get("cells", []):
        if cell["requests_ok"] <= 0 or cell["errors"]:
            problems.append(f"load client {cell['client']} {cell['op']} {cell['mode']}: {cell['requests_ok']} ok, {cell['errors']} errors "
                            f"{cell['error_samples']}")
    return problems


if __name__ == "__main__":
    sys.exit(main())
