"""Fixtures for the local SageMaker data plane: tiny handler folders, a running runtime, a boto3 client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from dataplane_helpers import ECHO, write_model

from orchestrator.dataplane.sagemaker import InMemoryMetricsSink, LocalDirCaptureSink, LocalSageMakerRuntime


@pytest.fixture
def model_factory(tmp_path: Path) -> Callable[..., Path]:
    def make(source: str = ECHO, name: str = "model") -> Path:
        return write_model(tmp_path / "models", source, name)

    return make


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[LocalSageMakerRuntime]:
    rt = LocalSageMakerRuntime(
        work_dir=tmp_path / "work",
        capture_sink=LocalDirCaptureSink(tmp_path / "s3"),
        capture_flush_interval=0.2,
        metrics_sink=InMemoryMetricsSink(),
        stop_grace=2.0,
        drain_timeout=5.0,
        load_timeout=60.0,
    )
    rt.start()
    try:
        yield rt
    finally:
        rt.stop()


@pytest.fixture
def smr(runtime: LocalSageMakerRuntime):  # type: ignore[no-untyped-def]
    """boto3 sagemaker-runtime client pointed at the runtime (dummy credentials: any signature works)."""
    return boto3.client(
        "sagemaker-runtime",
        endpoint_url=runtime.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}, read_timeout=30, max_pool_connections=32),
    )
