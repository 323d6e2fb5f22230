data "aws_caller_identity" "current" {}

# Upstream: model-serving and api-hosting publish these (plan fails clearly if they were never applied).
data "aws_ssm_parameter" "endpoint_name" {
  name = "${local.ssm_prefix}/model-serving/endpoint_name"
}

data "aws_ssm_parameter" "variant_names" {
  name = "${local.ssm_prefix}/model-serving/variant_names"
}

data "aws_ssm_parameter" "api_name" {
  name = "${local.ssm_prefix}/api-hosting/api_name"
}

data "aws_ssm_parameter" "stage_name" {
  name = "${local.ssm_prefix}/api-hosting/stage_name"
}

data "aws_ssm_parameter" "function_name" {
  name = "${local.ssm_prefix}/api-hosting/function_name"
}

module "monitoring" {
  source = "../../modules/monitoring"

  name           = local.name_prefix
  account_id     = data.aws_caller_identity.current.account_id
  dashboard_name = "${local.name_prefix}-${var.monitoring.dashboard_name}"

  endpoint_name = data.aws_ssm_parameter.endpoint_name.insecure_value
  variant_names = jsondecode(data.aws_ssm_parameter.variant_names.insecure_value)
  api = {
    name  = data.aws_ssm_parameter.api_name.insecure_value
    stage = data.aws_ssm_parameter.stage_name.insecure_value
  }
  function_name = data.aws_ssm_parameter.function_name.insecure_value

  thresholds         = var.monitoring.thresholds
  period_sec         = var.monitoring.period_sec
  evaluation_periods = var.monitoring.evaluation_periods
  emails             = var.monitoring.emails
}

# Published for the orchestrator: /<project>/<stage>/monitoring/<key>.
locals {
  published = {
    dashboard_name  = module.monitoring.dashboard_name
    alarm_topic_arn = module.monitoring.alarm_topic_arn
  }
}

resource "aws_ssm_parameter" "published" {
  #checkov:skip=CKV2_AWS_34:Non-secret identifiers (names, ARNs) that the team contract publishes as String for other stacks and the orchestrator; the only secret (the API key) is a SecureString of api-hosting.
  for_each = local.published

  name        = "${local.ssm_prefix}/monitoring/${each.key}"
  description = "monitoring stack output ${each.key}"
  type        = "String"
  value       = each.value
}
