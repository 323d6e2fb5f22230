"""A tiny pure-Python model folder (no torch) for packaging and test-model tests."""

from __future__ import annotations

import json
from pathlib import Path

HANDLERS = """
import json
import os

from keywords import classify


class HandlerError(Exception):
    def __init__(self, status_code, message):
        super().__init__(message)
        self.status_code = status_code


def model_fn(model_dir):
    with open(os.path.join(model_dir, "keywords.json")) as handle:
        return json.load(handle)


def input_fn(body, content_type):
    if content_type != "application/json":
        raise HandlerError(415, "unsupported content type " + str(content_type))
    document = json.loads(body)
    if "sentence" not in document:
        raise HandlerError(400, "missing field 'sentence'")
    return document["sentence"]


def predict_fn(data, model):
    return classify(data, model)


def output_fn(prediction, accept):
    return json.dumps({"success": "true", "label": prediction}), "application/json"
"""

KEYWORDS_MODULE = """
def classify(text, keywords):
    words = text.lower().replace(".", " ").split()
    for word, label in keywords.items():
        if word in words:
            return label
    return 0
"""

KEYWORDS = {"president": 1, "baseball": 2, "stock": 3, "science": 4}


def make_model(
    parent: Path,
    name: str = "toy",
    *,
    handlers: str = HANDLERS,
    keywords: dict[str, int] | None = None,
    module: str = KEYWORDS_MODULE,
) -> Path:
    folder = parent / name
    (folder / "code").mkdir(parents=True)
    (folder / "artifacts").mkdir()
    (folder / "code" / "inference.py").write_text(handlers)
    (folder / "code" / "keywords.py").write_text(module)
    (folder / "code" / "requirements.txt").write_text("")
    (folder / "artifacts" / "keywords.json").write_text(json.dumps(keywords or KEYWORDS))
    (folder / "model.json").write_text(json.dumps({"name": name}))
    return folder
