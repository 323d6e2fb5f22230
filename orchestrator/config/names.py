"""Resource names derived from the environment, and the AWS limits they must respect.

Names are never written by hand: everything starts with ``<project.name>-<project.stage>`` (the
prefix). The suffixes below are the ones the Terraform modules add (see the module named beside
each); where Terraform appends a unique suffix to a ``name_prefix`` (26 characters), the limit
applies to the prefix plus that suffix. A name that would only fail at apply time fails at validate.
SageMaker model names need no check: the module truncates the endpoint part and adds a hash.
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
IAM_ROLE_NAME_MAX = 64
S3_BUCKET_MIN, S3_BUCKET_MAX = 3, 63
SSM_NAME_MAX = 1011
DASHBOARD_NAME_MAX = 255
#: The longest "<stack>/<key>" published under the SSM prefix (see the contracts' SSM list).
LONGEST_SSM_SUFFIX = "model-serving/endpoint_config_name"
#: IAM roles named "<prefix><suffix>" by the modules (the longest of each module).
IAM_ROLE_SUFFIXES = {
    "-apigateway-cloudwatch": "api-hosting",
    "-pipeline-apply": "cicd-pipeline",
    "-load-tester": "load-testing",
}
CICD_ARTIFACT_BUCKET_SUFFIX = "-pipeline-artifacts"  # cicd-pipeline module

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
    model_archive_bucket: str = ""
    data_capture_bucket: str = ""
    cicd_artifact_bucket: str = ""
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
            "model_archive_bucket": self.model_archive_bucket,
            "data_capture_bucket": self.data_capture_bucket,
            "cicd_artifact_bucket": self.cicd_artifact_bucket,
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
    count = _get(data, "load_testing", "client_count", default=0)
    count = count if isinstance(count, int) and not isinstance(count, bool) else 0
    return DerivedNames(
        prefix=prefix,
        ssm_prefix=f"/{name}/{stage}",
        endpoint_name=endpoint,
        endpoint_config_name_prefix=f"{endpoint}-",
        model_archive_bucket=f"{prefix}-{_get(data, 'model_archive', 'bucket_base_name', default='')}",
        data_capture_bucket=f"{prefix}-{_get(data, 'serving', 'data_capture', 'bucket_base_name', default='')}",
        cicd_artifact_bucket=f"{prefix}{CICD_ARTIFACT_BUCKET_SUFFIX}",
        api_name=f"{prefix}-{_get(data, 'api', 'name', default='')}",
        predictor_function=f"{prefix}-predictor",
        load_tester_functions=[f"{prefix}-load-tester-{i}" for i in range(1, count + 1)],
        monitor_dashboard=f"{prefix}-{_get(data, 'monitoring', 'dashboard_name', default='')}",
        tester_dashboard=f"{prefix}-{_get(data, 'load_testing', 'dashboard_name', default='')}",
    )


def _bucket_problem(path: str, bucket: str, what: str) -> Problem | None:
    if not S3_BUCKET_MIN <= len(bucket) <= S3_BUCKET_MAX:
        return Problem(
            path,
            f'derived S3 bucket name "{bucket}" ({what}) is {len(bucket)} characters; AWS allows {S3_BUCKET_MIN} to '
            f"{S3_BUCKET_MAX}",
        )
    if (
        not _BUCKET_NAME.match(bucket)
        or bucket.startswith(_BUCKET_RESERVED_PREFIXES)
        or bucket.endswith(_BUCKET_RESERVED_SUFFIXES)
    ):
        return Problem(
            path,
            f'derived S3 bucket name "{bucket}" ({what}) is not a valid bucket name (lowercase letters, digits and '
            "hyphens; no xn--/sthree- prefix, no -s3alias/--ol-s3/--x-s3 suffix)",
        )
    return None


def name_limit_problems(data: dict[str, Any]) -> list[Problem]:
    """Derived names that AWS would reject, blamed on the setting that produces them."""
    if not isinstance(_get(data, "project", "name"), str) or not isinstance(_get(data, "project", "stage"), str):
        return []  # reported by the schema
    names = derive_names(data)
    endpoint_source = "serving.endpoint_base_name" if _get(data, "serving", "endpoint_base_name") else "project.name"
    shorten = "shorten project.name or project.stage"
    problems: list[Problem] = []

    if len(names.endpoint_name) > SAGEMAKER_NAME_MAX:
        problems.append(
            Problem(
                endpoint_source,
                f'derived endpoint name "{names.endpoint_name}" is {len(names.endpoint_name)} characters; '
                f"SageMaker allows at most {SAGEMAKER_NAME_MAX}",
            )
        )
    elif not _SAGEMAKER_NAME.match(names.endpoint_name):
        problems.append(
            Problem(
                endpoint_source, f'derived endpoint name "{names.endpoint_name}" must be letters, digits and hyphens'
            )
        )
    else:
        config_length = len(names.endpoint_config_name_prefix) + TERRAFORM_UNIQUE_SUFFIX_LENGTH
        if config_length > SAGEMAKER_NAME_MAX:
            problems.append(
                Problem(
                    endpoint_source,
                    f'derived endpoint configuration names "{names.endpoint_config_name_prefix}<26-character unique '
                    f'suffix>" would be {config_length} characters; SageMaker allows at most {SAGEMAKER_NAME_MAX}, so '
                    f'the endpoint name "{names.endpoint_name}" may have at most '
                    f"{SAGEMAKER_NAME_MAX - TERRAFORM_UNIQUE_SUFFIX_LENGTH - 1} characters",
                )
            )

    buckets = [
        ("model_archive.bucket_base_name", names.model_archive_bucket, "model archive"),
        ("serving.data_capture.bucket_base_name", names.data_capture_bucket, "data capture"),
    ]
    if _get(data, "cicd", "enabled") is True:
        buckets.append(("project", names.cicd_artifact_bucket, f"CI/CD artifacts; {shorten}"))
    for path, bucket, what in buckets:
        problem = _bucket_problem(path, bucket, what)
        if problem is not None:
            problems.append(problem)

    for function in [names.predictor_function, *names.load_tester_functions[-1:]]:
        if len(function) > LAMBDA_NAME_MAX or not _LAMBDA_NAME.match(function):
            problems.append(
                Problem(
                    "project",
                    f'derived Lambda function name "{function}" is {len(function)} characters; AWS allows at most '
                    f"{LAMBDA_NAME_MAX} ({shorten})",
                )
            )
    for suffix, module in IAM_ROLE_SUFFIXES.items():
        role = f"{names.prefix}{suffix}"
        if len(role) > IAM_ROLE_NAME_MAX:
            problems.append(
                Problem(
                    "project",
                    f'derived IAM role name "{role}" ({module}) is {len(role)} characters; AWS allows at most '
                    f"{IAM_ROLE_NAME_MAX} ({shorten})",
                )
            )
    for path, dashboard in (
        ("monitoring.dashboard_name", names.monitor_dashboard),
        ("load_testing.dashboard_name", names.tester_dashboard),
    ):
        if len(dashboard) > DASHBOARD_NAME_MAX:
            problems.append(
                Problem(path, f'derived dashboard name "{dashboard}" is too long; AWS allows {DASHBOARD_NAME_MAX}')
            )
    ssm_name = f"{names.ssm_prefix}/{LONGEST_SSM_SUFFIX}"
    if len(ssm_name) > SSM_NAME_MAX or not _SSM_NAME.match(ssm_name):
        problems.append(Problem("project", f'derived SSM parameter name "{ssm_name}" is not a valid parameter name'))
    return problems
