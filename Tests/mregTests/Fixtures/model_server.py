#!/usr/bin/env python3
"""A stand-in for a model server, for the rollout-guard tests that query a real Prometheus.

    model_server.py PORT

Listens on 127.0.0.1:PORT (0: any free port), prints the port on its first line, then serves
until it is killed:
  GET /metrics   the counters requests_total and errors_total per (model, version), in
                 Prometheus's text exposition format, for Prometheus to scrape;
  POST /control  {"model": "fraud", "version": "2", "rate": 100, "error_fraction": 0.01}
                 sets that series' requests per second and the fraction of them that fail
                 (creating the series if new); answers 204.
A thread adds rate/10 requests and error_fraction of them as errors every 100 ms. A late tick
under load lowers the rate but not the ratio, so rate(errors_total) / rate(requests_total) is
the error fraction set: what a rollout guard reads. Standard library only, for the system python3.
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
series = {}  # (model, version) -> {"rate", "error_fraction", "requests", "errors"}


def tick_forever():
    while True:
        time.sleep(0.1)
        with lock:
            for s in series.values():
                added = s["rate"] / 10
                s["requests"] += added
                s["errors"] += added * s["error_fraction"]


def label(value):
    """A label value quoted as the exposition format wants: \\, " and newline escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def exposition():
    with lock:  # one snapshot, so that both counters come from the same tick
        rows = [(model, version, s["requests"], s["errors"])
                for (model, version), s in sorted(series.items())]
    lines = []
    for column, (name, help_text) in enumerate(
            (("requests_total", "Requests served."), ("errors_total", "Requests that failed."))):
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter"]
        for model, version, *counts in rows:
            labels = f"model={label(model)},version={label(version)}"
            lines.append(f"{name}{{{labels}}} {float(counts[column])!r}")
    return ("\n".join(lines) + "\n").encode()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/metrics":
            return self.answer(404, b"not found\n")
        self.answer(200, exposition(), "text/plain; version=0.0.4; charset=utf-8")

    def do_POST(self):
        if self.path != "/control":
            return self.answer(404, b"not found\n")
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            key = (str(body["model"]), str(body["version"]))
            rate, fraction = float(body["rate"]), float(body["error_fraction"])
        except (ValueError, KeyError, TypeError) as error:
            return self.answer(400, f"bad control: {error!r}\n".encode())
        with lock:
            counters = series.setdefault(key, {"requests": 0.0, "errors": 0.0})
            counters.update(rate=rate, error_fraction=fraction)
        self.answer(204)

    def answer(self, status, body=b"", content_type="text/plain; charset=utf-8"):
        self.send_response(status)
        if status != 204:
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass  # one line per scrape would bury what matters in its stderr


server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
server.daemon_threads = True
threading.Thread(target=tick_forever, daemon=True).start()
print(server.server_address[1], flush=True)
server.serve_forever()
