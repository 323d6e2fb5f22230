"""Resource names derived from the environment, and the AWS limits they must respect.

Names are never written by hand: everything starts with ``<project.name>-<project.stage>``.
Where Terraform adds a unique suffix (``name_prefix``: 26 characters), the limit applies to the
prefix plus that suffix, so a name that would only fail at apply time fails at validate time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from orchestrator.errors import Problem

#: Length of the unique suffix Terraform appends to ``name_prefix`` (resource.UniqueIDSuffixLength).
TERRAFORM_UNIQUE_SUFFIX_LENGTH = 26
SAGEMAKER_NAME_MAX = 63
LAMBDA_NAME_MAX = 64
S3_BUCKET_MIN, S3_BUCKET_MAX = 3, 63
SSM_NAME_MAX = 1011
DASHBOARD_NAME_MAX = 255
#: The longest "<stack>/<key>" published under the SSM prefix (see the contracts' SSM list).
LONGEST_SSM_SUFFIX = "model-serving/endpoint_config_name"

_SAGEMAKER_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")
_LAMBDA_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*[a-z0-9]$")
_BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", "--x-s3", ".mrap")
_SSM_NAME = re.compile(r"^[a-zA-Z0-9_./-]+$")


@dataclass(frozen=True)
class DerivedNames:
    """Every name the stacks derive from one environment."""

    prefix: str
    ssm_prefix: str
    endpoint_name: str
    endpoint_config_name_prefix: str
    model_name_prefixes: dict[str, str] = field(default_factory=dict)
    model_archive_bucket: str = ""
    data_capture_bucket: str = ""
    api_name: str = ""
    predictor_function: str = ""
    load_tester_functions: list[str] = field(default_factory=list)
    monitor_dashboard: str = ""
    tester_dashboard: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "prefix": self.prefix,
            "ssm_prefix": self.ssm_prefix,
            "endpoint_name": self.endpoint_name,
            "endpoint_config_name_prefix": self.endpoint_config_name_prefix,
            "model_name_prefixes": dict(self.model_name_prefixes),
            "model_archive_bucket": self.model_archive_bucket,
            "data_capture_bucket": self.data_capture_bucket,
            "api_name": self.api_name,
            "predictor_function": self.predictor_function,
            "load_tester_functions": list(self.load_tester_functions),
            "monitor_dashboard": self.monitor_dashboard,
            "tester_dashboard": self.tester_dashboard,
        }


def _get(data: dict[str, Any], *keys: str, default: Any = None) -> Any:
    node: Any = data
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return default
        node = node[key]
    return node


def derive_names(data: dict[str, Any]) -> DerivedNames:
    """Names for a merged document with defaults applied (tolerates wrong types: uses str())."""
    name = str(_get(data, "project", "name", default=""))
    stage = str(_get(data, "project", "stage", default=""))
    prefix = f"{name}-{stage}"
    base = _get(data, "serving", "endpoint_base_name")
    endpoint = f"{base}-{stage}" if isinstance(base, str) and base else prefix
    models = _get(data, "serving", "models", default=[])
    model_names = (
        [m["name"] for m in models if isinstance(m, dict) and isinstance(m.get("name"), str)]
        if isinstance(models, list)
        else []
    )
    count = _get(data, "load_testing", "client_count", default=0)
    count = count if isinstance(count, int) and not isinstance(count, bool) else 0
    return DerivedNames(
        prefix=prefix,
        ssm_prefix=f"/{name}/{stage}",
        endpoint_name=endpoint,
        endpoint_config_name_prefix=f"{endpoint}-",
        model_name_prefixes={m: f"{prefix}-{m}-" for m in model_names},
        model_archive_bucket=f"{prefix}-{_get(data, 'model_archive', 'bucket_base_name', default='')}",
        data_capture_bucket=f"{prefix}-{_get(data, 'serving', 'data_capture', 'bucket_base_name', default='')}",
        api_name=f"{prefix}-{_get(data, 'api', 'name', default='')}",
        predictor_function=f"{prefix}-predictor",
        load_tester_functions=[f"{prefix}-load-tester-{i}" for i in range(1, count + 1)],
        monitor_dashboard=f"{prefix}-{_get(data, 'monitoring', 'dashboard_name', default='')}",
        tester_dashboard=f"{prefix}-{_get(data, 'load_testing', 'dashboard_name', default='')}",
    )


def name_limit_problems(data: dict[str, Any]) -> list[Problem]:
    """Derived names that AWS would reject, blamed on the setting that produces them."""
    if not isinstance(_get(data, "project", "name"), str) or not isinstance(_get(data, "project", "stage"), str):
        return []  # reported by the schema
    names = derive_names(data)
    endpoint_source = "serving.endpoint_base_name" if _get(data, "serving", "endpoint_base_name") else "project.name"
    problems: list[Problem] = []

    def too_long(path: str, what: str, value: str, limit: int, note: str = "") -> None:
        problems.append(
            Problem(path, f'derived {what} "{value}" is {len(value)} characters{note}; AWS allows at most {limit}')
        )

    if len(names.endpoint_name) > SAGEMAKER_NAME_MAX:
        too_long(endpoint_source, "endpoint name", names.endpoint_name, SAGEMAKER_NAME_MAX)
    elif not _SAGEMAKER_NAME.match(names.endpoint_name):
        problems.append(
            Problem(
                endpoint_source, f'derived endpoint name "{names.endpoint_name}" must be letters, digits and hyphens'
            )
        )
    config_length = len(names.endpoint_config_name_prefix) + TERRAFORM_UNIQUE_SUFFIX_LENGTH
    if len(names.endpoint_name) <= SAGEMAKER_NAME_MAX and config_length > SAGEMAKER_NAME_MAX:
        problems.append(
            Problem(
                endpoint_source,
                f'derived endpoint configuration names "{names.endpoint_config_name_prefix}<26-character unique suffix>" '
                f"would be {config_length} characters; SageMaker allows at most {SAGEMAKER_NAME_MAX}, so the endpoint "
                f'name "{names.endpoint_name}" may have at most '
                f"{SAGEMAKER_NAME_MAX - TERRAFORM_UNIQUE_SUFFIX_LENGTH - 1} characters",
            )
        )
    models = _get(data, "serving", "models", default=[])
    for index, model in enumerate(models if isinstance(models, list) else []):
        if not isinstance(model, dict) or model.get("name") not in names.model_name_prefixes:
            continue
        name_prefix = names.model_name_prefixes[model["name"]]
        length = len(name_prefix) + TERRAFORM_UNIQUE_SUFFIX_LENGTH
        if length > SAGEMAKER_NAME_MAX:
            problems.append(
                Problem(
                    f"serving.models[{index}].name",
                    f'derived SageMaker model names "{name_prefix}<26-character unique suffix>" would be {length} '
                    f"characters; SageMaker allows at most {SAGEMAKER_NAME_MAX} (shorten the model name by "
                    f"{length - SAGEMAKER_NAME_MAX})",
                )
            )
    for path, bucket in (
        ("model_archive.bucket_base_name", names.model_archive_bucket),
        ("serving.data_capture.bucket_base_name", names.data_capture_bucket),
    ):
        if not S3_BUCKET_MIN <= len(bucket) <= S3_BUCKET_MAX:
            too_long(path, "S3 bucket name", bucket, S3_BUCKET_MAX)
        elif (
            not _BUCKET_NAME.match(bucket)
            or bucket.startswith(_BUCKET_RESERVED_PREFIXES)
            or bucket.endswith(_BUCKET_RESERVED_SUFFIXES)
        ):
            problems.append(
                Problem(
                    path,
                    f'derived S3 bucket name "{bucket}" is not a valid bucket name (lowercase letters, digits and '
                    f"hyphens; no xn--/sthree- prefix, no -s3alias/--ol-s3/--x-s3 suffix)",
                )
            )
    for function in [names.predictor_function, *names.load_tester_functions[-1:]]:
        if len(function) > LAMBDA_NAME_MAX:
            too_long("project.name", "Lambda function name", function, LAMBDA_NAME_MAX)
        elif not _LAMBDA_NAME.match(function):
            problems.append(
                Problem("project.name", f'derived Lambda function name "{function}" has invalid characters')
            )
    for path, dashboard in (
        ("monitoring.dashboard_name", names.monitor_dashboard),
        ("load_testing.dashboard_name", names.tester_dashboard),
    ):
        if len(dashboard) > DASHBOARD_NAME_MAX:
            too_long(path, "dashboard name", dashboard, DASHBOARD_NAME_MAX)
    ssm_name = f"{names.ssm_prefix}/{LONGEST_SSM_SUFFIX}"
    if len(ssm_name) > SSM_NAME_MAX or not _SSM_NAME.match(ssm_name):
        problems.append(
            Problem("project.name", f'derived SSM parameter name "{ssm_name}" is not a valid parameter name')
        )
    return problems
