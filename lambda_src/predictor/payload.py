"""Validation of the API Gateway (REST, proxy integration v1) request into what the model receives.

Accepted body: a JSON object with exactly one of
  - ``sentence``: a non-empty string (not only whitespace), or
  - ``sentences``: a non-empty list of at most MAX_BATCH such strings,
and optionally ``variant`` (a production variant name). The header ``X-Target-Variant`` may name the
variant instead; if both are given they must agree.

Unknown fields are rejected (400 naming the field): a typo such as ``sentense`` would otherwise be
silently ignored and the caller would get a confusing "sentence is required". The model receives only
``{"sentence": ...}`` or ``{"sentences": [...]}``; ``variant`` is routing, not model input.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ALLOWED_FIELDS = ("sentence", "sentences", "variant")
VARIANT_HEADER = "x-target-variant"
# botocore's pattern for TargetVariant (max 63 chars).
_VARIANT_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


class RequestError(Exception):
    """A client mistake: becomes a 4xx response whose message names the offending field."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field


@dataclass(frozen=True)
class PredictRequest:
    model_input: dict[str, Any]
    batch_size: int | None  # None for a single sentence
    variant: str | None


def _bad(message: str, field: str | None = None) -> RequestError:
    return RequestError(400, "InvalidRequest", message, field)


def header(event: Mapping[str, Any], name: str) -> str | None:
    """Case-insensitive header lookup over ``headers`` and ``multiValueHeaders`` (first value)."""
    wanted = name.lower()
    for key, value in (event.get("headers") or {}).items():
        if isinstance(key, str) and key.lower() == wanted and isinstance(value, str):
            return value
    for key, values in (event.get("multiValueHeaders") or {}).items():
        if isinstance(key, str) and key.lower() == wanted and values:
            first = values[0]
            return first if isinstance(first, str) else None
    return None


def _raw_body(event: Mapping[str, Any], max_body_bytes: int) -> bytes:
    body = event.get("body")
    if body is None or body == "":
        raise _bad("request body is required: a JSON object with 'sentence' or 'sentences'", "body")
    if not isinstance(body, str):
        raise _bad("request body must be a JSON text", "body")
    too_large = RequestError(
        413, "PayloadTooLarge", f"request body is larger than the limit of {max_body_bytes} bytes", "body"
    )
    if event.get("isBase64Encoded"):
        # Cheap pre-check before decoding: base64 inflates by 4/3.
        if len(body) > (max_body_bytes + 2) // 3 * 4 + 4:
            raise too_large
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise _bad("request body is marked base64 but is not valid base64", "body") from None
    else:
        if len(body) > max_body_bytes:  # each character is at least one UTF-8 byte
            raise too_large
        raw = body.encode("utf-8", errors="surrogatepass")
    if len(raw) > max_body_bytes:
        raise too_large
    return raw


def _variant(value: Any, source: str) -> str:
    if not isinstance(value, str) or not _VARIANT_RE.match(value):
        raise _bad(
            f"'{source}' must be a production variant name (letters, digits and hyphens, at most 63)",
            source,
        )
    return value


def _sentence(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _bad(f"'{field}' must be a non-empty string", field)
    return value


def parse_request(event: Mapping[str, Any], *, max_body_bytes: int, max_batch: int) -> PredictRequest:
    raw = _raw_body(event, max_body_bytes)
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise _bad("request body is not valid UTF-8", "body") from None
    except json.JSONDecodeError as exc:
        raise _bad(f"request body is not valid JSON ({exc.msg} at position {exc.pos})", "body") from None
    except RecursionError:
        raise _bad("request body is nested too deeply", "body") from None
    if not isinstance(data, dict):
        raise _bad("request body must be a JSON object", "body")

    unknown = sorted(key for key in data if key not in ALLOWED_FIELDS)
    if unknown:
        raise _bad(f"unknown field '{unknown[0]}'; allowed fields: {', '.join(ALLOWED_FIELDS)}", unknown[0])

    if "sentence" in data and "sentences" in data:
        raise _bad("send either 'sentence' or 'sentences', not both", "sentences")
    if "sentence" in data:
        model_input: dict[str, Any] = {"sentence": _sentence(data["sentence"], "sentence")}
        batch_size = None
    elif "sentences" in data:
        items = data["sentences"]
        if not isinstance(items, list) or not items:
            raise _bad("'sentences' must be a non-empty list of strings", "sentences")
        if len(items) > max_batch:
            raise _bad(f"'sentences' has {len(items)} items; at most {max_batch} are allowed", "sentences")
        model_input = {"sentences": [_sentence(s, f"sentences[{i}]") for i, s in enumerate(items)]}
        batch_size = len(items)
    else:
        raise _bad("'sentence' (a string) or 'sentences' (a list of strings) is required", "sentence")

    body_variant = _variant(data["variant"], "variant") if "variant" in data else None
    header_value = header(event, VARIANT_HEADER)
    header_variant = _variant(header_value, "X-Target-Variant") if header_value else None
    if body_variant and header_variant and body_variant != header_variant:
        raise _bad("'variant' and the X-Target-Variant header name different variants", "variant")
    return PredictRequest(model_input, batch_size, body_variant or header_variant)
