"""The SageMaker handler contract on good and bad input (4xx with a clear message, never a 500)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from training.codeload import load_code

SPORTS = "Baseball is one of the most popular sports in the United States."
JSON = "application/json"


def invoke(trained, body: bytes | str, content_type: str | None = JSON, accept: str | None = JSON) -> dict:
    inference = trained.code.inference
    request = inference.input_fn(body, content_type)
    payload, content_type_out = inference.output_fn(inference.predict_fn(request, trained.handler_model), accept)
    assert content_type_out == JSON
    return json.loads(payload)


def status_of(trained, body: bytes | str, content_type: str | None = JSON, accept: str | None = JSON, model=None):
    with pytest.raises(trained.code.errors.InferenceError) as caught:
        inference = trained.code.inference
        request = inference.input_fn(body, content_type)
        inference.output_fn(inference.predict_fn(request, model or trained.handler_model), accept)
    error = caught.value
    assert isinstance(error.message, str) and error.message
    return error.status_code, error.message


# --- good input -------------------------------------------------------------------------------


def test_single_sentence_answer_shape(trained) -> None:
    answer = invoke(trained, json.dumps({"sentence": SPORTS}).encode())
    assert set(answer) == {"success", "label", "label_name", "probabilities"}
    assert answer["success"] == "true" and answer["label"] == 2 and answer["label_name"] == "Sports"
    assert len(answer["probabilities"]) == 4 and sum(answer["probabilities"]) == pytest.approx(1.0, abs=1e-5)
    assert answer["label"] == 1 + max(range(4), key=answer["probabilities"].__getitem__)


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", 'Application/JSON;charset="UTF-8"']
)
@pytest.mark.parametrize(
    "accept", [JSON, None, "", "*/*", "application/json; charset=utf-8", "text/html, application/*;q=0.5"]
)
def test_content_negotiation_accepted(trained, content_type: str, accept: str | None) -> None:
    assert invoke(trained, json.dumps({"sentence": SPORTS}), content_type, accept)["label"] == 2


def test_body_may_be_str_bytes_or_bytearray_with_bom(trained) -> None:
    document = json.dumps({"sentence": "Économie: les marchés boursiers montent"}, ensure_ascii=False)
    for body in (document, document.encode(), bytearray(document.encode()), b"\xef\xbb\xbf" + document.encode()):
        assert invoke(trained, body)["success"] == "true"


def test_unknown_words_still_classify(trained) -> None:
    answer = invoke(trained, json.dumps({"sentence": "zzqx blorf"}))
    assert answer["label"] in (1, 2, 3, 4)


def test_extra_fields_are_ignored(trained) -> None:
    assert invoke(trained, json.dumps({"sentence": SPORTS, "requestId": "abc"}))["label"] == 2


def test_batch_answers_equal_single_answers(trained) -> None:
    texts = [SPORTS, "Shares fell on Wall Street", "NASA launches a new telescope", "x"]
    batch = invoke(trained, json.dumps({"sentences": texts}))
    assert set(batch) == {"success", "predictions"} and batch["success"] == "true"
    singles = [invoke(trained, json.dumps({"sentence": text})) for text in texts]
    for predicted, single in zip(batch["predictions"], singles):
        assert set(predicted) == {"label", "label_name", "probabilities"}
        assert predicted["label"] == single["label"]
        assert predicted["probabilities"] == pytest.approx(single["probabilities"], abs=1e-5)


def test_batch_is_one_forward_pass(trained, monkeypatch) -> None:
    network = trained.handler_model.network
    calls = []
    original = network.forward
    monkeypatch.setattr(
        network, "forward", lambda text, offsets: calls.append(offsets.tolist()) or original(text, offsets)
    )
    invoke(trained, json.dumps({"sentences": ["one two", "three", "four five six"]}))
    assert len(calls) == 1 and len(calls[0]) == 3 and calls[0][0] == 0


def test_batch_of_exactly_the_maximum_is_served(trained) -> None:
    limit = trained.handler_model.config.serving.max_batch_size
    assert limit == 64
    answer = invoke(trained, json.dumps({"sentences": [SPORTS] * limit}))
    assert len(answer["predictions"]) == limit


def test_model_fn_accepts_a_context_argument(trained) -> None:
    model = trained.code.inference.model_fn(str(trained.model_dir), object())
    assert model.config.name == trained.name


def test_max_batch_size_from_environment(trained, monkeypatch) -> None:
    monkeypatch.setenv("MODEL_MAX_BATCH_SIZE", "2")
    model = trained.code.inference.model_fn(str(trained.model_dir))
    assert model.config.serving.max_batch_size == 2
    status, message = status_of(trained, json.dumps({"sentences": ["a", "b", "c"]}), model=model)
    assert status == 400 and "maximum is 2" in message


def test_invalid_max_batch_size_environment_fails_at_load(trained, monkeypatch) -> None:
    monkeypatch.setenv("MODEL_MAX_BATCH_SIZE", "lots")
    with pytest.raises(ValueError, match="MODEL_MAX_BATCH_SIZE"):
        trained.code.inference.model_fn(str(trained.model_dir))


# --- bad input ----------------------------------------------------------------------------------

BAD_REQUESTS = [
    ("malformed JSON", b'{"sentence": ', JSON, JSON, 400, "not valid JSON"),
    ("empty body", b"", JSON, JSON, 400, "empty"),
    ("not UTF-8", b'{"sentence": "caf\xe9"}', JSON, JSON, 400, "not valid UTF-8"),
    ("deeply nested", b"[" * 100_000, JSON, JSON, 400, "JSON"),
    ("array body", b'["text"]', JSON, JSON, 400, "JSON object"),
    ("missing field", b'{"text": "hello"}', JSON, JSON, 400, "missing field 'sentence'"),
    ("both fields", b'{"sentence": "a", "sentences": ["b"]}', JSON, JSON, 400, "not both"),
    ("number", b'{"sentence": 42}', JSON, JSON, 400, "'sentence' must be a string, not a number"),
    ("null", b'{"sentence": null}', JSON, JSON, 400, "not null"),
    ("empty text", b'{"sentence": ""}', JSON, JSON, 400, "'sentence' is empty"),
    ("blank text", b'{"sentence": " \\t\\n"}', JSON, JSON, 400, "is empty"),
    ("no words", b'{"sentence": ";;: \\""}', JSON, JSON, 400, "contains no words"),
    ("too long", json.dumps({"sentence": "a" * 10_001}).encode(), JSON, JSON, 400, "longer than 10000"),
    ("batch not a list", b'{"sentences": "abc"}', JSON, JSON, 400, "non-empty list"),
    ("empty batch", b'{"sentences": []}', JSON, JSON, 400, "non-empty list"),
    (
        "bad batch item",
        b'{"sentences": ["ok", {"a": 1}]}',
        JSON,
        JSON,
        400,
        "'sentences[1]' must be a string, not an object",
    ),
    ("empty batch item", b'{"sentences": ["ok", ""]}', JSON, JSON, 400, "'sentences[1]' is empty"),
    (
        "batch too large",
        json.dumps({"sentences": ["a"] * 65}).encode(),
        JSON,
        JSON,
        400,
        "has 65 items; the maximum is 64",
    ),
    ("text/plain", b'{"sentence": "a"}', "text/plain", JSON, 415, "'text/plain' is not supported"),
    ("csv", b"a,b", "text/csv", JSON, 415, "not supported"),
    ("missing content type", b'{"sentence": "a"}', None, JSON, 415, "Content-Type header is missing"),
    ("latin-1 charset", b'{"sentence": "a"}', "application/json; charset=latin-1", JSON, 415, "charset"),
    ("jsonlines", b'{"sentence": "a"}', "application/jsonlines", JSON, 415, "not supported"),
    ("accept csv", b'{"sentence": "a"}', JSON, "text/csv", 406, "cannot produce 'text/csv'"),
    ("accept json refused", b'{"sentence": "a"}', JSON, "application/json;q=0, text/html", 406, "application/json"),
]


@pytest.mark.parametrize(
    ("body", "content_type", "accept", "status", "message"),
    [case[1:] for case in BAD_REQUESTS],
    ids=[case[0] for case in BAD_REQUESTS],
)
def test_bad_request_is_a_client_error(trained, body, content_type, accept, status, message) -> None:
    got_status, got_message = status_of(trained, body, content_type, accept)
    assert got_status == status
    assert message in got_message


def test_error_carries_toolkit_attributes(models_dir: Path) -> None:
    errors = load_code(models_dir / "model-a" / "code").errors
    error = errors.bad_request("'sentence' is empty")
    assert (error.status_code, error.message, error.phrase) == (400, "'sentence' is empty", "Bad Request")
    assert type(error.status_code) is int
    assert str(error) == "400 Bad Request: 'sentence' is empty"
    assert errors.unsupported_media_type("x").phrase == "Unsupported Media Type"
    assert errors.not_acceptable("x").status_code == 406
    assert errors.InferenceError(400, "m", "Custom").phrase == "Custom"


def test_model_fn_rejects_mismatched_artifacts(trained, tmp_path: Path) -> None:
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(trained.model_dir, broken)
    (broken / "vocab.json").write_text(
        json.dumps({"format": "text-classifier-vocab/v1", "default_index": 0, "tokens": ["<unk>", "a"]}),
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="embeddings but vocab.json has 2 tokens"):
        trained.code.inference.model_fn(str(broken))


def test_model_json_must_match_the_featurizer(trained, tmp_path: Path) -> None:
    config = json.loads((trained.model_dir / "model.json").read_text(encoding="utf-8"))
    config["ngrams"] = 3
    with pytest.raises(ValueError, match="ngrams is 3 but code/features.py implements"):
        trained.code.model.ModelConfig.from_dict(config)
