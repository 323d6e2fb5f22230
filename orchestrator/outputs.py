"""What an applied environment exposes, read back from the SSM parameters the stacks publish.

SSM is the contract between stacks (``/<project>/<stage>/<stack>/<key>``), so it is also what
``orchestrator outputs`` reads: no Terraform run is needed, and the API key's value is never read
(only the name of its SecureString parameter is shown).
"""

from __future__ import annotations

import json
from typing import Any

from orchestrator import aws_clients
from orchestrator.config import Environment


def published_parameters(env: Environment) -> dict[str, dict[str, str]]:
    """``{stack: {key: value}}`` for every parameter under the environment's prefix (secrets excluded)."""
    ssm = aws_clients.client(env.data, "ssm")
    prefix = env.ssm_prefix.rstrip("/") + "/"
    found: dict[str, dict[str, str]] = {}
    paginator = ssm.get_paginator("get_parameters_by_path")
    for page in paginator.paginate(Path=prefix, Recursive=True, WithDecryption=False):
        for param in page.get("Parameters", []):
            relative = param["Name"][len(prefix) :]
            stack, _, key = relative.partition("/")
            if not key:
                continue
            value = f"(SecureString {param['Name']})" if param.get("Type") == "SecureString" else param["Value"]
            found.setdefault(stack, {})[key] = value
    return found


def _json_or_value(value: str | None) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return value


def environment_outputs(env: Environment) -> dict[str, Any]:
    """The figures a user needs after apply, in a stable shape."""
    params = published_parameters(env)
    archive = params.get("model-archive", {})
    serving = params.get("model-serving", {})
    api = params.get("api-hosting", {})
    monitoring = params.get("monitoring", {})
    testing = params.get("load-testing", {})
    cicd = params.get("cicd-pipeline", {})
    outputs: dict[str, Any] = {
        "environment": env.name,
        "api_invoke_url": api.get("invoke_url"),
        "api_key_ssm_name": f"{env.ssm_prefix}/api-hosting/api_key" if api else None,
        "endpoint_name": serving.get("endpoint_name"),
        "endpoint_config_name": serving.get("endpoint_config_name"),
        "variants": _json_or_value(serving.get("variant_names")),
        "buckets": {
            "model_archive": archive.get("bucket_name"),
            "data_capture": serving.get("capture_bucket_name"),
            "cicd_artifacts": cicd.get("artifact_bucket_name"),
        },
        "dashboards": {"monitor": monitoring.get("dashboard_name"), "tester": testing.get("dashboard_name")},
        "sns_topics": {"alarms": monitoring.get("alarm_topic_arn"), "test_trigger": testing.get("trigger_topic_arn")},
        "pipeline_name": cicd.get("pipeline_name"),
        "deployed_stacks": sorted(params),
    }
    if env.is_embedded:
        outputs["control_plane_url"] = aws_clients.control_plane_url(env.data)
    return outputs


def format_outputs(outputs: dict[str, Any]) -> str:
    lines = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}.{key}" if prefix else key, item)
        else:
            shown = ", ".join(map(str, value)) if isinstance(value, list) else ("-" if value is None else str(value))
            lines.append((prefix, shown))

    walk("", outputs)
    width = max(len(k) for k, _ in lines)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in lines)


__all__ = ["environment_outputs", "format_outputs", "published_parameters"]
