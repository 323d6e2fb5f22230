"""Frames exchanged with worker processes (the service side; ``bootstrap.py`` has its own copy).

A frame is ``!II`` (header length, body length), a JSON header and raw body bytes. The body (event
or result JSON) is never re-encoded inside the header, so a request costs one JSON dump of a small
header plus the payload bytes as they came.
"""

from __future__ import annotations

import json
import struct
from typing import Any

FRAME = struct.Struct("!II")


def encode(header: dict[str, Any], body: bytes) -> bytes:
    head = json.dumps(header, separators=(",", ":")).encode()
    return FRAME.pack(len(head), len(body)) + head + body


def decode_sizes(prefix: bytes) -> tuple[int, int]:
    head_len, body_len = FRAME.unpack(prefix)
    return int(head_len), int(body_len)
