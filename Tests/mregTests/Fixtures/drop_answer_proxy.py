#!/usr/bin/env python3
"""An HTTP/1.1 proxy that loses one answer on the way back, or fails one request as a gateway.

    drop_answer_proxy.py UPSTREAM_PORT 'POST /v1/models/fraud/versions' LOG_FILE [close|reset|gateway]

It forwards every request to 127.0.0.1:UPSTREAM_PORT and reads the whole answer. For the
first request whose request line starts with the given prefix it then, by mode:
  close    closes the client's connection without sending that answer (the default): the
           server has done the work, the client never hears of it;
  reset    the same, with a TCP reset instead of an orderly close;
  gateway  does not forward it at all and answers 503 in plain text, as a load balancer does
           when no server is ready.
It prints the port it listens on, then writes one JSON line per request to LOG_FILE: its
request line, its Idempotency-Key, the status the client was meant to get, whether the answer
was a replay, whether it was lost and whether it was forwarded.
"""
import json
import socket
import struct
import sys
import threading

upstream_port = int(sys.argv[1])
drop_prefix = sys.argv[2].encode()
log_path = sys.argv[3]
mode = sys.argv[4] if len(sys.argv) > 4 else "close"
lock = threading.Lock()
dropped = False


def read_message(sock, buffer):
    """One HTTP message (head and Content-Length body) from sock; returns (message, rest, head) or (None, …) at EOF."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            return None, buffer, None
        buffer += chunk
    head, _, rest = buffer.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return None, b"", None
        rest += chunk
    return head + b"\r\n\r\n" + rest[:length], rest[length:], head


def header(head, name):
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip().decode()
    return None


def serve(client):
    global dropped
    buffer = b""
    upstream = socket.create_connection(("127.0.0.1", upstream_port))
    upstream_buffer = b""
    try:
        while True:
            request, buffer, request_head = read_message(client, buffer)
            if request is None:
                return
            request_line = request_head.split(b"\r\n")[0]
            with lock:
                hit = not dropped and request_line.startswith(drop_prefix)
                dropped = dropped or hit
            forwarded = not (hit and mode == "gateway")
            if forwarded:
                upstream.sendall(request)
                answer, upstream_buffer, answer_head = read_message(upstream, upstream_buffer)
                if answer is None:
                    return
            else:
                body = b"no server is available"
                answer_head = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: %d" % len(body)
                answer = answer_head + b"\r\n\r\n" + body
            lost = hit and mode in ("close", "reset")
            with lock:
                with open(log_path, "a") as log:
                    log.write(json.dumps({
                        "request": request_line.decode(),
                        "idempotency_key": header(request_head, b"idempotency-key"),
                        "status": int(answer_head.split(b" ")[1]),
                        "replayed": header(answer_head, b"idempotent-replayed") == "true",
                        "dropped": lost,
                        "forwarded": forwarded,
                    }) + "\n")
            if lost:
                if mode == "reset":
                    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            client.sendall(answer)
    finally:
        client.close()
        upstream.close()


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(16)
print(listener.getsockname()[1], flush=True)
while True:
    connection, _ = listener.accept()
    threading.Thread(target=serve, args=(connection,), daemon=True).start()
