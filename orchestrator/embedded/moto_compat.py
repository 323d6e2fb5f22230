"""Compatibility patches that make moto 5.2 behave like AWS where the Terraform AWS provider 5.100 looks.

Why this module exists: the embedded control plane is moto in server mode, and the provider probes
APIs and response shapes that moto either lacks or renders differently from AWS. Each gap below was
measured with the provider (see ``/work/shared/reference/embedded-aws.md``); each patch is one small
function that says what AWS does, what moto 5.2 does and what we change. Nothing here is a feature of
our own: when moto fixes a gap upstream, delete the patch.

Patches touch moto's classes in the current process only, so they must run inside the control-plane
process (``python -m orchestrator.embedded.server`` calls :func:`apply_all` before serving).
:func:`apply_all` is idempotent: a patch that already ran is skipped.

Numbered patches mirror the reference document; ``x``-patches close gaps found by our own probes.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

Patch = Callable[[], None]
_APPLIED: set[str] = set()


# --------------------------------------------------------------------------------------------------
# 1. application-autoscaling tag APIs
# --------------------------------------------------------------------------------------------------
def patch_application_autoscaling_tags() -> None:
    """Tag APIs for scalable targets.

    AWS: ``TagResource`` / ``UntagResource`` / ``ListTagsForResource`` work on a scalable-target ARN,
    and ``RegisterScalableTarget`` accepts ``Tags``.
    moto 5.2: none of the three tag actions exists (the provider retries ``ListTagsForResource``
    forever after creating an ``aws_appautoscaling_target``) and ``Tags`` on register are dropped.
    We: keep a tag dict per ARN on the backend, fill it from register and the tag actions, and answer
    ``ResourceNotFoundException`` for an ARN that names no registered target, as AWS does.
    """
    from moto.applicationautoscaling.models import ApplicationAutoscalingBackend
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse
    from moto.core.exceptions import JsonRESTError

    def tag_store(backend: ApplicationAutoscalingBackend) -> dict[str, dict[str, str]]:
        store = getattr(backend, "compat_tags", None)
        if store is None:
            store = {}
            backend.compat_tags = store  # type: ignore[attr-defined]
        return store

    def target_arns(backend: ApplicationAutoscalingBackend) -> set[str]:
        return {t.arn for by_id in backend.targets.values() for t in by_id.values()}

    def checked_tags(self: ApplicationAutoScalingResponse) -> tuple[dict[str, str], str]:
        backend = self.applicationautoscaling_backend
        arn = self._get_param("ResourceARN")
        if arn not in target_arns(backend):
            raise JsonRESTError("ResourceNotFoundException", f"No scalable target found for ARN {arn}")
        store = tag_store(backend)
        # Drop tags of targets deregistered since (moto has no hook on deregister).
        for stale in set(store) - target_arns(backend):
            del store[stale]
        return store.setdefault(arn, {}), arn

    def list_tags_for_resource(self: ApplicationAutoScalingResponse) -> str:
        tags, _ = checked_tags(self)
        return json.dumps({"Tags": dict(tags)})

    def tag_resource(self: ApplicationAutoScalingResponse) -> str:
        tags, _ = checked_tags(self)
        tags.update(self._get_param("Tags") or {})
        return json.dumps({})

    def untag_resource(self: ApplicationAutoScalingResponse) -> str:
        tags, _ = checked_tags(self)
        for key in self._get_param("TagKeys") or []:
            tags.pop(key, None)
        return json.dumps({})

    original_register = ApplicationAutoScalingResponse.register_scalable_target

    def register_scalable_target(self: ApplicationAutoScalingResponse) -> str:
        body = original_register(self)
        tags = self._get_param("Tags")
        if tags:
            arn = json.loads(body)["ScalableTargetARN"]
            tag_store(self.applicationautoscaling_backend).setdefault(arn, {}).update(tags)
        return body

    ApplicationAutoScalingResponse.list_tags_for_resource = list_tags_for_resource  # type: ignore[attr-defined]
    ApplicationAutoScalingResponse.tag_resource = tag_resource  # type: ignore[attr-defined]
    ApplicationAutoScalingResponse.untag_resource = untag_resource  # type: ignore[attr-defined]
    ApplicationAutoScalingResponse.register_scalable_target = register_scalable_target  # type: ignore[method-assign]


# --------------------------------------------------------------------------------------------------
# 2. SageMaker UpdateEndpoint
# --------------------------------------------------------------------------------------------------
def patch_sagemaker_update_endpoint() -> None:
    """``UpdateEndpoint``: switch an endpoint to another endpoint configuration.

    AWS: the endpoint goes ``Updating`` and then ``InService`` on the new configuration's variants
    and data capture, serving throughout (a blue/green switch), so Terraform updates rather than
    replaces the endpoint when its config changes.
    moto 5.2: the action does not exist, so changing the endpoint config hangs the provider.
    We: add ``SageMakerModelBackend.update_endpoint`` (a real backend method, so the event bus can
    observe it) that swaps config name, variants and data capture at once and bumps
    ``LastModifiedTime``; ``RetainAllVariantProperties`` and deployment configs are accepted and
    ignored (the switch is instant locally).
    """
    from moto.core.responses import ActionResult
    from moto.core.utils import utcnow
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.models import FakeEndpoint, FakeEndpointConfig, SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    def update_endpoint(self: SageMakerModelBackend, endpoint_name: str, endpoint_config_name: str) -> FakeEndpoint:
        endpoint = self.endpoints.get(endpoint_name)
        if endpoint is None:
            arn = FakeEndpoint.arn_formatter(endpoint_name, self.account_id, self.region_name)
            raise ValidationError(message=f"Could not find endpoint '{arn}'.")
        config = self.endpoint_configs.get(endpoint_config_name)
        if config is None:
            arn = FakeEndpointConfig.arn_formatter(endpoint_config_name, self.account_id, self.region_name)
            raise ValidationError(message=f"Could not find endpoint configuration '{arn}'.")
        endpoint.endpoint_config_name = endpoint_config_name
        endpoint.production_variants = endpoint._process_production_variants(config.production_variants)
        endpoint.data_capture_config = config.data_capture_config
        endpoint.endpoint_status = "InService"
        endpoint.last_modified_time = utcnow()
        return endpoint

    def update_endpoint_response(self: SageMakerResponse) -> ActionResult:
        endpoint = self.sagemaker_backend.update_endpoint(  # type: ignore[attr-defined]
            endpoint_name=self._get_param("EndpointName"),
            endpoint_config_name=self._get_param("EndpointConfigName"),
        )
        return ActionResult({"EndpointArn": endpoint.arn})

    SageMakerModelBackend.update_endpoint = update_endpoint  # type: ignore[attr-defined]
    SageMakerResponse.update_endpoint = update_endpoint_response  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------------
# 3. S3 bucket policy conditions
# --------------------------------------------------------------------------------------------------
def patch_s3_policy_conditions() -> None:
    """Skip conditional statements when moto checks a bucket policy.

    AWS: ``{"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}`` denies only
    plain-HTTP requests; requests that do not match a statement's condition are unaffected by it.
    moto 5.2: ``FakeBucket.get_permission`` evaluates statements without request context, so the
    condition never matches-as-false and the TLS-only deny rejects every object call with 403.
    We: evaluate only the statements without a ``Condition``. Conditional statements are almost
    always deny guards (TLS, encryption headers) whose context we cannot reproduce faithfully on a
    loopback HTTP server; ignoring them errs on the side of allowing, as the control plane should.
    """
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.s3.models import FakeBucket

    def get_permission(self: FakeBucket, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        document = json.loads(self.policy.decode())
        statements = document.get("Statement", [])
        if isinstance(statements, dict):
            statements = [statements]
        unconditional = [s for s in statements if not s.get("Condition")]
        if not unconditional:
            return PermissionResult.NEUTRAL
        return IAMPolicy(json.dumps({**document, "Statement": unconditional})).is_action_permitted(
            action, resource
        )

    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]


# --------------------------------------------------------------------------------------------------
# 4. CodeBuild CODEPIPELINE source / artifacts
# --------------------------------------------------------------------------------------------------
_CODEBUILD_SOURCE_TYPES = (
    "BITBUCKET", "CODECOMMIT", "CODEPIPELINE", "GITHUB", "GITHUB_ENTERPRISE", "GITLAB",
    "GITLAB_SELF_MANAGED", "NO_SOURCE", "S3",
)
_CODEBUILD_SOURCE_WITHOUT_LOCATION = ("CODEPIPELINE", "NO_SOURCE")


def patch_codebuild_codepipeline_source() -> None:
    """Accept ``source``/``artifacts`` of type ``CODEPIPELINE`` without a ``location``.

    AWS: a project driven by CodePipeline gets its input and output from the pipeline, so
    ``CODEPIPELINE`` (and ``NO_SOURCE`` / ``NO_ARTIFACTS``) take no location.
    moto 5.2: ``CreateProject`` rejects any source or non-``NO_ARTIFACTS`` artifacts without a
    location ("Project source location is required").
    We: replace the two module-level validators that ``create_project`` looks up at call time with
    ones that require a location only for the types that have one.
    """
    from moto.codebuild import responses
    from moto.codebuild.exceptions import InvalidInputException

    def validate_source(source: dict[str, Any]) -> None:
        if source.get("type") not in _CODEBUILD_SOURCE_TYPES:
            raise InvalidInputException("Invalid type provided: Project source type")
        if source["type"] not in _CODEBUILD_SOURCE_WITHOUT_LOCATION and not source.get("location"):
            raise InvalidInputException("Project source location is required")

    def validate_artifacts(artifacts: dict[str, Any]) -> None:
        kind = artifacts.get("type")
        if kind not in ("CODEPIPELINE", "S3", "NO_ARTIFACTS"):
            raise InvalidInputException("Invalid type provided: Artifact type")
        if kind == "NO_ARTIFACTS" and artifacts.get("location"):
            raise InvalidInputException("Invalid artifacts: artifact type NO_ARTIFACTS should have null location")
        if kind == "S3" and not artifacts.get("location"):
            raise InvalidInputException("Project artifacts location is required")

    responses._validate_required_params_source = validate_source
    responses._validate_required_params_artifacts = validate_artifacts


# --------------------------------------------------------------------------------------------------
# 5. CodePipeline / CodeCommit timestamps
# --------------------------------------------------------------------------------------------------
def patch_codepipeline_timestamps() -> None:
    """Render CodePipeline (and CodeCommit) timestamps as epoch seconds.

    AWS: these JSON-1.1 APIs carry timestamps as numbers (``"created": 1700000000.123``).
    moto 5.2: ``GetPipeline``/``ListPipelines`` metadata and CodeCommit repository metadata are ISO
    strings; the provider fails to parse them, taints ``aws_codepipeline`` and every later plan fails.
    We: make ``CodePipeline.metadata`` return epoch floats and convert a new repository's
    ``creationDate``/``lastModifiedDate`` right after moto builds them.
    """
    from moto.codecommit.models import CodeCommit
    from moto.codepipeline.models import CodePipeline
    from moto.core.utils import unix_time

    def metadata(self: CodePipeline) -> dict[str, Any]:
        return {"pipelineArn": self._arn, "created": unix_time(self._created), "updated": unix_time(self._updated)}

    CodePipeline.metadata = property(metadata)  # type: ignore[assignment,method-assign]

    original_init = CodeCommit.__init__

    def init(self: CodeCommit, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        now = unix_time()
        for key in ("creationDate", "lastModifiedDate"):
            if isinstance(self.repository_metadata.get(key), str):
                self.repository_metadata[key] = now  # type: ignore[assignment]

    CodeCommit.__init__ = init  # type: ignore[method-assign]


# --------------------------------------------------------------------------------------------------
# 6. SageMaker empty blocks
# --------------------------------------------------------------------------------------------------
def patch_sagemaker_empty_blocks() -> None:
    """Omit ``VpcConfig`` / ``DataCaptureConfig`` from describe responses when none was set.

    AWS: ``DescribeModel`` has no ``VpcConfig`` key and ``DescribeEndpointConfig`` no
    ``DataCaptureConfig`` key when the resource was created without one.
    moto 5.2: both come back as ``{}``; the provider reads an empty block that the configuration
    does not have and plans "forces replacement" on every run.
    We: drop the empty ``VpcConfig`` in ``Model.response_object``; drop the empty
    ``DataCaptureConfig`` at the response layer only (``DescribeEndpointConfig`` and, for the same
    reason, ``DescribeEndpoint``), because moto's own ``create_endpoint`` reads that key from the
    backend's describe dict.
    """
    from moto.core.responses import ActionResult
    from moto.sagemaker.models import Model
    from moto.sagemaker.responses import SageMakerResponse

    original_model_response = Model.response_object

    def model_response_object(self: Model) -> dict[str, Any]:
        response: dict[str, Any] = original_model_response.fget(self)  # type: ignore[attr-defined]
        if not response.get("VpcConfig"):
            response.pop("VpcConfig", None)
        return response

    Model.response_object = property(model_response_object)  # type: ignore[assignment,method-assign]

    def without_empty_capture(response: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in response.items() if not (k == "DataCaptureConfig" and not v)}

    def describe_endpoint_config(self: SageMakerResponse) -> ActionResult:
        name = self._get_param("EndpointConfigName")
        return ActionResult(without_empty_capture(self.sagemaker_backend.describe_endpoint_config(name)))

    def describe_endpoint(self: SageMakerResponse) -> ActionResult:
        name = self._get_param("EndpointName")
        return ActionResult(without_empty_capture(self.sagemaker_backend.describe_endpoint(name)))

    SageMakerResponse.describe_endpoint_config = describe_endpoint_config  # type: ignore[method-assign]
    SageMakerResponse.describe_endpoint = describe_endpoint  # type: ignore[method-assign]


# --------------------------------------------------------------------------------------------------
# 7. CodeBuild DeleteProject by ARN
# --------------------------------------------------------------------------------------------------
def _codebuild_project_name(name_or_arn: str) -> str:
    """``arn:aws:codebuild:<region>:<account>:project/<name>`` -> ``<name>``; a name stays a name."""
    if name_or_arn.startswith("arn:") and ":project/" in name_or_arn:
        return name_or_arn.split(":project/", 1)[1]
    return name_or_arn


def patch_codebuild_delete_by_arn() -> None:
    """``DeleteProject`` accepts the project ARN.

    AWS: ``DeleteProject`` takes a name or an ARN; the provider sends the ARN.
    moto 5.2: deletes by name only and silently ignores an ARN, so destroy "succeeds", the project
    stays, and the next apply fails with "Project already exists".
    We: translate an ARN to the project name before moto's handler runs.
    """
    from moto.codebuild.responses import CodeBuildResponse
    from moto.core.responses import EmptyResult

    def delete_project(self: CodeBuildResponse) -> EmptyResult:
        name = _codebuild_project_name(self._get_param("name"))
        self.codebuild_backend.delete_project(name)
        return EmptyResult()

    CodeBuildResponse.delete_project = delete_project  # type: ignore[method-assign]


# --------------------------------------------------------------------------------------------------
# x1. CodeBuild UpdateProject (found by probing)
# --------------------------------------------------------------------------------------------------
_CODEBUILD_UPDATABLE = {
    "description": "description", "source": "source", "artifacts": "artifacts", "environment": "environment",
    "serviceRole": "serviceRole", "cache": "cache", "timeoutInMinutes": "timeoutInMinutes",
    "queuedTimeoutInMinutes": "queuedTimeoutInMinutes", "sourceVersion": "sourceVersion",
    "logsConfig": "logsConfig", "vpcConfig": "vpcConfig", "tags": "tags", "encryptionKey": "encryptionKey",
    "secondarySources": "secondarySources", "secondaryArtifacts": "secondaryArtifacts",
    "badgeEnabled": None, "concurrentBuildLimit": "concurrentBuildLimit",
}


def patch_codebuild_update_project() -> None:
    """``UpdateProject``: change an existing CodeBuild project in place.

    AWS: ``UpdateProject`` changes the given fields of a project (name or ARN) and returns it.
    moto 5.2: the action does not exist, so any change to an ``aws_codebuild_project`` (an
    environment variable, the buildspec) fails after the provider's retries.
    We: merge the given top-level fields into moto's stored project metadata and bump
    ``lastModifiedDate``; ``badgeEnabled`` maps to ``badge.badgeEnabled``.
    """
    from moto.codebuild.exceptions import ResourceNotFoundException
    from moto.codebuild.responses import CodeBuildResponse
    from moto.core.responses import ActionResult
    from moto.core.utils import unix_time

    def update_project(self: CodeBuildResponse) -> ActionResult:
        name = _codebuild_project_name(self._get_param("name"))
        project = self.codebuild_backend.codebuild_projects.get(name)
        if project is None:
            raise ResourceNotFoundException(f"Project cannot be found: {self._get_param('name')}")
        metadata = project.project_metadata
        for param, key in _CODEBUILD_UPDATABLE.items():
            value = self._get_param(param)
            if value is None:
                continue
            if key is None:
                metadata.setdefault("badge", {})["badgeEnabled"] = bool(value)
            else:
                metadata[key] = value
        if self._get_param("tags") is not None:
            project.tags = self._get_param("tags")
        metadata["lastModifiedDate"] = unix_time()
        return ActionResult({"project": metadata})

    CodeBuildResponse.update_project = update_project  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------------
# x5. CodeBuild CreateProject keeps its encryptionKey (found by the integration test)
# --------------------------------------------------------------------------------------------------
def patch_codebuild_create_encryption_key() -> None:
    """``CreateProject`` keeps the ``encryptionKey`` it was given.

    AWS: a project created with ``encryptionKey`` (a customer-managed KMS key for its artifacts)
    reports that key. moto 5.2: always reports ``alias/aws/s3``, so a project with its own key shows
    an in-place update on every plan (and everything that references the project's ARN with it).
    We: after moto creates the project, store the requested key in its metadata.
    """
    from moto.codebuild.responses import CodeBuildResponse

    original = CodeBuildResponse.create_project

    def create_project(self: CodeBuildResponse) -> Any:
        result = original(self)
        key = self._get_param("encryptionKey")
        project = self.codebuild_backend.codebuild_projects.get(self._get_param("name"))
        if key and project is not None:
            project.project_metadata["encryptionKey"] = key
        return result

    CodeBuildResponse.create_project = create_project  # type: ignore[method-assign]


# --------------------------------------------------------------------------------------------------
# x2. SNS -> Lambda delivery belongs to the data plane (found by probing)
# --------------------------------------------------------------------------------------------------
def patch_sns_lambda_delivery() -> None:
    """Do not let moto try to run Lambda code for SNS ``lambda`` subscriptions.

    AWS: a message published to a topic invokes each subscribed function asynchronously.
    moto 5.2: ``Publish`` calls ``LambdaBackend.send_sns_message``, which tries to start the function
    in Docker; with no Docker it logs "error running docker" per message (and, with Docker, would
    run the code a second time beside our data plane).
    We: make ``send_sns_message`` a no-op. Delivery is the data plane's job: it subscribes to the
    ``sns.message.published`` event (:mod:`orchestrator.embedded.events`) and runs the function.
    Direct ``Invoke`` is left to moto (a data-plane route claims it when one is hosted).
    """
    from moto.awslambda.models import LambdaBackend

    def send_sns_message(self: LambdaBackend, function_name: str, message: str, *args: Any, **kwargs: Any) -> None:
        log.debug("SNS message for lambda %s left to the data plane", function_name)

    LambdaBackend.send_sns_message = send_sns_message  # type: ignore[method-assign]


# --------------------------------------------------------------------------------------------------
# x3. Unimplemented actions fail fast and say so (found by probing)
# --------------------------------------------------------------------------------------------------
def patch_unimplemented_actions_fail_fast() -> None:
    """Answer an action moto lacks with ``501 NotImplemented`` in the service's own error format.

    AWS: every documented action exists.
    moto 5.2: an unknown action raises ``NotImplementedError`` inside Flask, which answers
    ``500`` with an HTML debug page. SDKs (botocore, the provider's Go SDK) retry 500s and then
    report an unparseable body, so a missing API looks like a hang and then a puzzle.
    We: serialize a ``NotImplemented`` error the way the service's protocol expects (JSON, query
    XML, REST XML) with status 501, which no SDK retries, naming the service and action, and log it
    once per action so the service log lists what moto lacks.
    """
    from moto.core.exceptions import ServiceException
    from moto.core.responses import ActionResult, BaseResponse

    original_call_action = BaseResponse.call_action
    reported: set[str] = set()

    class NotImplementedByControlPlane(ServiceException):
        code = "NotImplemented"

    def call_action(self: BaseResponse) -> Any:
        try:
            return original_call_action(self)
        except NotImplementedError as exc:
            action = f"{self.service_name}:{self._get_action()}"
            message = f"the embedded control plane (moto 5.2) does not implement {action}: {exc}"
            if action not in reported:
                reported.add(action)
                log.warning("unimplemented: %s (%s)", action, exc)
            try:
                _, headers, body = self.serialized(ActionResult(NotImplementedByControlPlane(message)))
            except Exception:  # noqa: BLE001 - a model we cannot serialize for: plain JSON still beats HTML
                headers = {"Content-Type": "application/json", "x-amzn-ErrorType": "NotImplemented"}
                body = json.dumps({"__type": "NotImplemented", "message": message})
            headers["status"] = 501
            return 501, headers, body

    BaseResponse.call_action = call_action  # type: ignore[method-assign]


# --------------------------------------------------------------------------------------------------
# x4. CodePipeline trust policy with several service principals (found by the Terraform smoke test)
# --------------------------------------------------------------------------------------------------
def _trusted_services(assume_role_policy: str) -> set[str]:
    """Service principals allowed to assume a role; ``Service`` may be a string or a list."""
    statements = json.loads(assume_role_policy).get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    services: set[str] = set()
    for statement in statements:
        principal = statement.get("Principal")
        if statement.get("Effect", "Allow") != "Allow" or not isinstance(principal, dict):
            continue
        value = principal.get("Service", [])
        services.update([value] if isinstance(value, str) else value)
    return services


def patch_codepipeline_trust_policy() -> None:
    """Accept a pipeline role whose trust policy lists several services or other principals.

    AWS: ``CreatePipeline`` needs a role that ``codepipeline.amazonaws.com`` may assume; the trust
    policy's ``Principal.Service`` may be a list, and other statements may name other principals.
    moto 5.2: compares ``Principal.Service`` of every statement with the string, so a list fails
    ("CodePipeline is not authorized to perform AssumeRole", which the provider retries for two
    minutes) and a statement without a ``Service`` principal raises ``KeyError`` (HTTP 500).
    We: replace ``create_pipeline`` with moto's own logic (duplicate name, two stages, tags) around
    a trust check by :func:`_trusted_services`.
    """
    from moto.codepipeline.exceptions import InvalidStructureException
    from moto.codepipeline.models import CodePipeline, CodePipelineBackend
    from moto.iam.exceptions import NotFoundException as IAMNotFoundException

    def create_pipeline(self: CodePipelineBackend, pipeline: dict[str, Any], tags: list[dict[str, str]] | None) -> Any:
        name = pipeline["name"]
        if name in self.pipelines:
            raise InvalidStructureException(
                f"A pipeline with the name '{name}' already exists in account '{self.account_id}'"
            )
        try:
            role = self.iam_backend.get_role_by_arn(pipeline["roleArn"])
            trusted = "codepipeline.amazonaws.com" in _trusted_services(role.assume_role_policy_document)
        except IAMNotFoundException:
            trusted = False
        if not trusted:
            raise InvalidStructureException(
                f"CodePipeline is not authorized to perform AssumeRole on role {pipeline['roleArn']}"
            )
        if len(pipeline["stages"]) < 2:
            raise InvalidStructureException(
                f"Pipeline has only {len(pipeline['stages'])} stage(s). There should be a minimum of 2 stages in a pipeline"
            )
        created = CodePipeline(self.account_id, self.region_name, pipeline)
        if tags:
            created.validate_tags(tags)
            created.tags.update({tag["key"]: tag["value"] for tag in tags})
        self.pipelines[name] = created
        return pipeline, sorted(tags or [], key=lambda i: i["key"])

    CodePipelineBackend.create_pipeline = create_pipeline  # type: ignore[method-assign]


# --------------------------------------------------------------------------------------------------
# x8. Lambda asynchronous-invocation settings: event invoke configs per function, version and alias;
#     DeadLetterConfig (found by the Lambda data plane's Event queue)
# --------------------------------------------------------------------------------------------------
def _function_and_qualifier(function_name: str, qualifier: str | None) -> tuple[str, str]:
    """``(name, qualifier)`` of a name, ``name:qualifier``, partial or full ARN; ``$LATEST`` if none."""
    rest = function_name.split(":function:")[-1]
    name, _, in_name = rest.partition(":")
    return name, qualifier or in_name or "$LATEST"


def patch_lambda_event_invoke_config_per_qualifier() -> None:
    """Keep one asynchronous-invocation configuration per function, version and alias.

    AWS: ``Put/Get/Update/DeleteFunctionEventInvokeConfig`` address the function (``$LATEST``), a
    version or an alias (``Qualifier`` query parameter or a qualified name); an unknown qualifier is
    ``ResourceNotFoundException``. Put replaces the configuration (settings left out are removed),
    Update changes only the settings it is given and needs an existing configuration, List returns
    every configuration of the function; ``FunctionArn`` is the qualified ARN (``...:$LATEST``).
    moto 5.2: ignores the qualifier; Put (and Update, which is a Put) appends to a list of which Get
    returns the first entry, so a changed configuration is never read back.
    We: keep a ``{qualifier: EventInvokeConfig}`` dict on the function's ``$LATEST`` object (so it
    goes with the function when it is deleted) and give the backend methods a ``qualifier``
    argument; moto's ``EventInvokeConfig`` still validates the settings. The Lambda data plane reads
    it through ``get_function_event_invoke_config(name, qualifier)``.
    """
    from urllib.parse import unquote

    from moto.awslambda.exceptions import UnknownEventConfig
    from moto.awslambda.models import EventInvokeConfig, LambdaBackend, iso_8601_datetime_with_nanoseconds
    from moto.awslambda.responses import LambdaResponse
    from moto.core.responses import ActionResult

    def configs_of(
        self: LambdaBackend, function_name: str, qualifier: str | None
    ) -> tuple[dict[str, EventInvokeConfig], str, str]:
        name, qualifier = _function_and_qualifier(function_name, qualifier)
        self.get_function(name, None if qualifier == "$LATEST" else qualifier)  # 404 if unknown
        latest = self.get_function(name)
        store: dict[str, EventInvokeConfig] = latest.__dict__.setdefault("compat_event_invoke_configs", {})
        return store, qualifier, f"{latest.function_arn}:{qualifier}"

    def put(self: LambdaBackend, function_name: str, config: dict[str, Any], qualifier: str | None = None) -> dict[str, Any]:
        store, qualifier, arn = configs_of(self, function_name, qualifier)
        store[qualifier] = EventInvokeConfig(arn, iso_8601_datetime_with_nanoseconds(), dict(config))
        return store[qualifier].response()

    def update(self: LambdaBackend, function_name: str, config: dict[str, Any], qualifier: str | None = None) -> dict[str, Any]:
        store, qualifier, arn = configs_of(self, function_name, qualifier)
        if qualifier not in store:
            raise UnknownEventConfig(arn)
        store[qualifier] = EventInvokeConfig(arn, iso_8601_datetime_with_nanoseconds(), {**store[qualifier].config, **config})
        return store[qualifier].response()

    def get(self: LambdaBackend, function_name: str, qualifier: str | None = None) -> dict[str, Any]:
        store, qualifier, arn = configs_of(self, function_name, qualifier)
        if qualifier not in store:
            raise UnknownEventConfig(arn)
        return store[qualifier].response()

    def delete(self: LambdaBackend, function_name: str, qualifier: str | None = None) -> None:
        store, qualifier, arn = configs_of(self, function_name, qualifier)
        if store.pop(qualifier, None) is None:
            raise UnknownEventConfig(arn)

    def list_configs(self: LambdaBackend, function_name: str) -> dict[str, Any]:
        store, _, _ = configs_of(self, function_name, "$LATEST")
        return {"FunctionEventInvokeConfigs": [config.response() for config in store.values()]}

    def path_name(self: LambdaResponse, parts: int = 2) -> str:
        return unquote(self.path.rsplit("/", parts)[1])

    def qualifier_of(self: LambdaResponse) -> str | None:
        return self.querystring.get("Qualifier", [None])[0]

    def put_response(self: LambdaResponse) -> ActionResult:
        return ActionResult(put(self.backend, path_name(self), self.json_body, qualifier_of(self)))

    def get_response(self: LambdaResponse) -> ActionResult:
        return ActionResult(get(self.backend, path_name(self), qualifier_of(self)))

    def update_response(self: LambdaResponse) -> str:
        return json.dumps(update(self.backend, path_name(self), self.json_body, qualifier_of(self)))

    def delete_response(self: LambdaResponse) -> Any:
        delete(self.backend, path_name(self), qualifier_of(self))
        return 204, {"status": 204}, json.dumps({})

    def list_response(self: LambdaResponse) -> str:
        return json.dumps(list_configs(self.backend, path_name(self, 3)))

    LambdaBackend.put_function_event_invoke_config = put  # type: ignore[method-assign]
    LambdaBackend.update_function_event_invoke_config = update  # type: ignore[method-assign]
    LambdaBackend.get_function_event_invoke_config = get  # type: ignore[method-assign]
    LambdaBackend.delete_function_event_invoke_config = delete  # type: ignore[method-assign]
    LambdaBackend.list_function_event_invoke_configs = list_configs  # type: ignore[method-assign]
    LambdaResponse.put_function_event_invoke_config = put_response  # type: ignore[method-assign]
    LambdaResponse.get_function_event_invoke_config = get_response  # type: ignore[method-assign]
    LambdaResponse.update_function_event_invoke_config = update_response  # type: ignore[method-assign]
    LambdaResponse.delete_function_event_invoke_config = delete_response  # type: ignore[method-assign]
    LambdaResponse.list_function_event_invoke_configs = list_response  # type: ignore[method-assign]


def patch_lambda_dead_letter_config() -> None:
    """Keep a function's ``DeadLetterConfig``.

    AWS: ``CreateFunction`` and ``UpdateFunctionConfiguration`` take ``DeadLetterConfig``
    (``{"TargetArn": <SQS queue or SNS topic>}``; an empty ``TargetArn`` removes it), the function's
    configuration returns it, and a published version keeps the one it was published with.
    moto 5.2: drops it (the configuration never has one, so the provider's ``dead_letter_config``
    never settles and the data plane cannot know where discarded events go).
    We: store it as ``LambdaFunction.dead_letter_config`` (copied with the object when a version is
    published) and return it in the configuration.
    """
    from moto.awslambda.models import LambdaFunction

    original_init = LambdaFunction.__init__
    original_update = LambdaFunction.update_configuration
    original_configuration = LambdaFunction.get_configuration

    def target(config: Any) -> dict[str, str] | None:
        arn = (config or {}).get("TargetArn")
        return {"TargetArn": str(arn)} if arn else None

    def init(self: LambdaFunction, account_id: str, spec: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        original_init(self, account_id, spec, *args, **kwargs)
        self.dead_letter_config = target(spec.get("DeadLetterConfig"))  # type: ignore[attr-defined]

    def update_configuration(self: LambdaFunction, config_updates: dict[str, Any]) -> dict[str, Any]:
        if "DeadLetterConfig" in config_updates:
            self.dead_letter_config = target(config_updates["DeadLetterConfig"])  # type: ignore[attr-defined]
        return original_update(self, config_updates)

    def get_configuration(self: LambdaFunction, *args: Any, **kwargs: Any) -> dict[str, Any]:
        config = original_configuration(self, *args, **kwargs)
        dead_letter = getattr(self, "dead_letter_config", None)
        if dead_letter:
            config["DeadLetterConfig"] = dict(dead_letter)
        return config

    LambdaFunction.__init__ = init  # type: ignore[method-assign]
    LambdaFunction.update_configuration = update_configuration  # type: ignore[method-assign]
    LambdaFunction.get_configuration = get_configuration  # type: ignore[method-assign]


# --------------------------------------------------------------------------------------------------
# x6. API Gateway deployments are snapshots (found by the data plane: changes were live undeployed)
# --------------------------------------------------------------------------------------------------
DEPLOYMENT_SNAPSHOT_ATTR = "compat_resources"


def deployment_snapshot(deployment: Any) -> dict[str, Any] | None:
    """The resources (with their methods and integrations) captured when ``deployment`` was created,
    keyed by resource id; None for a deployment made before :func:`patch_apigateway_deployment_snapshots`."""
    return getattr(deployment, DEPLOYMENT_SNAPSHOT_ATTR, None)


def _snapshot_paths(resources: dict[str, Any]) -> dict[str, str]:
    """Resource id -> path (``/``, ``/items/{id}``), from the snapshot's own parent links (moto's
    ``Resource.get_path`` would read the live API instead)."""
    paths: dict[str, str] = {}

    def path_of(resource_id: str) -> str:
        if resource_id not in paths:
            resource = resources[resource_id]
            if resource.parent_id is None or resource.parent_id not in resources:
                paths[resource_id] = "/"
            else:
                parent = path_of(resource.parent_id)
                paths[resource_id] = parent.rstrip("/") + "/" + resource.path_part
        return paths[resource_id]

    for resource_id in resources:
        path_of(resource_id)
    return paths


def patch_apigateway_deployment_snapshots() -> None:
    """A REST API deployment keeps what it deployed; ``GetDeployment`` can embed its ``apiSummary``.

    AWS: ``CreateDeployment`` takes a snapshot of the API (resources, methods, integrations); a stage
    serves the snapshot of its ``deploymentId``, so a change to a method or an integration is not live
    until a new deployment reaches the stage. ``GetDeployment`` with ``embed=apisummary`` returns
    ``apiSummary``: ``{path: {method: {authorizationType, apiKeyRequired}}}`` of that snapshot.
    moto 5.2: a deployment is only an id, a stage name and a description; nothing records what was
    deployed, so the local data plane could only serve the API as it is now, and ``embed`` is ignored.
    We: deep-copy the API's resources into the deployment (an attribute, read with
    :func:`deployment_snapshot`) when ``RestAPI.create_deployment`` returns, and answer
    ``embed=apisummary`` from that copy. The copy is made once per deployment; nothing mutates it.
    """
    import copy

    from moto.apigateway.models import Deployment, RestAPI
    from moto.apigateway.responses import APIGatewayResponse

    original_create = RestAPI.create_deployment

    def create_deployment(self: RestAPI, *args: Any, **kwargs: Any) -> Deployment:
        deployment = original_create(self, *args, **kwargs)
        setattr(deployment, DEPLOYMENT_SNAPSHOT_ATTR, copy.deepcopy(self.resources))
        return deployment

    original_get = APIGatewayResponse.get_deployment

    def get_deployment(self: APIGatewayResponse) -> str:
        body = original_get(self)
        if "apisummary" not in (self.querystring.get("embed") or []):
            return body
        parts = self.path.split("/")
        deployment = self.backend.get_deployment(parts[2], parts[4])
        resources = deployment_snapshot(deployment) or {}
        paths = _snapshot_paths(resources)
        summary: dict[str, dict[str, Any]] = {}
        for resource_id, resource in resources.items():
            for http_method, method in resource.resource_methods.items():
                summary.setdefault(paths[resource_id], {})[http_method] = {
                    "authorizationType": method.authorization_type,
                    "apiKeyRequired": bool(method.api_key_required),
                }
        return json.dumps({**json.loads(body), "apiSummary": summary})

    RestAPI.create_deployment = create_deployment  # type: ignore[method-assign]
    APIGatewayResponse.get_deployment = get_deployment  # type: ignore[method-assign]


# --------------------------------------------------------------------------------------------------
# x7. API Gateway DeleteDeployment refuses a deployment a stage serves (found with x6)
# --------------------------------------------------------------------------------------------------
def patch_apigateway_delete_active_deployment() -> None:
    """``DeleteDeployment`` is refused while a stage points to the deployment, and only then.

    AWS: ``BadRequestException`` "Active stages pointing to this deployment must be moved or deleted"
    when any stage's ``deploymentId`` is the deployment; otherwise the deployment is deleted (Terraform's
    ``create_before_destroy`` deployments rely on it: the stage moves to the new one, the old one goes).
    moto 5.2: checks the stage *named* in ``CreateDeployment`` instead, so a deployment made without
    ``stageName`` (Terraform's way) and then used by a stage is deleted from under it, while one made
    with ``stageName`` stays undeletable after its stage moved to another deployment.
    We: check every stage's ``deployment_id``.
    """
    from moto.apigateway.exceptions import DeploymentNotFoundException, StageStillActive
    from moto.apigateway.models import Deployment, RestAPI

    def delete_deployment(self: RestAPI, deployment_id: str) -> Deployment:
        if deployment_id not in self.deployments:
            raise DeploymentNotFoundException()
        if any(stage.deployment_id == deployment_id for stage in self.stages.values()):
            raise StageStillActive()
        return self.deployments.pop(deployment_id)

    RestAPI.delete_deployment = delete_deployment  # type: ignore[method-assign]


# --------------------------------------------------------------------------------------------------
# x9. CloudWatch statistics: percentiles, period alignment, Values/Counts (found by the alarm evaluator)
# --------------------------------------------------------------------------------------------------
def patch_cloudwatch_statistics() -> None:
    """Compute metric statistics as CloudWatch does (:mod:`orchestrator.embedded.cloudwatch_statistics`).

    AWS: ``GetMetricStatistics`` answers ``ExtendedStatistics`` (``pNN.NN``) and ``GetMetricData`` a
    ``pNN.NN`` ``Stat``, from raw values (``Value`` or ``Values``/``Counts``); periods start at the
    request's start time rounded down to the minute; a metric is matched on its exact dimension set.
    moto 5.2: ignores ``ExtendedStatistics`` (no datapoint has them), returns ``None`` values for a
    percentile ``Stat``, starts periods at the first datum found, and matches ``GetMetricData``
    dimensions without the namespace. It also stores each of ``Values``/``Counts``' counts as one object:
    ``Values=[12.5], Counts=[10000]`` becomes ten thousand datums.
    We: keep a ``Values``/``Counts`` datum whole (a statistic set that also carries its distribution),
    index datums by namespace and metric name (``compat_datums``: a query reads one metric's datums,
    not every datum ever published), and answer both APIs' metric statistics with that module;
    metric math and Metrics Insights queries are still moto's, over our metric results.
    """
    from datetime import datetime

    from moto.cloudwatch.exceptions import InvalidParameterCombination, InvalidParameterValue, ValidationError
    from moto.cloudwatch.metric_data_expression_parser import parse_expression
    from moto.cloudwatch.models import CloudWatchBackend, MetricAggregatedDatum
    from moto.cloudwatch.responses import CloudWatchResponse
    from moto.core.responses import ActionResult

    from orchestrator.embedded import cloudwatch_statistics as stats

    class MetricDistributionDatum(MetricAggregatedDatum):
        """A ``Values``/``Counts`` datum: its statistic set plus the ``(value, count)`` pairs."""

        def __init__(self, namespace: str, name: str, pairs: list[tuple[float, float]], dimensions: list[dict[str, str]],
                     timestamp: datetime | None, unit: Any) -> None:
            values = [v for v, _ in pairs]
            super().__init__(
                namespace, name, min(values), max(values), sum(c for _, c in pairs), sum(v * c for v, c in pairs),
                dimensions, timestamp, unit,
            )
            self.distribution = tuple(pairs)

    original_put = CloudWatchBackend.put_metric_data
    lock = threading.Lock()  # the server is threaded: index exactly the datums each put added

    def put_metric_data(self: CloudWatchBackend, namespace: str, metric_data: list[dict[str, Any]]) -> None:
        for i, metric in enumerate(metric_data):
            self._validate_parameters_put_metric_data(metric, i + 1)
        with lock:
            before = len(self.metric_data)
            plain = [m for m in metric_data if not m.get("Values")]
            if plain:
                original_put(self, namespace, plain)
            for m in metric_data:
                if not m.get("Values"):
                    continue
                counts = m.get("Counts") or [1] * len(m["Values"])
                pairs = [(float(v), float(c)) for v, c in zip(m["Values"], counts) if float(c) > 0]
                if pairs:
                    self.metric_data.append(
                        MetricDistributionDatum(namespace, m["MetricName"], pairs, m.get("Dimensions") or [],
                                                m.get("Timestamp"), m.get("Unit"))
                    )
            index = self.__dict__.setdefault("compat_metric_index", {})
            for datum in self.metric_data[before:]:
                index.setdefault((datum.namespace, datum.name), []).append(datum)

    def datums_of(self: CloudWatchBackend, namespace: str, name: str) -> list[Any]:
        """The datums of one metric (all dimension sets): the index, plus moto's generated metrics."""
        stored = list(self.__dict__.get("compat_metric_index", {}).get((namespace, name), ()))
        return stored + [d for d in self.aws_metric_data if d.namespace == namespace and d.name == name]

    def metric_statistics(self: CloudWatchResponse) -> ActionResult:
        statistics = self._get_param("Statistics", []) or []
        extended = self._get_param("ExtendedStatistics", []) or []
        if not statistics and not extended:
            raise InvalidParameterCombination("Must specify either Statistics or ExtendedStatistics")
        if statistics and extended:
            raise InvalidParameterCombination("Specify either Statistics or ExtendedStatistics, not both")
        start, end = self._get_param("StartTime"), self._get_param("EndTime")
        if stats.as_utc(start) >= stats.as_utc(end):
            raise InvalidParameterValue("The parameter StartTime must be less than the parameter EndTime.")
        name = self._get_param("MetricName")
        try:
            samples = stats.period_samples(
                datums_of(self.cloudwatch_backend, self._get_param("Namespace"), name),
                namespace=self._get_param("Namespace"),
                metric_name=name, dimensions=self._get_param("Dimensions", []) or [], start=start, end=end,
                period=self._get_int_param("Period"), unit=self._get_param("Unit"),
            )
            points = stats.datapoints(samples, statistics, extended)
        except stats.InvalidStatistic as exc:
            raise InvalidParameterValue(str(exc)) from None
        return ActionResult({"Label": name, "Datapoints": points})

    original_get_data = CloudWatchBackend.get_metric_data

    def get_metric_data(self: CloudWatchBackend, queries: list[dict[str, Any]], start_time: datetime,
                        end_time: datetime, scan_by: str = "TimestampAscending") -> list[dict[str, Any]]:
        if stats.as_utc(start_time) >= stats.as_utc(end_time):
            raise ValidationError("The parameter EndTime must be greater than StartTime.")
        insights = [q for q in queries if "Expression" in q and q["Expression"].startswith("SELECT")]
        math_queries = [q for q in queries if "Expression" in q and q not in insights]
        results: list[dict[str, Any]] = []
        for query in (q for q in queries if "MetricStat" in q):
            metric_stat = query["MetricStat"]
            metric = metric_stat["Metric"]
            try:
                samples = stats.period_samples(
                    datums_of(self, metric["Namespace"], metric["MetricName"]), namespace=metric["Namespace"], metric_name=metric["MetricName"],
                    dimensions=metric.get("Dimensions", []), start=start_time, end=end_time,
                    period=int(metric_stat["Period"]), unit=metric_stat.get("Unit"),
                )
                found = [(s.start, s.statistic(metric_stat["Stat"])) for s in samples]
            except stats.InvalidStatistic as exc:
                raise ValidationError(str(exc)) from None
            found = [(t, v) for t, v in found if v is not None]
            if scan_by == "TimestampDescending":
                found.reverse()
            results.append({
                "id": query["Id"],
                "label": query.get("Label") or f"{metric['MetricName']} {metric_stat['Stat']}",
                "values": [v for _, v in found],
                "timestamps": [t for t, _ in found],
                "status_code": "Complete",
                "return": query.get("ReturnData", True),
            })
        out = [{k: v for k, v in r.items() if k != "return"} for r in results if r["return"]]
        for query in math_queries:
            values, timestamps = parse_expression(query["Expression"], results)
            out.append({"id": query["Id"], "label": query.get("Label") or query["Id"], "values": values,
                        "timestamps": timestamps, "status_code": "Complete"})
        if insights:
            out += original_get_data(self, insights, start_time, end_time, scan_by)
        return out

    CloudWatchBackend.put_metric_data = put_metric_data  # type: ignore[method-assign]
    CloudWatchBackend.compat_datums = datums_of  # type: ignore[attr-defined]
    CloudWatchBackend.get_metric_data = get_metric_data  # type: ignore[method-assign]
    CloudWatchResponse.get_metric_statistics = metric_statistics  # type: ignore[method-assign]


# --------------------------------------------------------------------------------------------------
# x10. CloudWatch alarms start in INSUFFICIENT_DATA (found by the alarm evaluator)
# --------------------------------------------------------------------------------------------------
def patch_cloudwatch_alarm_initial_state() -> None:
    """A new alarm starts in ``INSUFFICIENT_DATA``; an updated one keeps its state.

    AWS (``PutMetricAlarm``): "When this operation creates an alarm, the alarm state is immediately
    set to INSUFFICIENT_DATA"; an update overwrites the configuration and leaves the state unchanged.
    moto 5.2: every put builds a new alarm in state ``OK`` ("Unchecked: Initial alarm creation").
    We: a created alarm is ``INSUFFICIENT_DATA``; an updated one carries over its state, reason,
    reason data, state timestamp and history. The local alarm evaluator
    (:mod:`orchestrator.dataplane.alarms`) moves it from there.
    """
    from moto.cloudwatch.models import CloudWatchBackend

    original = CloudWatchBackend.put_metric_alarm

    def put_metric_alarm(self: CloudWatchBackend, name: str, *args: Any, **kwargs: Any) -> Any:
        previous = self.alarms.get(name)
        alarm = original(self, name, *args, **kwargs)
        if previous is None:
            alarm.state_value = "INSUFFICIENT_DATA"
        else:
            for attr in ("state_value", "state_reason", "state_reason_data", "state_updated_timestamp", "history"):
                setattr(alarm, attr, getattr(previous, attr))
        return alarm

    CloudWatchBackend.put_metric_alarm = put_metric_alarm  # type: ignore[method-assign]


# --------------------------------------------------------------------------------------------------
# x11. CloudWatch DescribeAlarmHistory (found by the alarm evaluator)
# --------------------------------------------------------------------------------------------------
def append_alarm_history(alarm: Any, item_type: str, summary: str, data: dict[str, Any]) -> None:
    """Record one ``DescribeAlarmHistory`` item on a moto alarm (the evaluator records its actions)."""
    from moto.core.utils import utcnow

    alarm.__dict__.setdefault("compat_history", []).append({
        "AlarmName": alarm.name, "AlarmType": "MetricAlarm", "Timestamp": utcnow(), "HistoryItemType": item_type,
        "HistorySummary": summary, "HistoryData": json.dumps(data),
    })


def patch_cloudwatch_alarm_history() -> None:
    """Answer ``DescribeAlarmHistory`` with the alarm's configuration updates, state changes and actions.

    AWS: each alarm keeps ``ConfigurationUpdate`` ("Alarm "x" created/updated"), ``StateUpdate``
    ("Alarm updated from OK to ALARM", with old and new state in ``HistoryData``) and ``Action`` items,
    newest first by default, filtered by name, type and date. moto 5.2: the action is not
    implemented (its alarms keep a private list of previous states only).
    We: record the items on the alarm as they happen (``update_state``, which ``SetAlarmState`` and
    the local evaluator use, and ``put_metric_alarm``) and serve them, with ``MaxRecords`` paging.
    History goes with a deleted alarm (AWS keeps it for two weeks).
    """
    from moto.cloudwatch.models import Alarm, CloudWatchBackend
    from moto.cloudwatch.responses import CloudWatchResponse
    from moto.core.responses import ActionResult

    from orchestrator.embedded import cloudwatch_statistics as stats

    original_update = Alarm.update_state

    def update_state(self: Alarm, reason: str, reason_data: str, state_value: str) -> None:
        old = {"stateValue": self.state_value, "stateReason": self.state_reason}
        original_update(self, reason, reason_data, state_value)
        new: dict[str, Any] = {"stateValue": state_value, "stateReason": reason}
        try:
            new["stateReasonData"] = json.loads(reason_data) if reason_data else None
        except ValueError:
            pass
        append_alarm_history(self, "StateUpdate", f"Alarm updated from {old['stateValue']} to {state_value}",
                             {"version": "1.0", "oldState": old, "newState": {k: v for k, v in new.items() if v is not None}})

    original_put = CloudWatchBackend.put_metric_alarm

    def put_metric_alarm(self: CloudWatchBackend, name: str, *args: Any, **kwargs: Any) -> Any:
        previous = self.alarms.get(name)
        alarm = original_put(self, name, *args, **kwargs)
        if previous is not None:
            alarm.__dict__["compat_history"] = previous.__dict__.get("compat_history", [])
        kind = "Update" if previous is not None else "Create"
        append_alarm_history(alarm, "ConfigurationUpdate", f'Alarm "{name}" {kind.lower()}d', {"version": "1.0", "type": kind})
        return alarm

    def describe_alarm_history(self: CloudWatchResponse) -> ActionResult:
        name = self._get_param("AlarmName")
        kind = self._get_param("HistoryItemType")
        start, end = self._get_param("StartDate"), self._get_param("EndDate")
        items = [
            item for alarm in list(self.cloudwatch_backend.alarms.values()) if not name or alarm.name == name
            for item in alarm.__dict__.get("compat_history", [])
            if (not kind or item["HistoryItemType"] == kind)
            and (start is None or stats.as_utc(item["Timestamp"]) >= stats.as_utc(start))
            and (end is None or stats.as_utc(item["Timestamp"]) <= stats.as_utc(end))
        ]
        items.sort(key=lambda i: i["Timestamp"], reverse=(self._get_param("ScanBy") or "TimestampDescending") == "TimestampDescending")
        offset = int(self._get_param("NextToken") or 0)
        limit = int(self._get_param("MaxRecords") or 100)
        page = items[offset : offset + limit]
        result: dict[str, Any] = {"AlarmHistoryItems": page}
        if offset + limit < len(items):
            result["NextToken"] = str(offset + limit)
        return ActionResult(result)

    Alarm.update_state = update_state  # type: ignore[method-assign]
    CloudWatchBackend.put_metric_alarm = put_metric_alarm  # type: ignore[method-assign]
    CloudWatchResponse.describe_alarm_history = describe_alarm_history  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------------
# x12. Target tracking on a SageMaker variant creates its CloudWatch alarms (found by local autoscaling)
# --------------------------------------------------------------------------------------------------
TARGET_TRACKING_SCALE_IN_RATIO = 0.9  # AlarmLow fires below 90 % of the target value


def patch_sagemaker_target_tracking_alarms() -> None:
    """A ``TargetTrackingScaling`` policy on ``sagemaker:variant:DesiredInstanceCount`` gets its alarms.

    AWS: Application Auto Scaling creates and owns two alarms per target tracking policy,
    ``TargetTracking-<resource id>-AlarmHigh-<uuid>`` (the metric above the target for 3 of 3 one-minute
    datapoints: scale out) and ``...-AlarmLow-<uuid>`` (below 90 % of it for 15 of 15: scale in; none
    with ``DisableScaleIn``), whose action is the policy; for ``SageMakerVariantInvocationsPerInstance``
    the metric is ``AWS/SageMaker`` ``InvocationsPerInstance`` (Sum) of the variant. Replacing or
    deleting the policy replaces or deletes them.
    moto 5.2: creates such alarms for DynamoDB and ECS only, and leaves the old ones behind when a
    policy is replaced.
    We: add the SageMaker variant alarms (predefined metric, or a customized metric specification with
    one metric) and delete a replaced policy's alarms. The local alarm evaluator fires them; the
    scaling itself is :mod:`orchestrator.dataplane.monitoring.target_tracking`.
    """
    from moto.applicationautoscaling.models import ApplicationAutoscalingBackend, FakeApplicationAutoscalingPolicy
    from moto.cloudwatch.models import cloudwatch_backends
    from moto.moto_api._internal import mock_random

    original_create = FakeApplicationAutoscalingPolicy.create_alarms

    def metric_of(policy: FakeApplicationAutoscalingPolicy) -> tuple[str, str, list[dict[str, str]], str] | None:
        config = policy.target_tracking_scaling_policy_configuration or {}
        predefined = (config.get("PredefinedMetricSpecification") or {}).get("PredefinedMetricType")
        if predefined == "SageMakerVariantInvocationsPerInstance":
            _, endpoint, _, variant = policy.resource_id.split("/")
            dims = [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": variant}]
            return "AWS/SageMaker", "InvocationsPerInstance", dims, "Sum"
        custom = config.get("CustomizedMetricSpecification") or {}
        if custom.get("MetricName") and custom.get("Namespace"):
            return custom["Namespace"], custom["MetricName"], list(custom.get("Dimensions") or []), custom.get("Statistic") or "Average"
        return None

    def create_alarms(self: FakeApplicationAutoscalingPolicy) -> None:
        original_create(self)
        if self.policy_type != "TargetTrackingScaling" or self.scalable_dimension != "sagemaker:variant:DesiredInstanceCount":
            return
        metric = metric_of(self)
        config = self.target_tracking_scaling_policy_configuration or {}
        if metric is None or config.get("TargetValue") is None:
            return
        namespace, name, dims, statistic = metric
        target = float(config["TargetValue"])
        action = f"{self.policy_arn}:createdBy/{mock_random.uuid4()}"
        cloudwatch = cloudwatch_backends[self.account_id][self.region_name]
        kinds = [("AlarmHigh", "GreaterThanThreshold", 3, target)]
        if not config.get("DisableScaleIn"):
            kinds.append(("AlarmLow", "LessThanThreshold", 15, target * TARGET_TRACKING_SCALE_IN_RATIO))
        for kind, comparison, periods, threshold in kinds:
            self.alarms.append(cloudwatch.put_metric_alarm(
                name=f"TargetTracking-{self.resource_id}-{kind}-{mock_random.uuid4()}",
                namespace=namespace, metric_name=name, metric_data_queries=[], comparison_operator=comparison,
                evaluation_periods=periods, datapoints_to_alarm=periods, period=60, threshold=threshold,
                statistic=statistic, description=f"DO NOT EDIT OR DELETE. For TargetTrackingScaling policy {action}.",
                dimensions=dims, alarm_actions=[action],
            ))

    original_put = ApplicationAutoscalingBackend.put_scaling_policy

    def put_scaling_policy(self: ApplicationAutoscalingBackend, policy_name: str, service_namespace: str,
                           resource_id: str, scalable_dimension: str, *args: Any, **kwargs: Any) -> Any:
        key = FakeApplicationAutoscalingPolicy.formulate_key(service_namespace, resource_id, scalable_dimension, policy_name)
        old = self.policies.get(key)
        policy = original_put(self, policy_name, service_namespace, resource_id, scalable_dimension, *args, **kwargs)
        if old is not None and old is not policy:
            old.delete_alarms(self.account_id, self.region_name)
        return policy

    FakeApplicationAutoscalingPolicy.create_alarms = create_alarms  # type: ignore[method-assign]
    ApplicationAutoscalingBackend.put_scaling_policy = put_scaling_policy  # type: ignore[method-assign]


# --------------------------------------------------------------------------------------------------
# x13. Application Auto Scaling DescribeScalingActivities (found by local autoscaling)
# --------------------------------------------------------------------------------------------------
def record_scaling_activity(backend: Any, activity: dict[str, Any]) -> None:
    """Keep one ``DescribeScalingActivities`` item (API-shaped) on an Application Auto Scaling backend."""
    backend.__dict__.setdefault("compat_scaling_activities", []).append(activity)


def patch_application_autoscaling_activities() -> None:
    """Answer ``DescribeScalingActivities`` with the activities the local scaler recorded.

    AWS: every scaling action (and, with ``IncludeNotScaledActivities``, every decision not to scale)
    is an activity with its cause ("monitor alarm ... in state ALARM triggered policy ..."), newest
    first, filtered by namespace, resource id and dimension. moto 5.2: not implemented (our x3 patch
    answers 501). We: serve what :func:`record_scaling_activity` kept, with ``MaxResults`` paging.
    """
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse

    def describe_scaling_activities(self: ApplicationAutoScalingResponse) -> str:
        namespace = self._get_param("ServiceNamespace")
        resource_id = self._get_param("ResourceId")
        dimension = self._get_param("ScalableDimension")
        include_not_scaled = bool(self._get_param("IncludeNotScaledActivities"))
        backend = self.applicationautoscaling_backend
        items = [
            a for a in reversed(backend.__dict__.get("compat_scaling_activities", []))
            if a["ServiceNamespace"] == namespace
            and (not resource_id or a["ResourceId"] == resource_id)
            and (not dimension or a["ScalableDimension"] == dimension)
            and (include_not_scaled or not a.get("NotScaledReasons"))
        ]
        offset = int(self._get_param("NextToken") or 0)
        limit = int(self._get_param("MaxResults") or 50)
        result: dict[str, Any] = {"ScalingActivities": items[offset : offset + limit]}
        if offset + limit < len(items):
            result["NextToken"] = str(offset + limit)
        return json.dumps(result, default=str)

    ApplicationAutoScalingResponse.describe_scaling_activities = describe_scaling_activities  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------------
# x14. API Gateway UpdateMethod and UpdateIntegration (found by changing api_key_required locally)
# --------------------------------------------------------------------------------------------------
_METHOD_FIELDS = {"apiKeyRequired": "api_key_required", "authorizationType": "authorization_type",
                  "authorizerId": "authorizer_id", "operationName": "operation_name",
                  "requestValidatorId": "request_validator_id"}
_METHOD_MAPS = {"requestParameters": "request_parameters", "requestModels": "request_models"}
_INTEGRATION_FIELDS = {"uri": "uri", "httpMethod": "http_method", "credentials": "credentials",
                       "connectionType": "connection_type", "passthroughBehavior": "passthrough_behaviour",
                       "contentHandling": "content_handling", "cacheNamespace": "cache_namespace",
                       "timeoutInMillis": "timeout_in_millis"}
_INTEGRATION_MAPS = {"requestParameters": "request_parameters", "requestTemplates": "request_templates"}
INTEGRATION_TIMEOUT_MS = (50, 29000)


def apply_patch_operations(target: Any, operations: list[dict[str, Any]], fields: dict[str, str],
                           maps: dict[str, str], lists: dict[str, str] | None = None) -> None:
    """Apply API Gateway ``patchOperations`` (RFC 6902 subset: add, replace, remove) to a moto object:
    ``/field`` for scalars, ``/map/key`` for map entries (``~1`` is ``/``), ``/list/value`` for list
    items. Everything is checked before anything changes, so a bad operation leaves the object as it
    was."""
    from moto.apigateway.exceptions import BadRequestException

    lists = lists or {}
    changes: list[Callable[[], None]] = []
    for operation in operations:
        op, path, value = operation.get("op"), str(operation.get("path") or ""), operation.get("value")
        parts = [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]
        if op not in ("add", "replace", "remove"):
            raise BadRequestException(f"Invalid patch operation specified. Must be one of: [add, remove, replace]: {op}")
        if len(parts) == 1 and parts[0] in fields:
            attr = fields[parts[0]]
            new: Any = None if op == "remove" else value
            if attr == "api_key_required":
                new = str(value).lower() == "true"
            elif attr == "timeout_in_millis" and new is not None:
                low, high = INTEGRATION_TIMEOUT_MS
                if not str(new).isdigit() or not low <= int(new) <= high:
                    raise BadRequestException(f"Timeout should be between {low} ms and {high} ms")
                new = int(new)
            changes.append(functools.partial(setattr, target, attr, new))
        elif len(parts) == 2 and parts[0] in maps:
            attr, key = maps[parts[0]], parts[1]

            def set_entry(attr: str = attr, key: str = key, op: str = op, value: Any = value) -> None:
                entries = dict(getattr(target, attr) or {})
                if op == "remove":
                    entries.pop(key, None)
                else:
                    entries[key] = value
                setattr(target, attr, entries)

            changes.append(set_entry)
        elif len(parts) == 2 and parts[0] in lists and op in ("add", "remove"):
            attr, item = lists[parts[0]], parts[1]

            def set_item(attr: str = attr, item: str = item, op: str = op) -> None:
                items = [i for i in (getattr(target, attr) or []) if i != item]
                setattr(target, attr, items + [item] if op == "add" else items)

            changes.append(set_item)
        else:
            raise BadRequestException(f"Invalid patch path '{path}' specified for op '{op}'.")
    for change in changes:
        change()


def patch_apigateway_update_method_and_integration() -> None:
    """``UpdateMethod`` and ``UpdateIntegration`` patch a method and its integration in place.

    AWS: both take ``patchOperations`` (``replace /apiKeyRequired``, ``replace /uri``,
    ``replace /timeoutInMillis``, ``add /requestParameters/...`` ...) and answer the updated resource;
    Terraform uses them for every in-place change of ``aws_api_gateway_method`` and
    ``aws_api_gateway_integration`` (``api_key_required``, ``uri``, ``timeout_milliseconds`` ...).
    moto 5.2: neither exists, so such a change failed the local apply with 501 (our x3 patch).
    We: apply the operations with :func:`apply_patch_operations` (scalars, map entries, the integration's
    ``cacheKeyParameters``), validating the timeout range (50-29,000 ms) as AWS does; the change is live
    once deployed (x6 snapshots deployments).
    """
    from moto.apigateway.exceptions import NoIntegrationDefined
    from moto.apigateway.responses import APIGatewayResponse

    def parts_of(self: APIGatewayResponse) -> tuple[str, str, str]:
        path = self.path.split("/")
        return path[2], path[4], path[6]

    def update_method(self: APIGatewayResponse) -> str:
        api, resource, verb = parts_of(self)
        method = self.backend.get_method(api, resource, verb)
        apply_patch_operations(method, self._get_param("patchOperations") or [], _METHOD_FIELDS, _METHOD_MAPS,
                               {"authorizationScopes": "authorization_scopes"})
        return json.dumps(method.to_json())

    def update_integration(self: APIGatewayResponse) -> str:
        api, resource, verb = parts_of(self)
        integration = self.backend.get_integration(api, resource, verb)
        if integration is None:
            raise NoIntegrationDefined()
        apply_patch_operations(integration, self._get_param("patchOperations") or [], _INTEGRATION_FIELDS,
                               _INTEGRATION_MAPS, {"cacheKeyParameters": "cache_key_parameters"})
        return json.dumps(integration.to_json())

    APIGatewayResponse.update_method = update_method  # type: ignore[attr-defined]
    APIGatewayResponse.update_integration = update_integration  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------------
PATCHES: tuple[Patch, ...] = (
    patch_application_autoscaling_tags,
    patch_sagemaker_update_endpoint,
    patch_s3_policy_conditions,
    patch_codebuild_codepipeline_source,
    patch_codepipeline_timestamps,
    patch_sagemaker_empty_blocks,
    patch_codebuild_delete_by_arn,
    patch_codebuild_update_project,
    patch_codebuild_create_encryption_key,
    patch_sns_lambda_delivery,
    patch_unimplemented_actions_fail_fast,
    patch_codepipeline_trust_policy,
    patch_lambda_event_invoke_config_per_qualifier,
    patch_lambda_dead_letter_config,
    patch_apigateway_deployment_snapshots,
    patch_apigateway_delete_active_deployment,
    patch_cloudwatch_statistics,
    patch_cloudwatch_alarm_initial_state,
    patch_cloudwatch_alarm_history,
    patch_sagemaker_target_tracking_alarms,
    patch_application_autoscaling_activities,
    patch_apigateway_update_method_and_integration,
)


def apply_all() -> list[str]:
    """Apply every patch once in this process; returns the names applied by this call."""
    return apply(*PATCHES)


def apply(*patches: Patch) -> list[str]:
    """Apply ``patches`` once in this process (in-process tests take only those they need)."""
    applied: list[str] = []
    for patch in patches:
        if patch.__name__ in _APPLIED:
            continue
        patch()
        _APPLIED.add(patch.__name__)
        applied.append(patch.__name__)
        log.debug("moto compat patch applied: %s", patch.__name__)
    return applied


def applied_patches() -> list[str]:
    """Names of the patches active in this process (reported by the health endpoint)."""
    return [p.__name__ for p in PATCHES if p.__name__ in _APPLIED]
