"""One test per moto compatibility patch, against the real server process, calling the APIs the way
the Terraform AWS provider 5.100 does (same actions, same parameters)."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import botocore.exceptions
import pytest

from orchestrator.embedded.event_log import EVENTS_PATH
from orchestrator.embedded.testing import ACCOUNT_ID, ControlPlane

pytestmark = pytest.mark.timeout(60)

ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/test-role"


def raw_body(client: Any, operation: str, **params: Any) -> dict[str, Any]:
    """The JSON document the server sent (before botocore turns epoch numbers into datetimes)."""
    captured: dict[str, bytes] = {}

    def keep(response_dict: dict[str, Any], **_: Any) -> None:
        captured["body"] = response_dict["body"]

    event = f"before-parse.{client.meta.service_model.service_id.hyphenize()}.{operation}"
    client.meta.events.register(event, keep)
    try:
        getattr(client, _snake(operation))(**params)
    finally:
        client.meta.events.unregister(event, keep)
    return json.loads(captured["body"])


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def make_models(sm: Any, *names: str) -> None:
    for name in names:
        sm.create_model(
            ModelName=name, ExecutionRoleArn=ROLE_ARN,
            PrimaryContainer={"Image": "123.dkr.ecr.us-east-1.amazonaws.com/serve:1", "ModelDataUrl": f"s3://b/{name}.tar.gz"},
        )


def variant(name: str, model: str, weight: float = 1.0, count: int = 1) -> dict[str, Any]:
    return {"VariantName": name, "ModelName": model, "InitialInstanceCount": count,
            "InstanceType": "ml.c5.large", "InitialVariantWeight": weight}


def events(cp: ControlPlane) -> list[dict[str, Any]]:
    with urllib.request.urlopen(cp.url + EVENTS_PATH, timeout=5) as response:
        return json.loads(response.read())


# 1 ------------------------------------------------------------------------------------------------
def test_appautoscaling_tags_on_scalable_target(control_plane: ControlPlane) -> None:
    aas = control_plane.client("application-autoscaling")
    arn = aas.register_scalable_target(
        ServiceNamespace="sagemaker", ResourceId="endpoint/ep-tags/variant/a",
        ScalableDimension="sagemaker:variant:DesiredInstanceCount", MinCapacity=1, MaxCapacity=3,
        Tags={"Project": "p"},
    )["ScalableTargetARN"]

    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"Project": "p"}
    aas.tag_resource(ResourceARN=arn, Tags={"Stage": "local", "Owner": "me"})
    aas.untag_resource(ResourceARN=arn, TagKeys=["Owner"])
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"Project": "p", "Stage": "local"}

    aas.deregister_scalable_target(ServiceNamespace="sagemaker", ResourceId="endpoint/ep-tags/variant/a",
                                   ScalableDimension="sagemaker:variant:DesiredInstanceCount")
    with pytest.raises(botocore.exceptions.ClientError) as err:
        aas.list_tags_for_resource(ResourceARN=arn)
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


# 2 ------------------------------------------------------------------------------------------------
def test_update_endpoint_switches_config_and_variants(control_plane: ControlPlane) -> None:
    sm = control_plane.client("sagemaker")
    make_models(sm, "upd-a", "upd-b")
    sm.create_endpoint_config(EndpointConfigName="upd-1", ProductionVariants=[variant("a", "upd-a")])
    sm.create_endpoint_config(
        EndpointConfigName="upd-2",
        ProductionVariants=[variant("a", "upd-a", 3.0), variant("b", "upd-b", 1.0, 2)],
        DataCaptureConfig={"EnableCapture": True, "InitialSamplingPercentage": 100,
                           "DestinationS3Uri": "s3://capture/prefix",
                           "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]},
    )
    arn = sm.create_endpoint(EndpointName="upd-ep", EndpointConfigName="upd-1")["EndpointArn"]
    before = sm.describe_endpoint(EndpointName="upd-ep")

    assert sm.update_endpoint(EndpointName="upd-ep", EndpointConfigName="upd-2")["EndpointArn"] == arn
    after = sm.describe_endpoint(EndpointName="upd-ep")
    assert after["EndpointConfigName"] == "upd-2"
    assert after["EndpointStatus"] == "InService"
    assert {(v["VariantName"], v["CurrentWeight"], v["CurrentInstanceCount"]) for v in after["ProductionVariants"]} == {
        ("a", 3.0, 1), ("b", 1.0, 2)}
    assert after["LastModifiedTime"] >= before["LastModifiedTime"]

    with pytest.raises(botocore.exceptions.ClientError) as err:
        sm.update_endpoint(EndpointName="upd-ep", EndpointConfigName="no-such-config")
    assert err.value.response["Error"]["Code"] == "ValidationException"

    kinds = [(e["kind"], e["detail"].get("endpoint_config_name")) for e in events(control_plane)
             if e["detail"].get("endpoint_name") == "upd-ep"]
    assert kinds == [("sagemaker.endpoint.created", "upd-1"), ("sagemaker.endpoint.updated", "upd-2")]


# 3 ------------------------------------------------------------------------------------------------
def test_tls_only_bucket_policy_does_not_deny_object_calls(control_plane: ControlPlane) -> None:
    s3 = control_plane.client("s3")
    s3.create_bucket(Bucket="tls-only")
    s3.put_bucket_policy(Bucket="tls-only", Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": ["arn:aws:s3:::tls-only", "arn:aws:s3:::tls-only/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }]}))
    s3.put_object(Bucket="tls-only", Key="models/m.tar.gz", Body=b"weights")
    assert s3.head_object(Bucket="tls-only", Key="models/m.tar.gz")["ContentLength"] == 7
    assert s3.get_object(Bucket="tls-only", Key="models/m.tar.gz")["Body"].read() == b"weights"


def test_unconditional_bucket_deny_is_still_enforced(control_plane: ControlPlane) -> None:
    s3 = control_plane.client("s3")
    s3.create_bucket(Bucket="deny-all")
    s3.put_bucket_policy(Bucket="deny-all", Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::deny-all/*",
    }]}))
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.put_object(Bucket="deny-all", Key="k", Body=b"x")
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


# 4, 7, x1, x5 -------------------------------------------------------------------------------------
def codebuild_project(name: str, **overrides: Any) -> dict[str, Any]:
    return {
        "name": name, "serviceRole": ROLE_ARN,
        "source": {"type": "CODEPIPELINE", "buildspec": "version: 0.2\nphases: {build: {commands: [make]}}"},
        "artifacts": {"type": "CODEPIPELINE"},
        "environment": {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                        "computeType": "BUILD_GENERAL1_SMALL"},
        **overrides,
    }


def test_codebuild_codepipeline_source_without_location(control_plane: ControlPlane) -> None:
    cb = control_plane.client("codebuild")
    project = cb.create_project(**codebuild_project("cb-pipeline"))["project"]
    assert project["source"]["type"] == "CODEPIPELINE" and "location" not in project["source"]
    assert [p["name"] for p in cb.batch_get_projects(names=["cb-pipeline"])["projects"]] == ["cb-pipeline"]

    # Types that do have a location still need one.
    with pytest.raises(botocore.exceptions.ClientError):
        cb.create_project(**codebuild_project("cb-s3", source={"type": "S3"}))


def test_codebuild_delete_project_by_arn(control_plane: ControlPlane) -> None:
    cb = control_plane.client("codebuild")
    arn = cb.create_project(**codebuild_project("cb-delete"))["project"]["arn"]
    cb.delete_project(name=arn)
    assert cb.batch_get_projects(names=["cb-delete"])["projects"] == []
    cb.create_project(**codebuild_project("cb-delete"))  # the next apply can create it again


def test_codebuild_update_project(control_plane: ControlPlane) -> None:
    cb = control_plane.client("codebuild")
    arn = cb.create_project(**codebuild_project("cb-update"))["project"]["arn"]
    env = {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL",
           "environmentVariables": [{"name": "STAGE", "value": "local", "type": "PLAINTEXT"}]}
    cb.update_project(name=arn, environment=env, description="changed")
    project = cb.batch_get_projects(names=["cb-update"])["projects"][0]
    assert project["description"] == "changed"
    assert project["environment"]["environmentVariables"][0]["value"] == "local"


def test_codebuild_create_keeps_its_encryption_key(control_plane: ControlPlane) -> None:
    cb = control_plane.client("codebuild")
    key = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    cb.create_project(**codebuild_project("cb-kms"), encryptionKey=key)
    assert cb.batch_get_projects(names=["cb-kms"])["projects"][0]["encryptionKey"] == key
    cb.create_project(**codebuild_project("cb-default"))
    assert cb.batch_get_projects(names=["cb-default"])["projects"][0]["encryptionKey"].endswith("alias/aws/s3")


# 5, x4 -------------------------------------------------------------------------------------------
def test_get_pipeline_timestamps_are_epoch_numbers(control_plane: ControlPlane) -> None:
    s3 = control_plane.client("s3")
    s3.create_bucket(Bucket="pipeline-artifacts")
    # x4: several services in one trust statement, and a statement with another kind of principal.
    control_plane.client("iam").create_role(RoleName="pipeline-role", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole",
             "Principal": {"Service": ["codebuild.amazonaws.com", "codepipeline.amazonaws.com"]}},
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}},
        ]}))
    cp = control_plane.client("codepipeline")
    cp.create_pipeline(pipeline={
        "name": "pipe", "roleArn": f"arn:aws:iam::{ACCOUNT_ID}:role/pipeline-role",
        "artifactStore": {"type": "S3", "location": "pipeline-artifacts"},
        "stages": [
            {"name": "Source", "actions": [{"name": "Source", "actionTypeId": {
                "category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                "configuration": {"S3Bucket": "pipeline-artifacts", "S3ObjectKey": "src.zip"},
                "outputArtifacts": [{"name": "src"}]}]},
            {"name": "Build", "actions": [{"name": "Build", "actionTypeId": {
                "category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                "configuration": {"ProjectName": "cb-pipeline"}, "inputArtifacts": [{"name": "src"}]}]},
        ],
    })
    metadata = raw_body(cp, "GetPipeline", name="pipe")["metadata"]
    assert isinstance(metadata["created"], (int, float)) and isinstance(metadata["updated"], (int, float))
    assert abs(metadata["created"] - time.time()) < 300
    listed = raw_body(cp, "ListPipelines")["pipelines"]
    assert all(isinstance(p["created"], (int, float)) for p in listed)


def test_pipeline_role_must_still_trust_codepipeline(control_plane: ControlPlane) -> None:
    control_plane.client("iam").create_role(RoleName="not-for-pipelines", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": ["lambda.amazonaws.com"]}}]}))
    with pytest.raises(botocore.exceptions.ClientError) as err:
        control_plane.client("codepipeline").create_pipeline(pipeline={
            "name": "untrusted", "roleArn": f"arn:aws:iam::{ACCOUNT_ID}:role/not-for-pipelines",
            "artifactStore": {"type": "S3", "location": "pipeline-artifacts"}, "stages": [],
        })
    assert err.value.response["Error"]["Code"] == "InvalidStructureException"


def test_codecommit_repository_timestamps_are_epoch_numbers(control_plane: ControlPlane) -> None:
    cc = control_plane.client("codecommit")
    cc.create_repository(repositoryName="repo")
    meta = raw_body(cc, "GetRepository", repositoryName="repo")["repositoryMetadata"]
    assert isinstance(meta["creationDate"], (int, float)) and isinstance(meta["lastModifiedDate"], (int, float))


# 6 ------------------------------------------------------------------------------------------------
def test_describe_model_omits_empty_vpc_config(control_plane: ControlPlane) -> None:
    sm = control_plane.client("sagemaker")
    make_models(sm, "novpc")
    assert "VpcConfig" not in raw_body(sm, "DescribeModel", ModelName="novpc")
    sm.create_model(ModelName="withvpc", ExecutionRoleArn=ROLE_ARN, PrimaryContainer={"Image": "i"},
                    VpcConfig={"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]})
    assert sm.describe_model(ModelName="withvpc")["VpcConfig"]["Subnets"] == ["subnet-1"]


def test_describe_endpoint_config_omits_empty_data_capture(control_plane: ControlPlane) -> None:
    sm = control_plane.client("sagemaker")
    make_models(sm, "cap-m")
    sm.create_endpoint_config(EndpointConfigName="nocap", ProductionVariants=[variant("a", "cap-m")])
    assert "DataCaptureConfig" not in raw_body(sm, "DescribeEndpointConfig", EndpointConfigName="nocap")
    sm.create_endpoint(EndpointName="nocap-ep", EndpointConfigName="nocap")  # moto reads the key itself
    assert "DataCaptureConfig" not in raw_body(sm, "DescribeEndpoint", EndpointName="nocap-ep")

    sm.create_endpoint_config(EndpointConfigName="cap", ProductionVariants=[variant("a", "cap-m")],
                              DataCaptureConfig={"InitialSamplingPercentage": 30, "DestinationS3Uri": "s3://c/p",
                                                 "CaptureOptions": [{"CaptureMode": "Input"}]})
    assert sm.describe_endpoint_config(EndpointConfigName="cap")["DataCaptureConfig"]["InitialSamplingPercentage"] == 30


# x2 -----------------------------------------------------------------------------------------------
def test_sns_lambda_delivery_is_left_to_the_data_plane(control_plane: ControlPlane) -> None:
    sns = control_plane.client("sns")
    topic = sns.create_topic(Name="trigger")["TopicArn"]
    fn_arn = f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:tester"
    sub = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=fn_arn, ReturnSubscriptionArn=True)
    message_id = sns.publish(TopicArn=topic, Message='{"go": true}', Subject="start")["MessageId"]

    seen = {e["kind"]: e["detail"] for e in events(control_plane) if e["kind"].startswith("sns.")}
    assert seen["sns.subscription.created"]["subscription_arn"] == sub["SubscriptionArn"]
    assert seen["sns.subscription.created"]["endpoint"] == fn_arn
    assert seen["sns.message.published"] == {"topic_arn": topic, "message_id": message_id,
                                             "message": '{"go": true}', "subject": "start", "message_attributes": {},
                                             "message_structure": None}
    assert "error running docker" not in (control_plane.state_dir / "service.log").read_text()


# x3 -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("service", "operation", "params"), [
    ("sagemaker", "list_inference_components", {}),  # JSON protocol
    ("sns", "get_data_protection_policy", {"ResourceArn": f"arn:aws:sns:us-east-1:{ACCOUNT_ID}:t"}),  # query XML
])
def test_unimplemented_action_fails_fast_with_a_clear_error(
    control_plane: ControlPlane, service: str, operation: str, params: dict[str, Any]
) -> None:
    started = time.monotonic()
    with pytest.raises(botocore.exceptions.ClientError) as err:
        getattr(control_plane.client(service), operation)(**params)
    assert time.monotonic() - started < 10
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert err.value.response["Error"]["Code"] == "NotImplemented"
    assert "does not implement" in err.value.response["Error"]["Message"]
    assert "unimplemented: " in (control_plane.state_dir / "service.log").read_text()


# x8 -----------------------------------------------------------------------------------------------
def _lambda_function(control_plane: ControlPlane, name: str, **extra: Any) -> Any:
    import io
    import zipfile

    iam = control_plane.client("iam")
    trust = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    lam = control_plane.client("lambda")
    lam.create_function(FunctionName=name, Runtime="python3.11", Role=role, Handler="app.handler",
                        Code={"ZipFile": code.getvalue()}, **extra)
    return lam


def test_lambda_event_invoke_config_per_qualifier(control_plane: ControlPlane) -> None:
    lam = _lambda_function(control_plane, "x5-async")
    version = lam.publish_version(FunctionName="x5-async")["Version"]
    lam.create_alias(FunctionName="x5-async", Name="live", FunctionVersion=version)
    queue = f"arn:aws:sqs:us-east-1:{ACCOUNT_ID}:failures"
    lam.put_function_event_invoke_config(FunctionName="x5-async", MaximumRetryAttempts=0, MaximumEventAgeInSeconds=60)
    lam.put_function_event_invoke_config(FunctionName="x5-async", Qualifier="live", MaximumRetryAttempts=1)
    # Put replaces (what it leaves out is gone); Update changes only what it is given.
    lam.put_function_event_invoke_config(FunctionName="x5-async", MaximumRetryAttempts=1)
    lam.update_function_event_invoke_config(FunctionName="x5-async:live",
                                            DestinationConfig={"OnFailure": {"Destination": queue}})

    latest = lam.get_function_event_invoke_config(FunctionName="x5-async")
    assert latest["FunctionArn"].endswith(":function:x5-async:$LATEST")
    assert latest["MaximumRetryAttempts"] == 1 and "MaximumEventAgeInSeconds" not in latest
    live = lam.get_function_event_invoke_config(FunctionName="x5-async", Qualifier="live")
    assert live["FunctionArn"].endswith(":function:x5-async:live") and live["MaximumRetryAttempts"] == 1
    assert live["DestinationConfig"]["OnFailure"]["Destination"] == queue
    listed = lam.list_function_event_invoke_configs(FunctionName="x5-async")["FunctionEventInvokeConfigs"]
    assert sorted(c["FunctionArn"].rsplit(":", 1)[1] for c in listed) == ["$LATEST", "live"]

    for missing in ({"Qualifier": version}, {"Qualifier": "no-such-alias"}):
        with pytest.raises(lam.exceptions.ResourceNotFoundException):
            lam.get_function_event_invoke_config(FunctionName="x5-async", **missing)
    lam.delete_function_event_invoke_config(FunctionName="x5-async", Qualifier="live")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.update_function_event_invoke_config(FunctionName="x5-async", Qualifier="live", MaximumRetryAttempts=0)
    assert lam.get_function_event_invoke_config(FunctionName="x5-async")["MaximumRetryAttempts"] == 1


def test_lambda_dead_letter_config_is_kept(control_plane: ControlPlane) -> None:
    dlq = f"arn:aws:sqs:us-east-1:{ACCOUNT_ID}:dead-letters"
    lam = _lambda_function(control_plane, "x5-dlq", DeadLetterConfig={"TargetArn": dlq})
    assert lam.get_function_configuration(FunctionName="x5-dlq")["DeadLetterConfig"] == {"TargetArn": dlq}
    version = lam.publish_version(FunctionName="x5-dlq")["Version"]
    lam.update_function_configuration(FunctionName="x5-dlq", DeadLetterConfig={"TargetArn": ""})
    assert "DeadLetterConfig" not in lam.get_function_configuration(FunctionName="x5-dlq")
    published = lam.get_function_configuration(FunctionName="x5-dlq", Qualifier=version)
    assert published["DeadLetterConfig"] == {"TargetArn": dlq}  # part of the version, as on AWS


# x6 -----------------------------------------------------------------------------------------------
def _rest_api_with_get(apigw: Any, name: str) -> tuple[str, str]:
    """A REST API with ``GET /items`` (API key required, MOCK integration); (api id, resource id)."""
    api_id = apigw.create_rest_api(name=name)["id"]
    root = next(r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    items = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="items")["id"]
    apigw.put_method(restApiId=api_id, resourceId=items, httpMethod="GET", authorizationType="NONE",
                     apiKeyRequired=True)
    apigw.put_integration(restApiId=api_id, resourceId=items, httpMethod="GET", type="MOCK")
    return api_id, items


def test_apigateway_deployment_embeds_the_api_summary_it_deployed(control_plane: ControlPlane) -> None:
    apigw = control_plane.client("apigateway")
    api_id, items = _rest_api_with_get(apigw, "x6-summary")
    first = apigw.create_deployment(restApiId=api_id)["id"]
    item = apigw.create_resource(restApiId=api_id, parentId=items, pathPart="{id}")["id"]
    apigw.put_method(restApiId=api_id, resourceId=item, httpMethod="DELETE", authorizationType="AWS_IAM")
    apigw.put_integration(restApiId=api_id, resourceId=item, httpMethod="DELETE", type="MOCK")
    second = apigw.create_deployment(restApiId=api_id)["id"]

    get = {"authorizationType": "NONE", "apiKeyRequired": True}
    assert apigw.get_deployment(restApiId=api_id, deploymentId=first, embed=["apisummary"])["apiSummary"] == {
        "/items": {"GET": get}}
    assert apigw.get_deployment(restApiId=api_id, deploymentId=second, embed=["apisummary"])["apiSummary"] == {
        "/items": {"GET": get}, "/items/{id}": {"DELETE": {"authorizationType": "AWS_IAM", "apiKeyRequired": False}}}
    assert "apiSummary" not in apigw.get_deployment(restApiId=api_id, deploymentId=second)


# x7 -----------------------------------------------------------------------------------------------
def test_apigateway_delete_deployment_is_refused_only_while_a_stage_uses_it(control_plane: ControlPlane) -> None:
    apigw = control_plane.client("apigateway")
    api_id, _ = _rest_api_with_get(apigw, "x7-delete")
    first = apigw.create_deployment(restApiId=api_id)["id"]  # no stageName, as Terraform creates them
    apigw.create_stage(restApiId=api_id, stageName="live", deploymentId=first)
    with pytest.raises(apigw.exceptions.BadRequestException, match="Active stages pointing to this deployment"):
        apigw.delete_deployment(restApiId=api_id, deploymentId=first)

    named = apigw.create_deployment(restApiId=api_id, stageName="named")["id"]
    second = apigw.create_deployment(restApiId=api_id)["id"]
    for stage, deployment in (("live", second), ("named", second)):
        apigw.update_stage(restApiId=api_id, stageName=stage,
                           patchOperations=[{"op": "replace", "path": "/deploymentId", "value": deployment}])
    apigw.delete_deployment(restApiId=api_id, deploymentId=first)
    apigw.delete_deployment(restApiId=api_id, deploymentId=named)  # its stage moved on
    assert [d["id"] for d in apigw.get_deployments(restApiId=api_id)["items"]] == [second]


# x9 -----------------------------------------------------------------------------------------------
def _minute(offset: int) -> Any:
    import datetime as dt

    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    return now + dt.timedelta(minutes=offset)


def test_cloudwatch_percentiles_from_values_and_counts(control_plane: ControlPlane) -> None:
    cw = control_plane.client("cloudwatch")
    dims = [{"Name": "EndpointName", "Value": "e"}, {"Name": "VariantName", "Value": "a"}]
    stamp = _minute(-3).replace(second=20)
    cw.put_metric_data(Namespace="x9", MetricData=[
        # 1..100 ms, the 100 ms one 10,000 times: one datum, as CloudWatch keeps it
        {"MetricName": "Latency", "Dimensions": dims, "Timestamp": stamp, "Unit": "Milliseconds",
         "Values": [float(v) for v in range(1, 101)], "Counts": [1.0] * 99 + [10000.0]},
        # a statistic set percentiles can use (min == max), and another dimension set (never mixed in)
        {"MetricName": "Latency", "Dimensions": dims, "Timestamp": stamp, "Unit": "Milliseconds",
         "StatisticValues": {"SampleCount": 2, "Sum": 1.0, "Minimum": 0.5, "Maximum": 0.5}},
        {"MetricName": "Latency", "Dimensions": dims[:1], "Timestamp": stamp, "Unit": "Milliseconds", "Value": 9999.0},
    ])
    window = {"Namespace": "x9", "MetricName": "Latency", "Dimensions": dims, "Period": 60,
              "StartTime": _minute(-10).replace(second=33), "EndTime": _minute(1)}
    points = cw.get_metric_statistics(**window, ExtendedStatistics=["p0.5", "p50", "p99.9"])["Datapoints"]
    assert len(points) == 1
    # Periods start at the minute (StartTime rounded down), not at the first datum (hh:mm:20).
    assert points[0]["Timestamp"].second == 0 and points[0]["Timestamp"].minute == stamp.minute
    # nearest rank over 10,101 samples (two 0.5s, 1..99, ten thousand 100s)
    assert points[0]["ExtendedStatistics"] == {"p0.5": 49.0, "p50": 100.0, "p99.9": 100.0}
    basic = cw.get_metric_statistics(**window, Statistics=["SampleCount", "Sum", "Maximum", "Minimum"])["Datapoints"]
    assert basic[0]["SampleCount"] == 10101 and basic[0]["Sum"] == sum(range(1, 100)) + 100 * 10000 + 1.0
    assert (basic[0]["Minimum"], basic[0]["Maximum"]) == (0.5, 100.0)

    query = {"Id": "p", "MetricStat": {"Metric": {"Namespace": "x9", "MetricName": "Latency", "Dimensions": dims},
                                       "Period": 60, "Stat": "p99"}}
    data = cw.get_metric_data(MetricDataQueries=[query], StartTime=window["StartTime"], EndTime=window["EndTime"])
    assert data["MetricDataResults"][0]["Values"] == [100.0]


def test_cloudwatch_percentiles_are_unavailable_for_statistic_sets_and_negative_values(
    control_plane: ControlPlane,
) -> None:
    cw = control_plane.client("cloudwatch")
    stamp = _minute(-2)
    cw.put_metric_data(Namespace="x9b", MetricData=[
        {"MetricName": "Set", "Timestamp": stamp, "StatisticValues": {"SampleCount": 3, "Sum": 6, "Minimum": 1, "Maximum": 3}},
        {"MetricName": "Neg", "Timestamp": stamp, "Values": [-1.0, 2.0]},
    ])
    for name in ("Set", "Neg"):
        points = cw.get_metric_statistics(Namespace="x9b", MetricName=name, Period=60, StartTime=_minute(-5),
                                          EndTime=_minute(1), ExtendedStatistics=["p50"])["Datapoints"]
        assert len(points) == 1 and "ExtendedStatistics" not in points[0], name
    with pytest.raises(botocore.exceptions.ClientError, match="tm90"):
        cw.get_metric_statistics(Namespace="x9b", MetricName="Set", Period=60, StartTime=_minute(-5),
                                 EndTime=_minute(1), ExtendedStatistics=["tm90"])


def test_cloudwatch_values_and_counts_stay_one_datum() -> None:
    """moto stored ``Counts=[10000]`` as ten thousand objects; the patch keeps the datum whole (in process)."""
    import boto3
    from moto import mock_aws
    from moto.cloudwatch.models import cloudwatch_backends

    from orchestrator.embedded import moto_compat

    moto_compat.apply(moto_compat.patch_cloudwatch_statistics)
    with mock_aws():
        cw = boto3.client("cloudwatch", region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
        cw.put_metric_data(Namespace="x9c", MetricData=[{"MetricName": "M", "Values": [1.0, 2.0], "Counts": [10000.0, 5.0]}])
        stored = cloudwatch_backends[ACCOUNT_ID]["us-east-1"].metric_data
        assert len(stored) == 1 and stored[0].sample_count == 10005


# x10 ----------------------------------------------------------------------------------------------
def test_cloudwatch_alarm_starts_insufficient_data_and_an_update_keeps_its_state(control_plane: ControlPlane) -> None:
    cw = control_plane.client("cloudwatch")
    alarm = {"AlarmName": "x10", "Namespace": "x10", "MetricName": "Errors", "Statistic": "Sum", "Period": 60,
             "EvaluationPeriods": 1, "Threshold": 1.0, "ComparisonOperator": "GreaterThanOrEqualToThreshold"}
    cw.put_metric_alarm(**alarm)
    assert cw.describe_alarms(AlarmNames=["x10"])["MetricAlarms"][0]["StateValue"] == "INSUFFICIENT_DATA"
    cw.set_alarm_state(AlarmName="x10", StateValue="ALARM", StateReason="test")
    cw.put_metric_alarm(**{**alarm, "Threshold": 5.0})
    got = cw.describe_alarms(AlarmNames=["x10"])["MetricAlarms"][0]
    assert (got["StateValue"], got["StateReason"], got["Threshold"]) == ("ALARM", "test", 5.0)


# x11 ----------------------------------------------------------------------------------------------
def test_cloudwatch_alarm_history_records_creation_updates_and_state_changes(control_plane: ControlPlane) -> None:
    cw = control_plane.client("cloudwatch")
    alarm = {"AlarmName": "x11", "Namespace": "x11", "MetricName": "Errors", "Statistic": "Sum", "Period": 60,
             "EvaluationPeriods": 1, "Threshold": 1.0, "ComparisonOperator": "GreaterThanOrEqualToThreshold"}
    cw.put_metric_alarm(**alarm)
    cw.set_alarm_state(AlarmName="x11", StateValue="ALARM", StateReason="by hand",
                       StateReasonData=json.dumps({"version": "1.0"}))
    cw.put_metric_alarm(**{**alarm, "Threshold": 2.0})
    items = cw.describe_alarm_history(AlarmName="x11")["AlarmHistoryItems"]
    assert [i["HistorySummary"] for i in items] == [
        'Alarm "x11" updated', "Alarm updated from INSUFFICIENT_DATA to ALARM", 'Alarm "x11" created']
    change = json.loads(items[1]["HistoryData"])
    assert change["oldState"]["stateValue"] == "INSUFFICIENT_DATA"
    assert change["newState"] == {"stateValue": "ALARM", "stateReason": "by hand", "stateReasonData": {"version": "1.0"}}
    only_states = cw.describe_alarm_history(AlarmName="x11", HistoryItemType="StateUpdate")["AlarmHistoryItems"]
    assert len(only_states) == 1
    first = cw.describe_alarm_history(AlarmName="x11", MaxRecords=2, ScanBy="TimestampAscending")
    assert [i["HistorySummary"] for i in first["AlarmHistoryItems"]] == ['Alarm "x11" created', "Alarm updated from INSUFFICIENT_DATA to ALARM"]
    rest = cw.describe_alarm_history(AlarmName="x11", MaxRecords=2, ScanBy="TimestampAscending", NextToken=first["NextToken"])
    assert [i["HistorySummary"] for i in rest["AlarmHistoryItems"]] == ['Alarm "x11" updated'] and "NextToken" not in rest


# x12, x13 -----------------------------------------------------------------------------------------
def test_sagemaker_target_tracking_policy_has_its_alarms_and_activities_answer(control_plane: ControlPlane) -> None:
    aas, cw = control_plane.client("application-autoscaling"), control_plane.client("cloudwatch")
    resource = "endpoint/x12/variant/primary"
    aas.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=resource,
                                 ScalableDimension="sagemaker:variant:DesiredInstanceCount", MinCapacity=1, MaxCapacity=2)
    aas.put_scaling_policy(
        PolicyName="x12", ServiceNamespace="sagemaker", ResourceId=resource,
        ScalableDimension="sagemaker:variant:DesiredInstanceCount", PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 50.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}})
    names = [a["AlarmName"] for a in cw.describe_alarms(AlarmNamePrefix=f"TargetTracking-{resource}-")["MetricAlarms"]]
    assert sorted(n.split("-")[-6] for n in names) == ["AlarmHigh", "AlarmLow"]
    response = aas.describe_scaling_activities(ServiceNamespace="sagemaker", ResourceId=resource)
    assert response["ScalingActivities"] == []  # moto: 501 NotImplemented


# x14 ----------------------------------------------------------------------------------------------
def test_apigateway_update_method_and_integration(control_plane: ControlPlane) -> None:
    apigw = control_plane.client("apigateway")
    api = apigw.create_rest_api(name="x14")["id"]
    root = next(r["id"] for r in apigw.get_resources(restApiId=api)["items"] if r["path"] == "/")
    res = apigw.create_resource(restApiId=api, parentId=root, pathPart="text")["id"]
    apigw.put_method(restApiId=api, resourceId=res, httpMethod="POST", authorizationType="NONE", apiKeyRequired=False)
    fn = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:f/invocations"
    apigw.put_integration(restApiId=api, resourceId=res, httpMethod="POST", type="AWS_PROXY",
                          integrationHttpMethod="POST", uri=fn)
    key = {"restApiId": api, "resourceId": res, "httpMethod": "POST"}

    # What Terraform sends for api_key_required = true and a new request parameter:
    updated = apigw.update_method(**key, patchOperations=[
        {"op": "replace", "path": "/apiKeyRequired", "value": "true"},
        {"op": "add", "path": "/requestParameters/method.request.header.X-Trace", "value": "false"}])
    assert updated["apiKeyRequired"] is True
    assert apigw.get_method(**key)["requestParameters"] == {"method.request.header.X-Trace": False}

    other = fn.replace("function:f/", "function:g/")
    apigw.update_integration(**key, patchOperations=[{"op": "replace", "path": "/uri", "value": other},
                                                     {"op": "replace", "path": "/timeoutInMillis", "value": "1500"}])
    got = apigw.get_integration(**key)
    assert (got["uri"], got["timeoutInMillis"]) == (other, 1500)

    for bad in ({"op": "replace", "path": "/timeoutInMillis", "value": "30000"}, {"op": "replace", "path": "/nope", "value": "x"}):
        with pytest.raises(botocore.exceptions.ClientError) as err:
            apigw.update_integration(**key, patchOperations=[{"op": "replace", "path": "/uri", "value": fn}, bad])
        assert err.value.response["Error"]["Code"] == "BadRequestException"
    assert apigw.get_integration(**key)["uri"] == other  # nothing of a refused patch was applied
