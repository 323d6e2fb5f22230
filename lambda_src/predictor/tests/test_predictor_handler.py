"""The predictor end to end with a stubbed sagemaker-runtime client (botocore Stubber)."""

from __future__ import annotations

import json
from types import ModuleType

import pytest
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber

from predictor_testkit import API_KEY, body_of, expected_params, make_event, model_output

pytestmark = pytest.mark.timeout(20)

SENTENCE = "Baseball is one of the most popular sports in the United States."


def test_single_sentence_returns_model_fields_variant_and_request_id(predictor: ModuleType, stub: Stubber) -> None:
    stub.add_response(
        "invoke_endpoint",
        model_output({"success": "true", "label": 2, "label_name": "Sports", "probabilities": [0.1, 0.7, 0.1, 0.1]}),
        expected_params({"sentence": SENTENCE}),
    )
    response = predictor.lambda_handler(make_event({"sentence": SENTENCE}), None)
    assert response["statusCode"] == 200
    assert response["isBase64Encoded"] is False
    assert response["headers"]["X-Request-Id"] == "req-0001"
    assert response["headers"]["X-Invoked-Variant"] == "model-a"
    assert body_of(response) == {
        "success": "true", "label": 2, "label_name": "Sports", "probabilities": [0.1, 0.7, 0.1, 0.1],
        "variant": "model-a", "request_id": "req-0001",
    }
    stub.assert_no_pending_responses()


def test_batch_forwards_sentences_and_returns_predictions(predictor: ModuleType, stub: Stubber) -> None:
    sentences = ["first one", "second one"]
    predictions = [{"label": 1, "label_name": "World"}, {"label": 4, "label_name": "Sci/Tech"}]
    stub.add_response(
        "invoke_endpoint",
        model_output({"success": "true", "predictions": predictions}, variant="model-b"),
        expected_params({"sentences": sentences}),
    )
    response = predictor.lambda_handler(make_event({"sentences": sentences}), None)
    assert response["statusCode"] == 200
    body = body_of(response)
    assert body["predictions"] == predictions
    assert body["variant"] == "model-b"
    assert response["headers"]["X-Invoked-Variant"] == "model-b"


def test_bare_list_from_model_is_wrapped_as_predictions(predictor: ModuleType, stub: Stubber) -> None:
    stub.add_response("invoke_endpoint", model_output([{"label": 3}]), expected_params({"sentences": ["x"]}))
    body = body_of(predictor.lambda_handler(make_event({"sentences": ["x"]}), None))
    assert body["predictions"] == [{"label": 3}]


@pytest.mark.parametrize("where", ["body", "header"])
def test_target_variant_and_inference_id_are_passed(predictor: ModuleType, stub: Stubber, where: str) -> None:
    request_id = "c0ffee00-1111-2222-3333-444455556666"
    stub.add_response(
        "invoke_endpoint",
        model_output({"success": "true", "label": 1}, variant="model-b"),
        expected_params({"sentence": SENTENCE}, request_id=request_id, variant="model-b"),
    )
    if where == "body":
        event = make_event({"sentence": SENTENCE, "variant": "model-b"}, request_id=request_id)
    else:
        event = make_event({"sentence": SENTENCE}, headers={"X-Target-Variant": "model-b"}, request_id=request_id)
    response = predictor.lambda_handler(event, None)
    assert response["statusCode"] == 200
    stub.assert_no_pending_responses()


def test_inference_id_is_truncated_to_64_characters(predictor: ModuleType, stub: Stubber) -> None:
    long_id = "r" * 100
    stub.add_response(
        "invoke_endpoint", model_output({"label": 1}), expected_params({"sentence": "hi"}, request_id="r" * 64)
    )
    response = predictor.lambda_handler(make_event({"sentence": "hi"}, request_id=long_id), None)
    assert response["statusCode"] == 200
    assert body_of(response)["request_id"] == long_id  # the API's id is returned whole


def test_base64_body_is_decoded(predictor: ModuleType, stub: Stubber) -> None:
    stub.add_response("invoke_endpoint", model_output({"label": 2}), expected_params({"sentence": SENTENCE}))
    response = predictor.lambda_handler(make_event({"sentence": SENTENCE}, base64_encoded=True), None)
    assert response["statusCode"] == 200


def test_direct_invocation_without_request_context_uses_lambda_request_id(
    predictor: ModuleType, stub: Stubber
) -> None:
    class Context:
        aws_request_id = "lambda-req-9"

    stub.add_response(
        "invoke_endpoint", model_output({"label": 2}), expected_params({"sentence": "x"}, request_id="lambda-req-9")
    )
    event = make_event({"sentence": "x"})
    del event["requestContext"]
    response = predictor.lambda_handler(event, Context())
    assert response["headers"]["X-Request-Id"] == "lambda-req-9"


# --- client mistakes: nothing reaches SageMaker --------------------------------------------------


@pytest.mark.parametrize(
    ("event_kwargs", "field", "fragment"),
    [
        ({"raw": "{not json"}, "body", "not valid JSON"),
        ({"raw": ""}, "body", "required"),
        ({"body": None}, "body", "required"),
        ({"body": ["a list"]}, "body", "JSON object"),
        ({"body": {}}, "sentence", "required"),
        ({"body": {"text": "x"}}, "text", "unknown field 'text'"),
        ({"body": {"sentence": ""}}, "sentence", "non-empty string"),
        ({"body": {"sentence": "   "}}, "sentence", "non-empty string"),
        ({"body": {"sentence": 42}}, "sentence", "non-empty string"),
        ({"body": {"sentence": None}}, "sentence", "non-empty string"),
        ({"body": {"sentences": []}}, "sentences", "non-empty list"),
        ({"body": {"sentences": "abc"}}, "sentences", "non-empty list"),
        ({"body": {"sentences": ["ok", 3]}}, "sentences[1]", "non-empty string"),
        ({"body": {"sentences": ["ok", ""]}}, "sentences[1]", "non-empty string"),
        ({"body": {"sentence": "a", "sentences": ["b"]}}, "sentences", "not both"),
        ({"body": {"sentence": "a", "variant": "bad variant!"}}, "variant", "variant name"),
        ({"body": {"sentence": "a", "variant": 7}}, "variant", "variant name"),
        ({"raw": "!!!notbase64", "base64_encoded": True}, "body", "base64"),
    ],
)
def test_bad_requests_get_400_naming_the_field(
    predictor: ModuleType, stub: Stubber, event_kwargs: dict, field: str, fragment: str
) -> None:
    event = make_event(**event_kwargs)
    if event_kwargs.get("base64_encoded") and "raw" in event_kwargs:
        event["body"] = event_kwargs["raw"]  # not valid base64 on purpose
    response = predictor.lambda_handler(event, None)
    assert response["statusCode"] == 400, response
    body = body_of(response)
    assert body["error"] == "InvalidRequest"
    assert body["field"] == field
    assert fragment in body["message"]
    assert body["request_id"] == "req-0001"
    stub.assert_no_pending_responses()  # nothing was called


def test_batch_larger_than_max_batch_is_rejected(predictor: ModuleType, stub: Stubber, monkeypatch) -> None:
    monkeypatch.setenv("MAX_BATCH", "3")
    response = predictor.lambda_handler(make_event({"sentences": ["a", "b", "c", "d"]}), None)
    assert response["statusCode"] == 400
    assert "at most 3" in body_of(response)["message"]


def test_conflicting_variant_body_and_header(predictor: ModuleType, stub: Stubber) -> None:
    event = make_event({"sentence": "a", "variant": "model-a"}, headers={"x-target-variant": "model-b"})
    response = predictor.lambda_handler(event, None)
    assert response["statusCode"] == 400
    assert body_of(response)["field"] == "variant"


@pytest.mark.parametrize("base64_encoded", [False, True])
def test_too_large_body_is_413(predictor: ModuleType, stub: Stubber, monkeypatch, base64_encoded: bool) -> None:
    monkeypatch.setenv("MAX_BODY_BYTES", "100")
    response = predictor.lambda_handler(make_event({"sentence": "x" * 200}, base64_encoded=base64_encoded), None)
    assert response["statusCode"] == 413
    assert body_of(response)["error"] == "PayloadTooLarge"


def test_default_body_limit_is_64_kib(predictor: ModuleType, stub: Stubber) -> None:
    response = predictor.lambda_handler(make_event({"sentence": "x" * 65_536}), None)
    assert response["statusCode"] == 413


def test_multibyte_body_limit_counts_bytes(predictor: ModuleType, stub: Stubber, monkeypatch) -> None:
    monkeypatch.setenv("MAX_BODY_BYTES", "100")
    raw = json.dumps({"sentence": "é" * 45}, ensure_ascii=False)  # 45 chars of text, > 100 bytes of UTF-8
    assert len(raw) < 100 < len(raw.encode("utf-8"))
    response = predictor.lambda_handler(make_event(raw=raw), None)
    assert response["statusCode"] == 413


# --- upstream failures ---------------------------------------------------------------------------


def _model_error(stub: Stubber, original_status: int, original_message: str) -> None:
    stub.add_client_error(
        "invoke_endpoint",
        service_error_code="ModelError",
        service_message=(
            f'Received {"client" if original_status < 500 else "server"} error ({original_status}) from primary '
            f'with message "{original_message}". See https://... for more information.'
        ),
        http_status_code=424,
        modeled_fields={"OriginalStatusCode": original_status, "OriginalMessage": original_message,
                        "LogStreamArn": "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/x"},
    )


def test_model_4xx_becomes_400_with_the_model_message(predictor: ModuleType, stub: Stubber) -> None:
    _model_error(stub, 400, '{"message": "sentence has no known tokens"}')
    response = predictor.lambda_handler(make_event({"sentence": "zzzz"}), None)
    assert response["statusCode"] == 400
    body = body_of(response)
    assert body["error"] == "ModelInputRejected"
    assert body["message"] == "sentence has no known tokens"
    assert body["original_status"] == 400


def test_model_5xx_becomes_502_with_original_status(predictor: ModuleType, stub: Stubber) -> None:
    _model_error(stub, 500, "CUDA out of memory")
    response = predictor.lambda_handler(make_event({"sentence": "x"}), None)
    assert response["statusCode"] == 502
    body = body_of(response)
    assert body == {"error": "ModelError", "message": "CUDA out of memory", "request_id": "req-0001",
                    "original_status": 500}


def test_model_server_busy_becomes_503(predictor: ModuleType, stub: Stubber) -> None:
    _model_error(stub, 503, "no worker available")
    response = predictor.lambda_handler(make_event({"sentence": "x"}), None)
    assert response["statusCode"] == 503
    assert response["headers"]["Retry-After"] == "1"


def test_model_invocation_timed_out_becomes_504(predictor: ModuleType, stub: Stubber) -> None:
    stub.add_client_error("invoke_endpoint", "ModelError", "Model invocation timed out", http_status_code=424)
    response = predictor.lambda_handler(make_event({"sentence": "x"}), None)
    assert response["statusCode"] == 504
    assert body_of(response)["error"] == "ModelTimeout"


@pytest.mark.parametrize(
    ("code", "http_status", "retry_after", "api_code"),
    [
        ("ThrottlingException", 400, "1", "Throttled"),
        ("ServiceUnavailable", 503, "2", "ServiceUnavailable"),
        ("ModelNotReadyException", 429, "5", "ModelNotReady"),
    ],
)
def test_throttling_and_unavailability_become_503_with_retry_after(
    predictor: ModuleType, stub: Stubber, code: str, http_status: int, retry_after: str, api_code: str
) -> None:
    stub.add_client_error("invoke_endpoint", code, "slow down", http_status_code=http_status)
    response = predictor.lambda_handler(make_event({"sentence": "x"}), None)
    assert response["statusCode"] == 503
    assert response["headers"]["Retry-After"] == retry_after
    assert body_of(response)["error"] == api_code


def test_internal_failure_becomes_502(predictor: ModuleType, stub: Stubber) -> None:
    stub.add_client_error("invoke_endpoint", "InternalFailure", "oops", http_status_code=500)
    response = predictor.lambda_handler(make_event({"sentence": "x"}), None)
    assert response["statusCode"] == 502


def test_unknown_variant_becomes_400(predictor: ModuleType, stub: Stubber) -> None:
    stub.add_client_error(
        "invoke_endpoint", "ValidationError",
        "Variant model-z not found for endpoint text-classification-local", http_status_code=400,
    )
    response = predictor.lambda_handler(make_event({"sentence": "x", "variant": "model-z"}), None)
    assert response["statusCode"] == 400
    body = body_of(response)
    assert body["error"] == "UnknownVariant"
    assert body["field"] == "variant"
    assert "model-z" in body["message"]


def test_missing_endpoint_becomes_503(predictor: ModuleType, stub: Stubber) -> None:
    stub.add_client_error(
        "invoke_endpoint", "ValidationError",
        "Endpoint text-classification-local of account 123456789012 not found.", http_status_code=400,
    )
    response = predictor.lambda_handler(make_event({"sentence": "x"}), None)
    assert response["statusCode"] == 503
    assert body_of(response)["error"] == "EndpointUnavailable"


def test_access_denied_is_a_500_and_logged(predictor: ModuleType, stub: Stubber, capsys) -> None:
    stub.add_client_error("invoke_endpoint", "AccessDeniedException", "not authorized", http_status_code=403)
    response = predictor.lambda_handler(make_event({"sentence": "x"}), None)
    assert response["statusCode"] == 500
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    errors = [line for line in lines if line["level"] == "ERROR"]
    assert errors and errors[0]["request_id"] == "req-0001"
    assert "AccessDeniedException" in errors[0]["exception"]


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (ReadTimeoutError(endpoint_url="https://runtime.sagemaker.us-east-1.amazonaws.com"), 504),
        (ConnectTimeoutError(endpoint_url="https://runtime.sagemaker.us-east-1.amazonaws.com"), 504),
        (EndpointConnectionError(endpoint_url="https://runtime.sagemaker.us-east-1.amazonaws.com"), 503),
    ],
)
def test_transport_failures(predictor: ModuleType, stub: Stubber, monkeypatch, exc: Exception, status: int) -> None:
    import sm_runtime

    def boom(**_: object) -> None:
        raise exc

    monkeypatch.setattr(sm_runtime._CLIENT, "invoke_endpoint", boom)
    response = predictor.lambda_handler(make_event({"sentence": "x"}), None)
    assert response["statusCode"] == status


def test_non_json_model_output_is_502(predictor: ModuleType, stub: Stubber) -> None:
    from io import BytesIO

    from botocore.response import StreamingBody

    stub.add_response(
        "invoke_endpoint",
        {"Body": StreamingBody(BytesIO(b"<html>"), 6), "InvokedProductionVariant": "model-a"},
        expected_params({"sentence": "x"}),
    )
    response = predictor.lambda_handler(make_event({"sentence": "x"}), None)
    assert response["statusCode"] == 502


def test_a_bug_is_a_500_with_the_request_id_logged(predictor: ModuleType, stub: Stubber, monkeypatch, capsys) -> None:
    import sm_runtime

    def bug(*_: object, **__: object) -> None:
        raise KeyError("oops")

    monkeypatch.setattr(sm_runtime, "invoke", bug)
    response = predictor.lambda_handler(make_event({"sentence": "x"}), None)
    assert response["statusCode"] == 500
    assert body_of(response) == {"error": "InternalError", "message": "internal error", "request_id": "req-0001"}
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert any(line["level"] == "ERROR" and "KeyError" in line["exception"] for line in lines)


def test_missing_endpoint_setting_is_a_500(predictor: ModuleType, stub: Stubber, monkeypatch) -> None:
    monkeypatch.delenv("SAGEMAKER_ENDPOINT")
    response = predictor.lambda_handler(make_event({"sentence": "x"}), None)
    assert response["statusCode"] == 500


# --- logging -------------------------------------------------------------------------------------


def test_one_json_log_line_per_request_without_key_or_bodies(predictor: ModuleType, stub: Stubber, capsys) -> None:
    secret_sentence = "my very private sentence about my bank account"
    stub.add_response(
        "invoke_endpoint",
        model_output({"success": "true", "label": 3, "label_name": "PRIVATE-OUTPUT-MARKER"}),
        expected_params({"sentence": secret_sentence}),
    )
    predictor.lambda_handler(make_event({"sentence": secret_sentence}), None)
    predictor.lambda_handler(make_event({"sentence": 7, "extra": secret_sentence}), None)
    out = capsys.readouterr().out
    assert API_KEY not in out
    assert secret_sentence not in out
    assert "PRIVATE-OUTPUT-MARKER" not in out
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 2
    ok, bad = lines
    assert ok["message"] == "request" and ok["status"] == 200 and ok["variant"] == "model-a"
    assert ok["batch_size"] == 1 and ok["request_id"] == "req-0001"
    assert isinstance(ok["latency_ms"], float) and "upstream_ms" in ok
    assert bad["status"] == 400 and bad["error"] == "InvalidRequest" and bad["field"] == "extra"


def test_key_not_logged_on_errors_even_at_debug(predictor: ModuleType, stub: Stubber, monkeypatch, capsys) -> None:
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    import jsonlog

    jsonlog.get_logger()
    stub.add_client_error("invoke_endpoint", "AccessDeniedException", "denied", http_status_code=403)
    predictor.lambda_handler(make_event({"sentence": "x"}), None)
    _model_error(stub, 400, "bad")
    predictor.lambda_handler(make_event({"sentence": "x"}), None)
    out = capsys.readouterr().out
    assert out and API_KEY not in out
    monkeypatch.setenv("LOG_LEVEL", "INFO")
    jsonlog.get_logger()
