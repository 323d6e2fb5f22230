"""File digests in the forms Terraform and S3 keys use."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path


def sha256_file(path: Path) -> tuple[str, int, bytes]:
    """(hex digest, size in bytes, raw digest) of a file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size, digest.digest()


def terraform_source_code_hash(raw_digest: bytes) -> str:
    """Base64 of the SHA-256 digest: what Terraform's ``filebase64sha256()`` returns."""
    return base64.b64encode(raw_digest).decode("ascii")
