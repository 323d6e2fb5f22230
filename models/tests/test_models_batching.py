"""``predict_batch_fn``: the model server's batches in one forward pass, each answer equal to its unbatched one."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

JSON = "application/json"
DATA = Path(__file__).resolve().parents[1] / "data" / "ag_news_sample.csv"


def _texts(n: int) -> list[str]:
    with DATA.open(newline="") as handle:
        rows = list(csv.reader(handle))
    return [f"{title}. {body}" for _, title, body in rows[:n]]


def _request(trained, document: dict):  # type: ignore[no-untyped-def]
    return trained.code.inference.input_fn(json.dumps(document).encode(), JSON)


def _answer(trained, prediction) -> str:  # type: ignore[no-untyped-def]
    body, content_type = trained.code.inference.output_fn(prediction, JSON)
    assert content_type == JSON
    return body


def test_batch_of_single_sentences_equals_each_alone(trained) -> None:
    inference = trained.code.inference
    requests = [_request(trained, {"sentence": text}) for text in _texts(256)]
    alone = [_answer(trained, inference.predict_fn(r, trained.handler_model)) for r in requests]
    batched = inference.predict_batch_fn(requests, trained.handler_model)
    assert len(batched) == len(requests)
    assert [_answer(trained, p) for p in batched] == alone  # byte-identical bodies


def test_mixed_single_and_multi_sentence_requests(trained) -> None:
    inference = trained.code.inference
    texts = _texts(10)
    requests = [
        _request(trained, {"sentence": texts[0]}),
        _request(trained, {"sentences": texts[1:4]}),
        _request(trained, {"sentence": texts[4]}),
        _request(trained, {"sentences": texts[5:10]}),
    ]
    alone = [_answer(trained, inference.predict_fn(r, trained.handler_model)) for r in requests]
    batched = [_answer(trained, p) for p in inference.predict_batch_fn(requests, trained.handler_model)]
    assert batched == alone
    assert len(json.loads(batched[1])["predictions"]) == 3 and "label" in json.loads(batched[2])


def test_an_invalid_request_fails_the_batch_so_the_server_reruns_it_one_by_one(trained) -> None:
    inference = trained.code.inference
    good = _request(trained, {"sentence": _texts(1)[0]})
    wordless = _request(trained, {"sentence": ";;: \""})  # no word at all: 400 when alone
    with pytest.raises(trained.code.errors.InferenceError) as alone:
        inference.predict_fn(wordless, trained.handler_model)
    assert alone.value.status_code == 400
    with pytest.raises(trained.code.errors.InferenceError):
        inference.predict_batch_fn([good, wordless], trained.handler_model)


def test_the_model_server_uses_the_hook(trained) -> None:
    """The data plane's worker calls predict_batch_fn when it has it (signature with context)."""
    import inspect

    params = list(inspect.signature(trained.code.inference.predict_batch_fn).parameters)
    assert params[:2] == ["inputs", "model"]
