data "aws_caller_identity" "current" {}

# Independent of the other stacks: it deploys them.
module "cicd_pipeline" {
  source = "../../modules/cicd-pipeline"

  name              = local.name_prefix
  account_id        = data.aws_caller_identity.current.account_id
  project           = var.project
  environment_name  = var.environment_name
  endpoint_name     = var.endpoint_name
  state_bucket_name = var.state_bucket_name

  # Null attributes fall back to the module's defaults.
  source_config           = var.cicd.source
  require_manual_approval = var.cicd.require_manual_approval

  tls_only_bucket_policy   = var.artifact_bucket.tls_only_policy
  artifact_expiration_days = var.artifact_bucket.expiration_days
  force_destroy            = var.artifact_bucket.force_destroy
}

# Published for the orchestrator: /<project>/<stage>/cicd-pipeline/<key>.
locals {
  published = {
    pipeline_name        = module.cicd_pipeline.pipeline_name
    artifact_bucket_name = module.cicd_pipeline.artifact_bucket_name
  }
}

resource "aws_ssm_parameter" "published" {
  #checkov:skip=CKV2_AWS_34:Non-secret identifiers (names, ARNs) that the team contract publishes as String for other stacks and the orchestrator; the only secret (the API key) is a SecureString of api-hosting.
  for_each = local.published

  name        = "${local.ssm_prefix}/cicd-pipeline/${each.key}"
  description = "cicd-pipeline stack output ${each.key}"
  type        = "String"
  value       = each.value
}
