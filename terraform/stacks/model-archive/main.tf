module "model_archive" {
  source = "../../modules/model-archive"

  bucket_name                        = "${local.name_prefix}-${var.model_archive.bucket_base_name}"
  models                             = var.models
  versioning                         = var.model_archive.versioning
  kms_encryption                     = var.model_archive.kms_encryption
  tls_only_policy                    = var.model_archive.tls_only_policy
  lifecycle_rules                    = var.model_archive.lifecycle_rules
  noncurrent_version_expiration_days = var.model_archive.noncurrent_version_expiration_days
  force_destroy                      = var.model_archive.force_destroy
}

# Published for downstream stacks and the orchestrator: /<project>/<stage>/model-archive/<key>.
locals {
  published = {
    bucket_name = module.model_archive.bucket_name
    bucket_arn  = module.model_archive.bucket_arn
    # SSM values cannot be empty: "none" means SSE-S3 (no KMS key to grant).
    kms_key_arn     = var.model_archive.kms_encryption ? module.model_archive.bucket_kms_key_arn : "none"
    model_data_urls = jsonencode(module.model_archive.model_data_urls)
  }
}

resource "aws_ssm_parameter" "published" {
  #checkov:skip=CKV2_AWS_34:Names and ARNs are not secrets; the contracts publish them as String.

  for_each = local.published

  name        = "${local.ssm_prefix}/model-archive/${each.key}"
  description = "model-archive stack output ${each.key}"
  type        = "String"
  value       = each.value
}
