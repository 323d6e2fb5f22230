"""The predictor against a fake SageMaker runtime on 127.0.0.1, reached through
AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME exactly as the local data plane is: real botocore serialization of the
InvokeEndpoint headers, real parsing of ModelError bodies, real timeouts and retries."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import Any

import pytest

from predictor_testkit import body_of, make_event

pytestmark = pytest.mark.timeout(30)


class FakeRuntime:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.mode = "ok"
        self.delay = 0.0
        runtime = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                runtime.requests.append(
                    {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                     "body": self.rfile.read(length)}
                )
                time.sleep(runtime.delay)
                status, headers, body = runtime.reply()
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def reply(self) -> tuple[int, dict[str, str], bytes]:
        if self.mode == "model_error":
            body = {
                "ErrorCode": "CLIENT_ERROR_FROM_MODEL",
                "Message": 'Received client error (400) from primary with message "empty sentence".',
                "OriginalStatusCode": 400,
                "OriginalMessage": "empty sentence",
                "LogStreamArn": "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/x",
            }
            return 424, {"Content-Type": "application/json", "x-amzn-ErrorType": "ModelError"}, json.dumps(body).encode()
        if self.mode == "unavailable":
            return 503, {"Content-Type": "application/json", "x-amzn-ErrorType": "ServiceUnavailable"}, b'{"message":"busy"}'
        return (
            200,
            {"Content-Type": "application/json", "x-Amzn-Invoked-Production-Variant": "model-b"},
            json.dumps({"success": "true", "label": 4}).encode(),
        )

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch, predictor: ModuleType) -> Iterator[FakeRuntime]:
    fake = FakeRuntime()
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", fake.url)
    yield fake
    fake.close()


def test_env_endpoint_url_is_honoured_and_headers_are_sent(predictor: ModuleType, runtime: FakeRuntime) -> None:
    event = make_event({"sentence": "Science!", "variant": "model-b"}, request_id="abc-123")
    response = predictor.lambda_handler(event, None)
    assert response["statusCode"] == 200, response
    assert body_of(response) == {"success": "true", "label": 4, "variant": "model-b", "request_id": "abc-123"}
    assert response["headers"]["X-Invoked-Variant"] == "model-b"
    (request,) = runtime.requests
    assert request["path"] == "/endpoints/text-classification-local/invocations"
    assert request["headers"]["x-amzn-sagemaker-inference-id"] == "abc-123"
    assert request["headers"]["x-amzn-sagemaker-target-variant"] == "model-b"
    assert request["headers"]["content-type"] == "application/json"
    assert request["headers"]["accept"] == "application/json"
    assert "x-api-key" not in request["headers"]
    assert json.loads(request["body"]) == {"sentence": "Science!"}


def test_client_is_created_once_per_container(predictor: ModuleType, runtime: FakeRuntime) -> None:
    import sm_runtime

    predictor.lambda_handler(make_event({"sentence": "a"}), None)
    first = sm_runtime._CLIENT
    predictor.lambda_handler(make_event({"sentence": "b"}), None)
    assert sm_runtime._CLIENT is first and first is not None
    config = first.meta.config
    assert config.connect_timeout == 2.0 and config.read_timeout == 65.0
    assert config.retries == {"total_max_attempts": 3, "mode": "standard"}
    assert config.tcp_keepalive is True
    assert sm_runtime.client_config().parameter_validation is False  # the client's own check is skipped


def test_wire_model_error_maps_to_400_with_model_message(predictor: ModuleType, runtime: FakeRuntime) -> None:
    runtime.mode = "model_error"
    response = predictor.lambda_handler(make_event({"sentence": "x"}), None)
    assert response["statusCode"] == 400
    assert body_of(response)["message"] == "empty sentence"
    assert len(runtime.requests) == 1  # 424 is not retried


def test_service_unavailable_is_retried_then_503(predictor: ModuleType, runtime: FakeRuntime, monkeypatch) -> None:
    monkeypatch.setenv("SAGEMAKER_MAX_ATTEMPTS", "2")
    runtime.mode = "unavailable"
    response = predictor.lambda_handler(make_event({"sentence": "x"}), None)
    assert response["statusCode"] == 503
    assert len(runtime.requests) == 2


def test_read_timeout_maps_to_504(predictor: ModuleType, runtime: FakeRuntime, monkeypatch) -> None:
    monkeypatch.setenv("SAGEMAKER_READ_TIMEOUT_SEC", "0.3")
    monkeypatch.setenv("SAGEMAKER_MAX_ATTEMPTS", "1")
    runtime.delay = 1.0
    started = time.monotonic()
    response = predictor.lambda_handler(make_event({"sentence": "x"}), None)
    assert response["statusCode"] == 504
    assert body_of(response)["error"] == "Timeout"
    assert time.monotonic() - started < 0.9


def test_unreachable_runtime_maps_to_503(predictor: ModuleType, monkeypatch) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("SAGEMAKER_MAX_ATTEMPTS", "1")
    response = predictor.lambda_handler(make_event({"sentence": "x"}), None)
    assert response["statusCode"] == 503


def test_read_timeouts_are_retried_by_standard_mode(predictor: ModuleType, runtime: FakeRuntime, monkeypatch) -> None:
    """Documents botocore behaviour the Terraform timeouts must allow for: attempts x read timeout."""
    monkeypatch.setenv("SAGEMAKER_READ_TIMEOUT_SEC", "0.2")
    monkeypatch.setenv("SAGEMAKER_MAX_ATTEMPTS", "2")
    runtime.delay = 0.6
    response = predictor.lambda_handler(make_event({"sentence": "x"}), None)
    assert response["statusCode"] == 504
    assert len(runtime.requests) == 2
