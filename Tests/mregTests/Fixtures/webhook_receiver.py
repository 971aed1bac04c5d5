"""A webhook receiver for the tests, verifying every delivery with the `standardwebhooks`
package from PyPI (an implementation of the Standard Webhooks specification nobody here wrote).

    webhook_receiver.py serve PORT DIRECTORY
        Listens on 127.0.0.1:PORT (0: any free port) and prints the port on its first line.
        Reads the signing secret (whsec_…) from DIRECTORY/secret on every request, and
        DIRECTORY/control (JSON, optional) for how to answer: {"fail": N, "status": S,
        "retry_after": "1", "delay": D} answers the next N deliveries with S (and that
        Retry-After), and every one after D seconds.
        Appends one JSON line per request to DIRECTORY/log: webhook-id, timestamp, signature,
        the body as text, whether the library verified it, and the status answered.
        A delivery that does not verify is answered 400.

    webhook_receiver.py verify SECRET
        Reads one logged line ({"headers": …, "body": …}) from stdin and exits 0 when the
        library verifies it, 1 when it refuses it.
"""

import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook


def verify(secret, headers, body):
    """The event the library verified, or the reason it refused."""
    try:
        return True, Webhook(secret).verify(body, headers)
    except Exception as error:  # the library raises WebhookVerificationError and others
        return False, f"{type(error).__name__}: {error}"


def serve(port, directory):
    log_path = os.path.join(directory, "log")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", "0"))).decode()
            headers = {name: self.headers.get(name, "") for name in ("webhook-id", "webhook-timestamp", "webhook-signature")}
            with open(os.path.join(directory, "secret")) as file:
                secret = file.read().strip()
            verified, detail = verify(secret, headers, body)
            status, retry_after = (204 if verified else 400), None
            control_path = os.path.join(directory, "control")
            if verified and os.path.exists(control_path):
                with open(control_path) as file:
                    control = json.load(file)
                time.sleep(control.get("delay", 0))
                if control.get("fail", 0) > 0:
                    status, retry_after = control["status"], control.get("retry_after")
                    control["fail"] -= 1
                    with open(control_path + ".new", "w") as file:
                        json.dump(control, file)
                    os.replace(control_path + ".new", control_path)
            line = {
                "headers": headers, "body": body, "verified": verified, "status": status,
                "error": None if verified else detail,
            }
            with open(log_path, "a") as file:
                file.write(json.dumps(line) + "\n")
            self.send_response(status)
            if retry_after is not None:
                self.send_header("retry-after", retry_after)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *arguments):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(int(sys.argv[2]), sys.argv[3])
    else:
        line = json.loads(sys.stdin.read())
        verified, detail = verify(sys.argv[2], line["headers"], line["body"])
        print(detail if not verified else "verified")
        sys.exit(0 if verified else 1)
