"""The four acceptance sentences of the original system, classified by both trained models."""

from __future__ import annotations

import json

import pytest

SEED_SENTENCES = [
    ("The new president has called for an emergency conference for international cooperation.", 1, "World"),
    ("Baseball is one of the most popular sports in the United States.", 2, "Sports"),
    ("Stock investing has higher returns in the long run.", 3, "Business"),
    ("The development of science accelerated the development of mankind.", 4, "Sci/Tech"),
]


def _invoke(trained, document: dict) -> dict:
    inference = trained.code.inference
    request = inference.input_fn(json.dumps(document).encode(), "application/json")
    body, content_type = inference.output_fn(inference.predict_fn(request, trained.handler_model), "application/json")
    assert content_type == "application/json"
    return json.loads(body)


@pytest.mark.parametrize(
    ("sentence", "label", "label_name"), SEED_SENTENCES, ids=["world", "sports", "business", "scitech"]
)
def test_seed_sentence(trained, sentence: str, label: int, label_name: str) -> None:
    answer = _invoke(trained, {"sentence": sentence})
    assert answer["success"] == "true"
    assert (answer["label"], answer["label_name"]) == (label, label_name), answer


def test_seed_sentences_in_one_batch(trained) -> None:
    answer = _invoke(trained, {"sentences": [sentence for sentence, _, _ in SEED_SENTENCES]})
    assert [prediction["label"] for prediction in answer["predictions"]] == [1, 2, 3, 4]
