"""Environment configuration: ``environments/<name>.json`` merged over its ``extends`` chain,
checked against ``environments/schema.json`` and the rules the schema cannot express.

    from orchestrator.config import load_environment
    env = load_environment("local")
    env.prefix, env.endpoint_name, env.ssm_prefix, env.is_embedded, env.region, env.models
"""

from orchestrator.config.environment import Autoscaling, Environment, ModelSpec, TestCase
from orchestrator.config.loader import environment_file, load_environment
from orchestrator.config.names import DerivedNames, derive_names
from orchestrator.config.schema import SCHEMA_PATH, load_schema

__all__ = [
    "SCHEMA_PATH",
    "Autoscaling",
    "DerivedNames",
    "Environment",
    "ModelSpec",
    "TestCase",
    "derive_names",
    "environment_file",
    "load_environment",
    "load_schema",
]
