"""boto3 clients for an environment: AWS proper, or the embedded control plane on loopback.

Every module that talks to AWS on behalf of an environment gets its clients here, so the choice
between the two targets is made in exactly one place.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from botocore.config import Config

DEFAULT_CONTROL_PLANE_PORT = 4566
# Credentials of the embedded control plane: moto accepts anything; these are not secrets.
EMBEDDED_CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}


def control_plane_url(data: dict[str, Any]) -> str:
    """URL of the embedded control plane configured by an environment's ``target`` section."""
    port = int(data.get("target", {}).get("control_plane_port", DEFAULT_CONTROL_PLANE_PORT))
    return f"http://127.0.0.1:{port}"


def is_embedded(data: dict[str, Any]) -> bool:
    return data.get("target", {}).get("kind") == "embedded"


# Credentials handed to a process by its platform (CI role via OIDC, CodeBuild, ECS, env keys): when
# present they win over the environment file's named profile, which exists only on a workstation.
_AMBIENT_CREDENTIAL_VARS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)


def effective_profile(data: dict[str, Any]) -> str | None:
    """The named AWS profile to use: ``project.profile`` unless the platform supplies credentials."""
    if is_embedded(data) or any(os.environ.get(var) for var in _AMBIENT_CREDENTIAL_VARS):
        return None
    return data.get("project", {}).get("profile") or None


def session_for(data: dict[str, Any]) -> boto3.session.Session:
    project = data.get("project", {})
    if is_embedded(data):
        return boto3.session.Session(region_name=project.get("region", "us-east-1"), **EMBEDDED_CREDENTIALS)
    return boto3.session.Session(profile_name=effective_profile(data), region_name=project.get("region"))


def client(data: dict[str, Any], service: str, *, endpoint_url: str | None = None, config: Config | None = None) -> Any:
    """A boto3 client for ``service`` in the environment described by ``data`` (Environment.data)."""
    cfg = config or Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=60)
    if endpoint_url is None and is_embedded(data):
        endpoint_url = control_plane_url(data)
    return session_for(data).client(service, endpoint_url=endpoint_url, config=cfg)
