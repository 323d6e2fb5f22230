"""Helpers for the load tester's tests: a fake API on 127.0.0.1, SNS events, a fake Lambda context.

The Lambda's files import each other by flat name, so its directory goes on sys.path; ``handler.py`` is
loaded under the unique name ``load_tester_handler`` (the predictor has a ``handler.py`` too).
"""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

LAMBDA_DIR = Path(__file__).resolve().parent.parent
if str(LAMBDA_DIR) not in sys.path:
    sys.path.insert(0, str(LAMBDA_DIR))

API_KEY = "tester-key-SECRET-0123456789abcdef"
KEY_PARAMETER = "/text-classification/local/api-hosting/api_key"
NAMESPACE = "text-classification"
STAGE = "local"


def load_handler() -> ModuleType:
    name = "load_tester_handler"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, LAMBDA_DIR / "handler.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class FakeApi:
    """Stands in for API Gateway + predictor. ``routes[path] = (status, body_dict)``; ``delay`` seconds
    pass between the response headers and the body (so a timer that stops at the send sees ~0)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.routes: dict[str, tuple[int, Any]] = {}
        self.delay = 0.0
        self.lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with api.lock:
                    api.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                         "body": body, "at": time.monotonic()})
                status, payload = api.routes.get(self.path, (404, {"message": "Missing Authentication Token"}))
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.flush()
                time.sleep(api.delay)
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/{STAGE}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FakeContext:
    """The part of the Lambda context the tester uses; time runs for real."""

    aws_request_id = "tester-invocation-1"

    def __init__(self, remaining_ms: float) -> None:
        self._deadline = time.monotonic() + remaining_ms / 1000.0

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def sns_event(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "Records": [{
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "Sns": {"Type": "Notification", "MessageId": "m-1", "Subject": None,
                    "TopicArn": "arn:aws:sns:us-east-1:123456789012:text-classification-local-test-trigger",
                    "Message": json.dumps(message)},
        }]
    }


def cases(*specs: tuple[str, str, dict[str, Any], dict[str, Any]], interval: float = 0.0) -> list[dict[str, Any]]:
    """(name, resource, request, expected response) tuples -> TestData entries in the original format."""
    return [{"name": name, "type": "ApiGateway", "resource": resource, "request": request, "response": expected,
             "interval": interval} for name, resource, request, expected in specs]
