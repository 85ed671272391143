# A webhook receiver for the tests: an HTTP server on 127.0.0.1 that appends every POST body
# (one JSON event) as a line to OUTFILE. Prints its port on the first line, then serves until killed.
# Usage: webhook_server.py OUTFILE
import http.server, sys

out = sys.argv[1]

class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with open(out, "ab") as f:
            f.write(body.strip() + b"\n")
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass

server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
print(server.server_address[1], flush=True)
server.serve_forever()
