"""Plain data the control plane hands to the data plane: what an endpoint should look like.

The control plane (moto + an observer) owns the state; these dataclasses are a snapshot of it in
the shape the data plane needs, so `EndpointManager.apply(spec)` can be driven from CreateEndpoint /
UpdateEndpoint events without the data plane ever storing control-plane state of its own.
`endpoint_spec_from_api` builds one from DescribeEndpointConfig + DescribeModel answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class ModelSpec:
    """A SageMaker Model: where its artifact is and the container environment."""

    name: str
    # s3://bucket/key/model.tar.gz, a local model.tar.gz, or an already extracted directory.
    model_data: str
    env: Mapping[str, str] = field(default_factory=dict)

    def key(self) -> tuple[str, str, tuple[tuple[str, str], ...]]:
        return (self.name, self.model_data, tuple(sorted(self.env.items())))


@dataclass(frozen=True)
class VariantSpec:
    """A production variant: a model served by `instance_count` instances, with a traffic weight."""

    variant_name: str
    model: ModelSpec
    weight: float = 1.0
    instance_count: int = 1
    instance_type: str = "ml.c5.large"


@dataclass(frozen=True)
class DataCaptureSpec:
    """DataCaptureConfig of an endpoint configuration (EnableCapture etc.)."""

    enabled: bool
    destination_s3_uri: str
    sampling_percentage: float = 100.0
    capture_input: bool = True
    capture_output: bool = True
    csv_content_types: tuple[str, ...] = ()
    json_content_types: tuple[str, ...] = ()
    kms_key_id: str | None = None
    # False when the config has no CaptureContentTypeHeader at all (then everything is BASE64).
    has_content_type_header: bool = False

    @classmethod
    def from_api(cls, config: Mapping[str, Any]) -> DataCaptureSpec:
        options = [o.get("CaptureMode") for o in config.get("CaptureOptions", [])]
        header = config.get("CaptureContentTypeHeader")
        return cls(
            enabled=bool(config.get("EnableCapture", True)),
            destination_s3_uri=str(config["DestinationS3Uri"]).rstrip("/"),
            sampling_percentage=float(config.get("InitialSamplingPercentage", 100)),
            capture_input="Input" in options,
            capture_output="Output" in options,
            csv_content_types=tuple((header or {}).get("CsvContentTypes", ())),
            json_content_types=tuple((header or {}).get("JsonContentTypes", ())),
            kms_key_id=config.get("KmsKeyId"),
            has_content_type_header=header is not None,
        )


@dataclass(frozen=True)
class EndpointSpec:
    """An endpoint and the configuration it should serve."""

    name: str
    config_name: str
    variants: tuple[VariantSpec, ...]
    data_capture: DataCaptureSpec | None = None
    # True for UpdateEndpointWeightsAndCapacities: scale the running variants in place (start or drain
    # only the difference). An UpdateEndpoint brings up new instances for a changed variant instead.
    in_place: bool = False


@dataclass
class EndpointState:
    """What the data plane reports back: InService, Failed (with FailureReason), Creating, Updating."""

    name: str
    status: str
    config_name: str | None = None
    failure_reason: str | None = None
    variants: dict[str, int] = field(default_factory=dict)  # variant -> live worker processes


def endpoint_spec_from_api(
    endpoint_name: str,
    endpoint_config: Mapping[str, Any],
    models: Mapping[str, Mapping[str, Any]],
) -> EndpointSpec:
    """Build a spec from DescribeEndpointConfig and {model name: DescribeModel} answers."""
    variants = []
    for pv in endpoint_config["ProductionVariants"]:
        model = models[pv["ModelName"]]
        container = model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]
        variants.append(
            VariantSpec(
                variant_name=pv["VariantName"],
                weight=float(pv.get("InitialVariantWeight", 1.0)),
                instance_count=int(pv.get("InitialInstanceCount", 1)),
                instance_type=str(pv.get("InstanceType", "ml.c5.large")),
                model=ModelSpec(
                    name=pv["ModelName"],
                    model_data=str(container.get("ModelDataUrl", "")),
                    env=dict(container.get("Environment") or {}),
                ),
            )
        )
    capture = endpoint_config.get("DataCaptureConfig")
    return EndpointSpec(
        name=endpoint_name,
        config_name=str(endpoint_config["EndpointConfigName"]),
        variants=tuple(variants),
        data_capture=DataCaptureSpec.from_api(capture) if capture else None,
    )


def spec_to_dict(spec: EndpointSpec) -> dict[str, Any]:
    """JSON-able form of a spec (the out-of-process data plane's control API carries it)."""
    return asdict(spec)


def spec_from_dict(data: Mapping[str, Any]) -> EndpointSpec:
    capture = data.get("data_capture")
    return EndpointSpec(
        name=data["name"],
        config_name=data["config_name"],
        variants=tuple(
            VariantSpec(
                variant_name=v["variant_name"],
                model=ModelSpec(v["model"]["name"], v["model"]["model_data"], dict(v["model"].get("env") or {})),
                weight=float(v.get("weight", 1.0)),
                instance_count=int(v.get("instance_count", 1)),
                instance_type=str(v.get("instance_type", "ml.c5.large")),
            )
            for v in data["variants"]
        ),
        data_capture=None
        if not capture
        else DataCaptureSpec(
            **{**capture, "csv_content_types": tuple(capture.get("csv_content_types", ())),
               "json_content_types": tuple(capture.get("json_content_types", ()))}
        ),
        in_place=bool(data.get("in_place", False)),
    )
