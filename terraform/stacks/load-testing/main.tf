data "aws_caller_identity" "current" {}

# Upstream: api-hosting publishes the invoke URL (plan fails clearly if it was never applied).
data "aws_ssm_parameter" "invoke_url" {
  name = "${local.ssm_prefix}/api-hosting/invoke_url"
}

# Upstream: the artifact bucket of model-archive, which also holds the Lambda packages.
data "aws_ssm_parameter" "artifact_bucket" {
  name = "${local.ssm_prefix}/model-archive/bucket_name"
}

locals {
  # The API key is a SecureString published by api-hosting. Only its NAME is passed on: the testers
  # read it at run time, so the key never appears in this stack's state, tfvars or environment.
  api_key_parameter_name = "${local.ssm_prefix}/api-hosting/api_key"
}

module "load_testing" {
  source = "../../modules/load-testing"

  name             = local.name_prefix
  account_id       = data.aws_caller_identity.current.account_id
  stage            = var.project.stage
  metric_namespace = var.project.name
  client_count     = var.load_testing.client_count
  dashboard_name   = "${local.name_prefix}-${var.load_testing.dashboard_name}"
  test_cases       = var.load_testing.test_cases

  lambda_package = {
    filename         = var.load_tester.path
    source_code_hash = var.load_tester.source_code_hash
    s3_bucket        = data.aws_ssm_parameter.artifact_bucket.insecure_value
  }

  api = {
    invoke_url             = data.aws_ssm_parameter.invoke_url.insecure_value
    api_key_parameter_name = local.api_key_parameter_name
  }

  log_retention_days   = var.load_testing.log_retention_days
  reserved_concurrency = var.load_testing.reserved_concurrency
}

# Published for the orchestrator: /<project>/<stage>/load-testing/<key>.
locals {
  published = {
    trigger_topic_arn     = module.load_testing.trigger_topic_arn
    dashboard_name        = module.load_testing.dashboard_name
    tester_function_names = jsonencode(module.load_testing.tester_function_names)
    metric_namespace      = module.load_testing.metric_namespace
  }
}

resource "aws_ssm_parameter" "published" {
  #checkov:skip=CKV2_AWS_34:Non-secret identifiers (names, ARNs) that the team contract publishes as String for other stacks and the orchestrator; the only secret (the API key) is a SecureString of api-hosting.
  for_each = local.published

  name        = "${local.ssm_prefix}/load-testing/${each.key}"
  description = "load-testing stack output ${each.key}"
  type        = "String"
  value       = each.value
}
