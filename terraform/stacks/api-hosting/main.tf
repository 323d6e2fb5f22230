data "aws_caller_identity" "current" {}

# Upstream: the model-serving stack's published values (plan fails clearly if it was never applied).
data "aws_ssm_parameter" "endpoint_name" {
  name = "${local.ssm_prefix}/model-serving/endpoint_name"
}

data "aws_ssm_parameter" "endpoint_arn" {
  name = "${local.ssm_prefix}/model-serving/endpoint_arn"
}

# Upstream: the artifact bucket of model-archive, which also holds the Lambda packages.
data "aws_ssm_parameter" "artifact_bucket" {
  name = "${local.ssm_prefix}/model-archive/bucket_name"
}

module "api_hosting" {
  source = "../../modules/api-hosting"

  name          = local.name_prefix
  api_name      = "${local.name_prefix}-${var.api.name}"
  function_name = "${local.name_prefix}-predictor"
  account_id    = data.aws_caller_identity.current.account_id

  endpoint_name = data.aws_ssm_parameter.endpoint_name.insecure_value
  endpoint_arn  = data.aws_ssm_parameter.endpoint_arn.insecure_value

  lambda = merge(var.predictor_settings, {
    filename         = var.predictor.path
    source_code_hash = var.predictor.source_code_hash
    s3_bucket        = data.aws_ssm_parameter.artifact_bucket.insecure_value
    max_body_bytes   = var.api.max_body_bytes
  })

  log_retention_days             = var.api.log_retention_days
  create_account_cloudwatch_role = var.observability.create_account_cloudwatch_role

  api = {
    resource_path    = var.api.resource
    http_method      = var.api.method
    stage_name       = var.project.stage
    api_key_required = var.api.require_api_key
    throttle         = var.api.throttle
    quota            = var.api.quota
    access_logs      = var.observability.access_logs
    logging_level    = var.observability.logging_level
    metrics_enabled  = var.observability.metrics_enabled
    xray_tracing     = var.observability.xray_tracing
  }

  # Published by the module itself, as a SecureString.
  api_key_ssm_parameter_name = "${local.ssm_prefix}/api-hosting/api_key"
}

# On the embedded control plane the REST API is served by the local data plane
# (orchestrator/dataplane/apigateway) at <endpoint>/restapis/<api>/<stage>/_user_request_/<resource>;
# on AWS it is the stage's execute-api URL.
locals {
  invoke_url = local.embedded ? join("/", [
    trimsuffix(var.aws_endpoint_url, "/"), "restapis", module.api_hosting.api_id,
    module.api_hosting.api_stage_name, "_user_request_", var.api.resource,
  ]) : module.api_hosting.api_invoke_url
}

# Published for downstream stacks and the orchestrator: /<project>/<stage>/api-hosting/<key>.
locals {
  published = {
    api_id        = module.api_hosting.api_id
    api_name      = module.api_hosting.api_name
    stage_name    = module.api_hosting.api_stage_name
    invoke_url    = local.invoke_url
    api_key_id    = module.api_hosting.api_key_id
    function_name = module.api_hosting.function_name
  }
}

resource "aws_ssm_parameter" "published" {
  #checkov:skip=CKV2_AWS_34:Ids, names and URLs are not secrets (the API key itself is a SecureString, published by the module).

  for_each = local.published

  name        = "${local.ssm_prefix}/api-hosting/${each.key}"
  description = "api-hosting stack output ${each.key}"
  type        = "String"
  value       = each.value
}
