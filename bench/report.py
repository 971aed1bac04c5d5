#!/usr/bin/env python3
"""Prints the Markdown tables of BENCHMARKS.md from a results file.

    python3 bench/report.py [bench/results/<date>.json]     (default: the newest)

Paste its output into BENCHMARKS.md's "Latest results" after a re-measurement.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import benchlib as B
from compare import CONFIGS, OP_LABELS, OPS


def n(value, digits=0):
    return B.fmt_num(value, digits)


def rng(s: dict, digits=0) -> str:
    return f"{n(s['median'], digits)} ({n(s['min'], digits)}–{n(s['max'], digits)})"


def machine_line(doc: dict, section: dict) -> str:
    m = section.get("machine") or doc.get("machine") or {}
    git = section.get("git") or doc.get("git") or {}
    return (f"{section.get('started_at', doc.get('date'))}, commit `{str(git.get('commit'))[:12]}`"
            f"{' + uncommitted changes' if git.get('dirty') else ''}; {m.get('cores')} cores ({m.get('cpu_model')}), "
            f"{n(m.get('mem_total_mib'))} MiB; load average at start {m.get('load_average')}, "
            f"at end {m.get('load_average_end')}")


def http_tables(doc: dict) -> list[str]:
    http = doc.get("http")
    if not http or "routes" not in http:
        return []
    out = [f"**Over HTTP** — {machine_line(doc, http)}.", "",
           f"{http['wrk']['version'] or 'wrk'}: `-t{http['wrk']['threads']} -c{http['wrk']['connections']} "
           f"-d{http['wrk']['duration']} --latency`, {len(http['runs']) // len(http['routes'])} rounds; "
           "median of the rounds (min–max).", ""]
    rows = []
    for name, r in http["routes"].items():
        rows.append([f"`{name}`", r["description"], rng(r["rps"]), rng(r["p50_ms"], 2), rng(r["p99_ms"], 2),
                     str(r["errors_total"]), n(r["server_cpu_cores"], 2)])
    out.append(B.markdown_table(["route", "request", "req/s", "p50 ms", "p99 ms", "errors", "server CPU (cores)"], rows, left=2))
    ref = http.get("reference")
    if ref:
        out += ["", f"Reference, run once for {ref['duration_s']:.0f} s: `GET /healthz` (no token, no database, the HTTP "
                    f"stack's floor) {n(ref['rps'])} req/s, p50 {n(ref['p50_ms'], 2)} ms, p99 {n(ref['p99_ms'], 2)} ms, "
                    f"server CPU {n(ref['server_cpu_cores'], 2)} cores, {ref['errors_total']} errors."]
    mem, cs = http.get("memory_end", {}), http["cold_start"]
    out += ["", f"Server memory at the end of the load: RSS {mem.get('rss_mib')} MiB (peak {http.get('server_vmhwm_mib')} MiB, "
                f"PSS {mem.get('pss_mib')} MiB); database {http.get('db_size_mib')} MiB. "
                f"Cold start (process start → first 200 of `GET /v1/models`, 5 starts): existing database "
                f"{rng(cs['existing_db_ms'], 1)} ms, new database {rng(cs['new_db_ms'], 1)} ms."]
    return out


def cli_tables(doc: dict) -> list[str]:
    cli = doc.get("cli")
    if not cli or "commands" not in cli:
        return []
    rows = [[f"`mreg {k}`", n(c["median_ms"], 1), n(c["min_ms"], 1), n(c["p90_ms"], 1), n(c["max_ms"], 1),
             n(c["user_ms"], 1), n(c["system_ms"], 1)] for k, c in cli["commands"].items()]
    return [f"**Whole-process CLI** — {cli['hyperfine']}, `-N --warmup {cli['warmup']} --runs {cli['runs']}`, "
            f"same run as above.", "",
            B.markdown_table(["command", "median ms", "min", "p90", "max", "user ms", "system ms"], rows)]


def inprocess_tables(doc: dict) -> list[str]:
    inproc = doc.get("inprocess")
    if not inproc:
        return []
    if "table" not in inproc:
        return [f"**In process**: {inproc.get('skipped') or inproc.get('failed')}"]
    return [f"**In process and at scale** (`mreg-bench`, bench/mreg-bench/) — {machine_line(doc, inproc)}:", "", "```",
            inproc["table"].rstrip(), "```"]


def compare_tables(doc: dict) -> list[str]:
    c = doc.get("compare")
    if not c:
        return []
    out = [f"**Side by side with MLflow {c['mlflow_version']}** — {machine_line(doc, c)}.", "",
           f"Client: {c.get('client', 'bench/loadclient.py')}. {c['rounds']} rounds × {c['duration_s']} s per cell, the "
           "servers alternating cell by cell; ops/s, median of the rounds (min–max). Ratios are of the medians.", ""]
    rows = []
    for op in OPS:
        for clients in ("1", "8"):
            configs = c["summary"][op][clients]
            r = c["ratios"][op][clients]
            row = [OP_LABELS[op], clients]
            for key, _, _, _ in CONFIGS:
                row.append(rng(configs[key]["ops_per_s"]) + (f" **{configs[key]['errors']} errors**" if configs[key]["errors"] else ""))
            row += [f"{r['newconn']}×", f"{r['keepalive']}×", f"**{r['best_vs_best']}×**"]
            rows.append(row)
    out.append(B.markdown_table(["operation", "clients"] + [x[3] for x in CONFIGS]
                                + ["ratio, new conn", "ratio, keep-alive", "best / best"], rows))
    rows = []
    for op in OPS:
        for clients in ("1", "8"):
            configs = c["summary"][op][clients]
            rows.append([OP_LABELS[op], clients] + [f"{n(configs[k]['p50_ms']['median'], 2)} / {n(configs[k]['p99_ms']['median'], 2)}"
                                                    for k, _, _, _ in CONFIGS])
    out += ["", "Latency p50 / p99 in ms (median of the rounds):", "",
            B.markdown_table(["operation", "clients"] + [x[3] for x in CONFIGS], rows)]
    if c.get("client_ceiling"):
        out += ["", "The client's own ceiling (same client, mreg's `GET /healthz`, no database): "
                + ", ".join(f"{x['mode']} × {x['clients']}: {n(x['ops_per_s'])} ops/s" for x in c["client_ceiling"]) + "."]
    rows = []
    for s in c["servers"]:
        cold = s["cold_start_ms"]
        cold_text = rng(cold, 1) if isinstance(cold, dict) else n(cold, 1)
        if "cold_start_new_db_ms" in s:
            cold_text += f"; new db {rng(s['cold_start_new_db_ms'], 1)}"
        idle, loaded = s.get("memory_idle", {}), s.get("memory_after_load", {})
        rows.append([s["label"], cold_text, str(idle.get("processes", "-")), n(idle.get("rss_mib"), 1), n(idle.get("pss_mib"), 1),
                     n(loaded.get("rss_mib"), 1), n(loaded.get("pss_mib"), 1)])
    out += ["", "Cold start (process start → first 200 of a cheap API call) and memory of the whole process tree (MiB):", "",
            B.markdown_table(["server", "cold start ms", "processes", "RSS idle", "PSS idle", "RSS after load", "PSS after load"], rows)]
    return out


def main() -> int:
    if len(sys.argv) > 1:
        path = Path(sys.argv[1])
    else:
        files = sorted(p for p in B.RESULTS.glob("*.json"))
        if not files:
            print("no results in bench/results/", file=sys.stderr)
            return 1
        path = files[-1]
    doc = json.loads(path.read_text())
    blocks = [inprocess_tables(doc), http_tables(doc), cli_tables(doc), compare_tables(doc)]
    print("\n\n".join("\n".join(b) for b in blocks if b))
    return 0


if __name__ == "__main__":
    sys.exit(main())
