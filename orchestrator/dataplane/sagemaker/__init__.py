"""Local SageMaker hosting data plane: model server workers, InvokeEndpoint, capture, metrics.

Public API for the control plane (see local_runtime.py for the lifecycle):
  * LocalSageMakerRuntime — start() / apply(EndpointSpec) / delete(name) / describe(name) / stop();
  * DataPlaneProcess.spawn(...).client — the same API against the data plane in its own process;
  * component.factory — the embedded-service component (follows sagemaker.endpoint.* events);
  * EndpointSpec, VariantSpec, ModelSpec, DataCaptureSpec, EndpointState (spec.py),
    endpoint_spec_from_api(endpoint_name, describe_endpoint_config, {model: describe_model});
  * sinks: LocalDirCaptureSink, S3CaptureSink (capture.py); InMemoryMetricsSink, CloudWatchMetricsSink.
"""

from orchestrator.dataplane.sagemaker.capture import LocalDirCaptureSink, S3CaptureSink
from orchestrator.dataplane.sagemaker.local_runtime import LocalSageMakerRuntime
from orchestrator.dataplane.sagemaker.metrics import CloudWatchMetricsSink, InMemoryMetricsSink
from orchestrator.dataplane.sagemaker.process import DataPlaneProcess, RemoteSageMakerRuntime
from orchestrator.dataplane.sagemaker.spec import (
    DataCaptureSpec,
    EndpointSpec,
    EndpointState,
    ModelSpec,
    VariantSpec,
    endpoint_spec_from_api,
)

__all__ = [
    "CloudWatchMetricsSink",
    "DataCaptureSpec",
    "DataPlaneProcess",
    "EndpointSpec",
    "EndpointState",
    "InMemoryMetricsSink",
    "LocalDirCaptureSink",
    "LocalSageMakerRuntime",
    "ModelSpec",
    "RemoteSageMakerRuntime",
    "S3CaptureSink",
    "VariantSpec",
    "endpoint_spec_from_api",
]
