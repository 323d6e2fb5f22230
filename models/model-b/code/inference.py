"""SageMaker handler functions for the text classifier (``model_fn``, ``input_fn``, ``predict_fn``, ``output_fn``).

Request (``Content-Type: application/json``), one text or a batch scored in one forward pass::

    {"sentence": "Baseball is ..."}     -> {"success": "true", "label": 2, "label_name": "Sports",
                                            "probabilities": [p1, p2, p3, p4]}
    {"sentences": ["...", "..."]}       -> {"success": "true", "predictions": [{"label": ..., ...}, ...]}

Concurrent requests the model server batches (``SAGEMAKER_TS_BATCH_SIZE`` > 1) go through
``predict_batch_fn``: one forward pass for all of them, each answer equal to its unbatched one.

Client mistakes raise :class:`errors.InferenceError` with a 4xx ``status_code``: 400 (malformed JSON,
missing/non-string/empty text, batch or text too large), 415 (content type), 406 (accept).
The response is always JSON: an ``Accept`` header that is missing or ``*/*`` gets JSON too.

Shared piece: byte-identical in every model's ``code/`` directory (a test enforces it).
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from errors import bad_request, not_acceptable, unsupported_media_type
from model import TextModel, collate, load_model, text_to_ids

JSON_CONTENT_TYPE = "application/json"
_JSON_RANGES = frozenset({"application/json", "application/*", "*/*"})
_CHARSETS = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})
MAX_BATCH_SIZE_ENV = "MODEL_MAX_BATCH_SIZE"
"""Overrides ``serving.max_batch_size`` of model.json (the most sentences one request may carry)."""

_SINGLE, _BATCH = "sentence", "sentences"


@dataclass(frozen=True)
class Request:
    texts: list[str]
    batch: bool

    def field(self, index: int) -> str:
        return f"{_BATCH}[{index}]" if self.batch else _SINGLE


@dataclass(frozen=True)
class Prediction:
    results: list[dict[str, Any]]
    batch: bool


def model_fn(model_dir: str, context: Any = None) -> TextModel:
    """Load model.json, vocab.json and model.pt from the extracted archive."""
    model = load_model(Path(model_dir))
    override = os.environ.get(MAX_BATCH_SIZE_ENV, "").strip()
    if override:
        if not override.isdigit() or int(override) < 1:
            raise ValueError(f"{MAX_BATCH_SIZE_ENV} must be a positive integer, got {override!r}")
        serving = dataclasses.replace(model.config.serving, max_batch_size=int(override))
        model.config = dataclasses.replace(model.config, serving=serving)
    return model


def input_fn(input_data: bytes | bytearray | str, content_type: str | None, context: Any = None) -> Request:
    """Parse a JSON body into the texts to classify; 415 for other content types, 400 for bad bodies."""
    _require_json_content_type(content_type)
    document = _parse_json(_decode(input_data))
    if not isinstance(document, dict):
        raise bad_request(f'the body must be a JSON object: {{"{_SINGLE}": "..."}} or {{"{_BATCH}": ["...", ...]}}')
    if _SINGLE in document and _BATCH in document:
        raise bad_request(f"send either '{_SINGLE}' or '{_BATCH}', not both")
    if _SINGLE in document:
        return Request([_text(document[_SINGLE], _SINGLE)], batch=False)
    if _BATCH in document:
        items = document[_BATCH]
        if not isinstance(items, list) or not items:
            raise bad_request(f"'{_BATCH}' must be a non-empty list of strings")
        return Request([_text(item, f"{_BATCH}[{i}]") for i, item in enumerate(items)], batch=True)
    raise bad_request(f"missing field '{_SINGLE}' (or '{_BATCH}' for a batch)")


def predict_fn(data: Request, model: TextModel, context: Any = None) -> Prediction:
    """Classify every text of the request in one EmbeddingBag forward pass; label = argmax + 1."""
    results = _classify(_token_ids(data, model), model)
    return Prediction(results=results, batch=data.batch)


def predict_batch_fn(inputs: list[Request], model: TextModel, context: Any = None) -> list[Prediction]:
    """Several requests the model server batched together, in one forward pass; one Prediction each.

    Every request is validated exactly as ``predict_fn`` would; if one is invalid this raises, and the
    server re-runs the batch request by request (each gets its own answer or error). The EmbeddingBag
    (the costly part: gathering and pooling every token) runs once for all texts of all requests; each
    bag is pooled on its own, so its row is bit-identical to the request's alone. The small linear
    layer then runs on each request's own rows, as alone: a matrix product's rounding depends on how
    many rows it multiplies, and every answer must equal the unbatched one exactly.
    """
    id_lists = [_token_ids(data, model) for data in inputs]
    text, offsets = collate([ids for ids_of_request in id_lists for ids in ids_of_request])
    predictions, start = [], 0
    with torch.inference_mode():
        pooled = model.network.embedding(text, offsets)
        for data, ids_of_request in zip(inputs, id_lists):
            rows = pooled[start : start + len(ids_of_request)].clone()  # fresh, aligned, as when alone
            probabilities = torch.softmax(model.network.fc(rows), dim=1)
            predictions.append(Prediction(results=_results(probabilities, model), batch=data.batch))
            start += len(ids_of_request)
    return predictions


def _token_ids(data: Request, model: TextModel) -> list[list[int]]:
    """The token ids of every text of one request; 400 for too many, too long or wordless texts."""
    limits = model.config.serving
    if len(data.texts) > limits.max_batch_size:
        raise bad_request(f"'{_BATCH}' has {len(data.texts)} items; the maximum is {limits.max_batch_size}")
    id_lists = []
    for index, text in enumerate(data.texts):
        if len(text) > limits.max_text_chars:
            raise bad_request(f"'{data.field(index)}' is longer than {limits.max_text_chars} characters")
        ids = text_to_ids(text, model.vocab)
        if not ids:
            raise bad_request(f"'{data.field(index)}' contains no words")
        id_lists.append(ids)
    return id_lists


def _classify(id_lists: list[list[int]], model: TextModel) -> list[dict[str, Any]]:
    return _results(model.probabilities(id_lists), model)


def _results(probabilities: torch.Tensor, model: TextModel) -> list[dict[str, Any]]:
    labels = model.config.labels
    results = []
    for row in probabilities.tolist():
        best = max(range(len(row)), key=row.__getitem__)
        results.append({"label": best + 1, "label_name": labels[best], "probabilities": [round(p, 6) for p in row]})
    return results


def output_fn(prediction: Prediction, accept: str | None, context: Any = None) -> tuple[str, str]:
    """Serialize to JSON (the only format offered); 406 if ``accept`` rules JSON out."""
    if not _accepts_json(accept):
        raise not_acceptable(f"cannot produce {accept!r}; this model answers {JSON_CONTENT_TYPE}")
    if prediction.batch:
        body: dict[str, Any] = {"success": "true", "predictions": prediction.results}
    else:
        body = {"success": "true", **prediction.results[0]}
    return json.dumps(body), JSON_CONTENT_TYPE


def _media_type(header: str) -> tuple[str, dict[str, str]]:
    """``'Application/JSON; charset="UTF-8"'`` -> ``('application/json', {'charset': 'utf-8'})``."""
    media, *raw_params = header.split(";")
    params = {}
    for raw in raw_params:
        key, _, value = raw.partition("=")
        params[key.strip().lower()] = value.strip().strip('"').lower()
    return media.strip().lower(), params


def _require_json_content_type(content_type: str | None) -> None:
    if not content_type or not content_type.strip():
        raise unsupported_media_type(f"the Content-Type header is missing; send {JSON_CONTENT_TYPE}")
    media, params = _media_type(content_type)
    if media != JSON_CONTENT_TYPE:
        raise unsupported_media_type(f"content type {content_type!r} is not supported; send {JSON_CONTENT_TYPE}")
    charset = params.get("charset", "utf-8")
    if charset not in _CHARSETS:
        raise unsupported_media_type(f"charset {charset!r} is not supported; send UTF-8")


def _accepts_json(accept: str | None) -> bool:
    if accept is None or not accept.strip():
        return True
    for item in accept.split(","):
        media, params = _media_type(item)
        try:
            quality = float(params.get("q", "1"))
        except ValueError:
            quality = 1.0
        if media in _JSON_RANGES and quality > 0:
            return True
    return False


def _decode(input_data: bytes | bytearray | str) -> str:
    if isinstance(input_data, str):
        return input_data
    if isinstance(input_data, (bytes, bytearray, memoryview)):
        try:
            return bytes(input_data).decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise bad_request(f"the body is not valid UTF-8 ({error.reason} at byte {error.start})") from None
    raise bad_request("the request has no body")


def _parse_json(text: str) -> Any:
    if not text.strip():
        raise bad_request("the body is empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise bad_request(
            f"the body is not valid JSON: {error.msg} (line {error.lineno} column {error.colno})"
        ) from None
    except RecursionError:
        raise bad_request("the body is not valid JSON: nested too deeply") from None


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise bad_request(f"'{name}' must be a string, not {_json_type(value)}")
    if not value.strip():
        raise bad_request(f"'{name}' is empty")
    return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
