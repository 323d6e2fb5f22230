"""Probes of what the stacks need from the control plane and moto 5.2 provides without a patch.

Why keep them as tests: they document the reach of the embedded control plane (SSM SecureString,
API Gateway usage plans / keys / stage method settings / account, CloudWatch dashboards and alarms,
SNS with KMS, Lambda, Logs, KMS key policies, S3 bucket settings) and catch a moto upgrade that
breaks one. Calls mirror what the Terraform provider sends.
"""

from __future__ import annotations

import io
import json
import zipfile

import botocore.exceptions
import pytest

from orchestrator.embedded.testing import ACCOUNT_ID, ControlPlane

pytestmark = pytest.mark.timeout(60)

ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/probe-role"


@pytest.fixture(scope="module")
def kms_key(control_plane: ControlPlane) -> dict[str, str]:
    kms = control_plane.client("kms")
    policy = {"Version": "2012-10-17", "Statement": [{"Sid": "root", "Effect": "Allow", "Action": "kms:*",
              "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}, "Resource": "*"}]}
    return kms.create_key(Policy=json.dumps(policy), Tags=[{"TagKey": "Project", "TagValue": "p"}])["KeyMetadata"]


def test_kms_key_policy_rotation_alias_tags(control_plane: ControlPlane, kms_key: dict[str, str]) -> None:
    kms = control_plane.client("kms")
    policy = json.dumps({"Version": "2012-10-17", "Statement": []})
    kms.put_key_policy(KeyId=kms_key["KeyId"], PolicyName="default", Policy=policy)
    assert json.loads(kms.get_key_policy(KeyId=kms_key["KeyId"], PolicyName="default")["Policy"])["Statement"] == []
    kms.enable_key_rotation(KeyId=kms_key["KeyId"])
    assert kms.get_key_rotation_status(KeyId=kms_key["KeyId"])["KeyRotationEnabled"]
    kms.create_alias(AliasName="alias/probe", TargetKeyId=kms_key["KeyId"])
    assert kms.list_resource_tags(KeyId=kms_key["KeyId"])["Tags"] == [{"TagKey": "Project", "TagValue": "p"}]


def test_ssm_secure_string(control_plane: ControlPlane, kms_key: dict[str, str]) -> None:
    ssm = control_plane.client("ssm")
    ssm.put_parameter(Name="/p/local/api-hosting/api_key", Value="s3cret", Type="SecureString",
                      KeyId=kms_key["Arn"], Tags=[{"Key": "Project", "Value": "p"}])
    assert ssm.get_parameter(Name="/p/local/api-hosting/api_key", WithDecryption=True)["Parameter"]["Value"] == "s3cret"
    assert ssm.get_parameter(Name="/p/local/api-hosting/api_key")["Parameter"]["Value"] != "s3cret"
    described = ssm.describe_parameters(
        ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": ["/p/local/api-hosting/api_key"]}])
    assert described["Parameters"][0]["KeyId"] == kms_key["Arn"]


def test_lambda_lifecycle_without_docker(control_plane: ControlPlane) -> None:
    control_plane.client("iam").create_role(RoleName="probe-role", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "lambda.amazonaws.com"}}]}))
    lam = control_plane.client("lambda")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return event\n")
    fn = lam.create_function(FunctionName="probe-fn", Runtime="python3.11", Role=ROLE_ARN, Handler="index.handler",
                             Code={"ZipFile": buf.getvalue()}, Environment={"Variables": {"A": "1"}}, Timeout=30)
    assert fn["State"] == "Active"
    lam.get_function_code_signing_config(FunctionName="probe-fn")
    lam.add_permission(FunctionName="probe-fn", StatementId="api", Action="lambda:InvokeFunction",
                       Principal="apigateway.amazonaws.com",
                       SourceArn=f"arn:aws:execute-api:us-east-1:{ACCOUNT_ID}:abc/*/*")
    assert "apigateway.amazonaws.com" in lam.get_policy(FunctionName="probe-fn")["Policy"]
    lam.put_function_concurrency(FunctionName="probe-fn", ReservedConcurrentExecutions=5)
    lam.update_function_code(FunctionName="probe-fn", ZipFile=buf.getvalue())
    lam.update_function_configuration(FunctionName="probe-fn", Timeout=20)
    assert lam.get_function_configuration(FunctionName="probe-fn")["LastUpdateStatus"] == "Successful"


def test_logs_group_retention_kms_tags(control_plane: ControlPlane, kms_key: dict[str, str]) -> None:
    logs = control_plane.client("logs")
    logs.create_log_group(logGroupName="/aws/lambda/probe-logs", tags={"Project": "p"}, kmsKeyId=kms_key["Arn"])
    logs.put_retention_policy(logGroupName="/aws/lambda/probe-logs", retentionInDays=30)
    group = logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/probe-logs")["logGroups"][0]
    assert group["retentionInDays"] == 30 and group["kmsKeyId"] == kms_key["Arn"]
    assert logs.list_tags_for_resource(resourceArn=group["arn"].removesuffix(":*"))["tags"] == {"Project": "p"}


def test_sns_topic_with_kms_and_email_subscription(control_plane: ControlPlane) -> None:
    sns = control_plane.client("sns")
    topic = sns.create_topic(Name="probe-alarms", Attributes={"KmsMasterKeyId": "alias/aws/sns"})["TopicArn"]
    assert sns.get_topic_attributes(TopicArn=topic)["Attributes"]["KmsMasterKeyId"] == "alias/aws/sns"
    sub = sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="oncall@example.com", ReturnSubscriptionArn=True)
    assert sns.get_subscription_attributes(SubscriptionArn=sub["SubscriptionArn"])["Attributes"]["Protocol"] == "email"


def test_cloudwatch_dashboard_and_alarms(control_plane: ControlPlane) -> None:
    cw = control_plane.client("cloudwatch")
    cw.put_dashboard(DashboardName="probe", DashboardBody=json.dumps({"widgets": []}))
    assert json.loads(cw.get_dashboard(DashboardName="probe")["DashboardBody"]) == {"widgets": []}
    cw.put_metric_alarm(AlarmName="probe-5xx", Namespace="AWS/ApiGateway", MetricName="5XXError", Statistic="Sum",
                        Period=60, EvaluationPeriods=3, Threshold=20, ComparisonOperator="GreaterThanThreshold",
                        Dimensions=[{"Name": "ApiName", "Value": "api"}], TreatMissingData="notBreaching",
                        Tags=[{"Key": "Project", "Value": "p"}])
    cw.put_metric_alarm(AlarmName="probe-p99", EvaluationPeriods=3, Threshold=500,
                        ComparisonOperator="GreaterThanThreshold", Metrics=[{
                            "Id": "m1", "ReturnData": True, "MetricStat": {"Period": 60, "Stat": "p99", "Metric": {
                                "Namespace": "AWS/SageMaker", "MetricName": "ModelLatency",
                                "Dimensions": [{"Name": "EndpointName", "Value": "e"}]}}}])
    alarm = cw.describe_alarms(AlarmNames=["probe-5xx"])["MetricAlarms"][0]
    assert cw.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"] == [{"Key": "Project", "Value": "p"}]


def test_apigateway_rest_api_stage_usage_plan_key_account(control_plane: ControlPlane) -> None:
    apigw = control_plane.client("apigateway")
    api = apigw.create_rest_api(name="probe-api", endpointConfiguration={"types": ["REGIONAL"]})["id"]
    root = next(r["id"] for r in apigw.get_resources(restApiId=api)["items"] if r["path"] == "/")
    res = apigw.create_resource(restApiId=api, parentId=root, pathPart="text")["id"]
    apigw.put_method(restApiId=api, resourceId=res, httpMethod="POST", authorizationType="NONE", apiKeyRequired=True)
    apigw.put_integration(restApiId=api, resourceId=res, httpMethod="POST", type="AWS_PROXY",
                          integrationHttpMethod="POST",
                          uri="arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
                              f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:probe-fn/invocations")
    deployment = apigw.create_deployment(restApiId=api)["id"]
    apigw.create_stage(restApiId=api, stageName="local", deploymentId=deployment)
    apigw.update_stage(restApiId=api, stageName="local", patchOperations=[
        {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "100"},
        {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "200"},
        {"op": "replace", "path": "/*/*/metrics/enabled", "value": "true"},
        {"op": "replace", "path": "/*/*/logging/loglevel", "value": "INFO"},
        {"op": "replace", "path": "/accessLogSettings/destinationArn",
         "value": f"arn:aws:logs:us-east-1:{ACCOUNT_ID}:log-group:access"},
        {"op": "replace", "path": "/accessLogSettings/format", "value": "$context.requestId"},
    ])
    stage = apigw.get_stage(restApiId=api, stageName="local")
    assert stage["methodSettings"]["*/*"]["throttlingBurstLimit"] == 200
    assert stage["methodSettings"]["*/*"]["loggingLevel"] == "INFO"
    assert stage["accessLogSettings"]["format"] == "$context.requestId"

    key = apigw.create_api_key(name="probe-key", enabled=True)
    plan = apigw.create_usage_plan(name="probe-plan", apiStages=[{"apiId": api, "stage": "local"}],
                                   throttle={"rateLimit": 100, "burstLimit": 200},
                                   quota={"limit": 100000, "period": "DAY"})
    apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    assert apigw.get_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"])["id"] == key["id"]
    assert apigw.get_api_key(apiKey=key["id"], includeValue=True)["value"]

    apigw.update_account(patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": ROLE_ARN}])
    assert apigw.get_account()["cloudwatchRoleArn"] == ROLE_ARN


def test_s3_bucket_settings(control_plane: ControlPlane, kms_key: dict[str, str]) -> None:
    s3 = control_plane.client("s3")
    s3.create_bucket(Bucket="probe-archive")
    s3.put_bucket_versioning(Bucket="probe-archive", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(Bucket="probe-archive", ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": kms_key["Arn"]},
        "BucketKeyEnabled": True}]})
    s3.put_public_access_block(Bucket="probe-archive", PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.put_bucket_ownership_controls(Bucket="probe-archive",
                                     OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    s3.put_bucket_lifecycle_configuration(Bucket="probe-archive", LifecycleConfiguration={"Rules": [{
        "ID": "noncurrent", "Status": "Enabled", "Filter": {}, "NoncurrentVersionExpiration": {"NoncurrentDays": 30}}]})

    assert s3.get_bucket_versioning(Bucket="probe-archive")["Status"] == "Enabled"
    rule = s3.get_bucket_encryption(Bucket="probe-archive")["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms" and rule["BucketKeyEnabled"]
    assert s3.get_public_access_block(Bucket="probe-archive")["PublicAccessBlockConfiguration"]["BlockPublicPolicy"]
    assert s3.get_bucket_ownership_controls(Bucket="probe-archive")["OwnershipControls"]["Rules"][0] == {
        "ObjectOwnership": "BucketOwnerEnforced"}
    assert s3.get_bucket_lifecycle_configuration(Bucket="probe-archive")["Rules"][0]["ID"] == "noncurrent"
    for read in ("get_bucket_accelerate_configuration", "get_bucket_request_payment", "get_bucket_logging",
                 "get_bucket_acl"):  # what the provider reads for every aws_s3_bucket
        getattr(s3, read)(Bucket="probe-archive")

    s3.put_object(Bucket="probe-archive", Key="k", Body=b"1")
    s3.put_object(Bucket="probe-archive", Key="k", Body=b"2")
    assert len(s3.list_object_versions(Bucket="probe-archive")["Versions"]) == 2


def test_s3_conditional_write_for_terraform_state_locks(control_plane: ControlPlane) -> None:
    s3 = control_plane.client("s3")
    s3.create_bucket(Bucket="probe-state")
    s3.put_object(Bucket="probe-state", Key="stack.tflock", Body=b"{}", IfNoneMatch="*")
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.put_object(Bucket="probe-state", Key="stack.tflock", Body=b"{}", IfNoneMatch="*")
    assert err.value.response["Error"]["Code"] == "PreconditionFailed"
