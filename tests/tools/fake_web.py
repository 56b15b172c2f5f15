"""A tiny fake web on 127.0.0.1 for search and fetch tests: Tavily, SearXNG and DuckDuckGo endpoints plus
pages (HTML, big, chunked, redirects, slow, binary)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

RESULTS = [
    {"title": "Python 3.14 released", "url": "https://www.python.org/downloads/release/python-3140/",
     "content": "Python 3.14.0 is the newest major release."},
    {"title": "What's new in Python 3.14", "url": "https://docs.python.org/3.14/whatsnew/3.14.html",
     "content": "Template strings, deferred annotations and more."},
]

DDG_HTML = """<html><body><div class="results">
<div class="result results_links"><h2 class="result__title">
<a rel="nofollow" class="result__a"
 href="//duckduckgo.com/l/?uddg=https%3A%2F%2Fwww.python.org%2Fdownloads%2F&amp;rut=x">
Download <b>Python</b> | Python.org</a></h2>
<a class="result__snippet" href="//duckduckgo.com/l/?uddg=x">The official home of the <b>Python</b> language.</a></div>
<div class="result results_links"><h2 class="result__title">
<a rel="nofollow" class="result__a" href="https://en.wikipedia.org/wiki/Python_(programming_language)">Python
 (programming language) - Wikipedia</a></h2>
<a class="result__snippet">Python is a high-level, general-purpose programming language.</a></div>
</div></body></html>"""

ARTICLE = """<!doctype html><html><head><title>The Fox Report</title><style>body{color:red}</style>
<script>var tracking = "SECRET-TRACKER";</script></head><body>
<header><nav><a href="/">Home</a> | <a href="/about">About us</a></nav></header>
<aside>Buy our newsletter! ADVERT</aside>
<main><article><h1>Quick brown fox</h1><p>The quick brown fox jumps over the lazy dog. &amp; it does so
daily.</p><ul><li>first point</li><li>second point</li></ul><p>""" + "Filler sentence about foxes. " * 12 + """</p>
</article></main><footer>Copyright footer text</footer></body></html>"""


class _Handler(BaseHTTPRequestHandler):
    server: FakeWeb

    def log_message(self, *args):
        pass

    def _send(self, status, body: bytes, ctype="text/html; charset=utf-8", headers=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _record(self, body: bytes = b""):
        self.server.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                     "body": body.decode(errors="replace")})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._record(body)
        path = urlsplit(self.path).path
        if path == "/search":  # Tavily
            if self.headers.get("Authorization") != "Bearer tvly-test-key-123":
                return self._send(401, b'{"detail": "bad key"}', "application/json")
            query = json.loads(body)
            n = query.get("max_results", 5)
            return self._send(200, json.dumps({"query": query["query"], "results": RESULTS[:n]}).encode(),
                              "application/json")
        if path == "/html/":  # DuckDuckGo
            return self._send(200, DDG_HTML.encode())
        self._send(404, b"not found")

    def do_GET(self):
        self._record()
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        path = parts.path
        if path == "/search":  # SearXNG
            if query.get("format") != ["json"]:
                return self._send(403, b"format not allowed")
            return self._send(200, json.dumps({"query": query["q"][0], "results": RESULTS}).encode(),
                              "application/json")
        if path == "/article":
            return self._send(200, ARTICLE.encode())
        if path == "/plain":
            return self._send(200, b"just text\n", "text/plain")
        if path == "/big":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(50 << 20))
            self.end_headers()
            return None
        if path == "/chunked-big":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"<p>" + b"x" * 8192 + b"</p>"
            try:
                for _ in range(200):
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
            return None
        if path == "/to-private":
            return self._send(302, b"", headers={"Location": "http://10.0.0.1/admin"})
        if path == "/to-metadata":
            return self._send(302, b"", headers={"Location": "http://169.254.169.254/latest/meta-data/"})
        if path == "/to-file":
            return self._send(302, b"", headers={"Location": "file:///etc/passwd"})
        if path == "/to-article":
            return self._send(301, b"", headers={"Location": "/article"})
        if path == "/loop":
            return self._send(302, b"", headers={"Location": "/loop"})
        if path == "/image.png":
            return self._send(200, b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "image/png")
        if path == "/slow":
            time.sleep(3)
            return self._send(200, b"late")
        if path == "/missing":
            return self._send(404, b"nope")
        self._send(404, b"not found")


class FakeWeb(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict] = []
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()
