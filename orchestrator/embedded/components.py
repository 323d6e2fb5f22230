"""Components the embedded service hosts by default, besides the control plane.

Why a list here: the data plane lands later (``orchestrator/dataplane/``) and must be hosted by the
same process without the control plane importing it (the control plane never imports torch). Its
owner adds one ``"module:factory"`` line below; ``orchestrator local up --component ...`` or the
``ORCHESTRATOR_EMBEDDED_COMPONENTS`` variable (comma-separated specs) add more, and
``--no-default-components`` runs the bare control plane (the control-plane tests do).
"""

from __future__ import annotations

import os

COMPONENTS_ENV = "ORCHESTRATOR_EMBEDDED_COMPONENTS"

# "package.module:factory" specs; each factory() returns an orchestrator.embedded.service.Component.
DEFAULT_COMPONENTS: tuple[str, ...] = (
    "orchestrator.dataplane.sagemaker.component:factory",  # model servers + InvokeEndpoint; first: Lambda reads its runtime_url
    "orchestrator.dataplane.lambdas.component:factory",  # Lambda execution (Invoke, SNS); before API Gateway
    "orchestrator.dataplane.apigateway.component:factory",  # REST APIs -> Lambda proxy (fast port + /restapis/)
    "orchestrator.dataplane.monitoring.component:factory",  # CloudWatch alarm evaluation + SNS e-mail outbox
)


def component_specs(extra: list[str] | None = None, include_defaults: bool = True) -> list[str]:
    """Specs to load, in start order: defaults, then the environment variable, then ``extra``."""
    specs = list(DEFAULT_COMPONENTS) if include_defaults else []
    specs += [s.strip() for s in os.environ.get(COMPONENTS_ENV, "").split(",") if s.strip()]
    specs += list(extra or [])
    return list(dict.fromkeys(specs))  # first occurrence wins, order kept
