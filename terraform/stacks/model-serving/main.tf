data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

# Upstream: the model-archive stack's published values (plan fails clearly if it was never applied).
data "aws_ssm_parameter" "model_data_urls" {
  name = "${local.ssm_prefix}/model-archive/model_data_urls"
}

data "aws_ssm_parameter" "archive_kms_key_arn" {
  name = "${local.ssm_prefix}/model-archive/kms_key_arn"
}

locals {
  model_data_urls   = jsondecode(data.aws_ssm_parameter.model_data_urls.insecure_value)
  archive_kms_value = data.aws_ssm_parameter.archive_kms_key_arn.insecure_value
  default_image     = "763104351884.dkr.ecr.${data.aws_region.current.name}.amazonaws.com/pytorch-inference:${var.default_image_tag}"
}

module "model_serving" {
  source = "../../modules/model-serving"

  name              = var.endpoint_name
  image_uri         = coalesce(var.image, local.default_image)
  account_id        = data.aws_caller_identity.current.account_id
  deploy_endpoint   = var.deploy
  model_kms_key_arn = local.archive_kms_value == "none" ? null : local.archive_kms_value

  models = {
    for m in var.models : m.name => {
      # null when the archive has no such model: the module's validation then says to apply model-archive.
      model_data_url = lookup(local.model_data_urls, m.name, null)
      image_uri      = m.image
      workers        = m.variant.workers
      environment    = m.variant.env
      program        = lookup(m.variant.env, "SAGEMAKER_PROGRAM", "inference.py")
      variant = {
        name           = coalesce(m.variant.name, m.name)
        weight         = m.variant.weight
        instance_count = m.variant.instance_count
        instance_type  = m.variant.instance_type
      }
      autoscaling = m.autoscaling
    }
  }

  data_capture = {
    enabled             = var.data_capture.enabled
    sampling_percentage = var.data_capture.sampling_percent
    modes               = var.data_capture.modes
    s3_prefix           = var.data_capture.s3_prefix
    json_content_types  = var.data_capture.json_content_types
    csv_content_types   = var.data_capture.csv_content_types
  }

  capture_bucket = {
    name            = "${local.name_prefix}-${var.data_capture.bucket_base_name}"
    kms_encryption  = var.data_capture.kms_encryption
    tls_only_policy = var.capture_bucket.tls_only_policy
    force_destroy   = var.capture_bucket.force_destroy
  }
}

# Published for downstream stacks and the orchestrator: /<project>/<stage>/model-serving/<key>.
locals {
  published = {
    # The name is deterministic even when deploy = false; the ARN then reads "none".
    endpoint_name        = var.endpoint_name
    endpoint_arn         = var.deploy ? module.model_serving.endpoint_arn : "none"
    endpoint_config_name = module.model_serving.endpoint_config_name
    variant_names        = jsonencode(module.model_serving.endpoint_variant_names)
    capture_bucket_name  = module.model_serving.capture_bucket_name
    execution_role_arn   = module.model_serving.execution_role_arn
  }
}

resource "aws_ssm_parameter" "published" {
  #checkov:skip=CKV2_AWS_34:Names and ARNs are not secrets; the contracts publish them as String.

  for_each = local.published

  name        = "${local.ssm_prefix}/model-serving/${each.key}"
  description = "model-serving stack output ${each.key}"
  type        = "String"
  value       = each.value
}
