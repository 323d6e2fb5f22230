"""moto in this process, with the CloudWatch / Application Auto Scaling patches the monitoring code reads."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from orchestrator.embedded import moto_compat

PATCHES = (
    moto_compat.patch_cloudwatch_statistics,
    moto_compat.patch_cloudwatch_alarm_initial_state,
    moto_compat.patch_cloudwatch_alarm_history,
    moto_compat.patch_sagemaker_target_tracking_alarms,
    moto_compat.patch_application_autoscaling_activities,
)


@pytest.fixture
def in_process_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Test credentials, us-east-1, the patches, and ``mock_aws`` for the test's duration."""
    from moto import mock_aws

    for key, value in {"AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    moto_compat.apply(*PATCHES)
    with mock_aws():
        yield
