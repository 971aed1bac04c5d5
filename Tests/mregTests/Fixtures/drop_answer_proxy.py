#!/usr/bin/env python3
"""An HTTP/1.1 proxy that loses one answer on the way back.

    drop_answer_proxy.py UPSTREAM_PORT 'POST /v1/models/fraud/versions' LOG_FILE

It forwards every request to 127.0.0.1:UPSTREAM_PORT and reads the whole answer. For the
first request whose request line starts with the given prefix it then closes the client's
connection without sending that answer: the server has done the work, the client never
hears of it (a dropped connection after a commit). It prints the port it listens on, then
writes one JSON line per request to LOG_FILE: its request line, its Idempotency-Key, the
server's status, whether the answer was a replay, and whether it was dropped.
"""
import json
import socket
import sys
import threading

upstream_port = int(sys.argv[1])
drop_prefix = sys.argv[2].encode()
log_path = sys.argv[3]
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
            upstream.sendall(request)
            answer, upstream_buffer, answer_head = read_message(upstream, upstream_buffer)
            if answer is None:
                return
            request_line = request_head.split(b"\r\n")[0]
            with lock:
                drop = not dropped and request_line.startswith(drop_prefix)
                dropped = dropped or drop
                with open(log_path, "a") as log:
                    log.write(json.dumps({
                        "request": request_line.decode(),
                        "idempotency_key": header(request_head, b"idempotency-key"),
                        "status": int(answer_head.split(b" ")[1]),
                        "replayed": header(answer_head, b"idempotent-replayed") == "true",
                        "dropped": drop,
                    }) + "\n")
            if drop:
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
