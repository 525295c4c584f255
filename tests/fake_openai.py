"""A fake OpenAI-compatible chat server on loopback (standard library ``http.server``), for
testing every path of the LLM bidders through litellm without a model: it records each
request (headers included, their names lower-cased, so a leaked key is seen) and answers with what the test's
``reply`` function returns."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = Callable[[dict[str, Any], int], tuple[int, Any]]
"""``reply(request_body, call_number) -> (status, content)``: content is the assistant's text
for status 200, else the error body."""


@dataclass
class FakeServer:
    reply: Reply
    host: str = "127.0.0.1"
    delay: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    max_in_flight: int = 0
    _in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with fake._lock:
                    fake._in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake._in_flight)
                    n = len(fake.requests)
                    fake.requests.append({"path": self.path, "body": body,
                                          "headers": {k.lower(): v for k, v in self.headers.items()}})
                try:
                    if fake.delay:
                        time.sleep(fake.delay)
                    status, content = fake.reply(body, n)
                finally:
                    with fake._lock:
                        fake._in_flight -= 1
                if status == 200:
                    out = {
                        "id": f"chatcmpl-{n}", "object": "chat.completion", "created": 0, "model": body.get("model"),
                        "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": content}}],
                        "usage": {"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60},
                    }
                else:
                    out = {"error": {"message": str(content), "type": "error", "code": status}}
                data = json.dumps(out).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer((self.host, 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def url(self, host: str | None = None) -> str:
        return f"http://{host or self.host}:{self.port}/v1"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def seen(self, text: str) -> bool:
        """Whether ``text`` appeared anywhere in a request (headers or body)."""
        return any(text in json.dumps(r) for r in self.requests)
