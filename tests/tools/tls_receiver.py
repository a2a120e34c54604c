"""A callback receiver over TLS for the asynchronous-signing tests.

Usage: tls_receiver.py CERT_PEM KEY_PEM. Listens on 127.0.0.1 on a free port and prints the
port, then one JSON line per POST ({"path": ..., "body": ...}). /redirect answers 307 to /cb;
every other path answers 204. A client that refuses the certificate ends only its own
connection.
"""

import http.server
import json
import ssl
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        try:
            value = json.loads(body)
        except ValueError:
            value = None
        print(json.dumps({"path": self.path, "body": value}), flush=True)
        if self.path == "/redirect":
            self.send_response(307)
            self.send_header("Location", "/cb")
            self.send_header("Content-Length", "0")
        else:
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[1], sys.argv[2])
server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
