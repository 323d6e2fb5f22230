data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  account    = coalesce(var.account_id, "*")
  url_suffix = data.aws_partition.current.dns_suffix

  role_name = "${substr(var.name, 0, 53)}-sagemaker"

  models = {
    for key, m in var.models : key => merge(m, {
      image_uri = coalesce(m.image_uri, var.image_uri)
      # The packager puts the handler code in code/ inside model.tar.gz (the "repacked" layout of the
      # SageMaker Python SDK), so the framework container finds it in /opt/ml/model/code. The S3 URL form
      # of SAGEMAKER_SUBMIT_DIRECTORY is only for a separate sourcedir.tar.gz with the code at its top.
      environment = merge(
        {
          SAGEMAKER_PROGRAM             = m.program
          SAGEMAKER_SUBMIT_DIRECTORY    = "/opt/ml/model/code"
          SAGEMAKER_CONTAINER_LOG_LEVEL = tostring(m.log_level)
          SAGEMAKER_REGION              = local.region
        },
        # null workers: the model server starts one worker per vCPU.
        m.workers == null ? {} : { SAGEMAKER_MODEL_SERVER_WORKERS = tostring(m.workers) },
        m.environment,
      )
    })
  }

  # Models are immutable: every argument that forces a new model is hashed into its name, so a change
  # (new model data URL, image, environment) creates a new model beside the old one (create_before_destroy).
  model_names = {
    for key, m in local.models : key => "${substr(var.name, 0, 63 - 10 - length(key))}-${key}-${substr(sha1(jsonencode([
      m.image_uri, m.model_data_url, m.environment, local.role_name, var.enable_network_isolation
    ])), 0, 8)}"
  }

  autoscaled = { for key, m in var.models : key => m if m.autoscaling.enabled && var.deploy_endpoint }

  # SageMaker stores weights as 32-bit floats and the provider reads them back widened, so a fraction
  # such as 0.1 would never match the configuration (a replacement on every plan). Whole numbers up to
  # 2^24 survive the round trip: fractional weights are scaled by 1000 and rounded (same ratios).
  weights_whole = alltrue([for m in var.models : floor(m.variant.weight) == m.variant.weight])
  weights = {
    for key, m in var.models : key => local.weights_whole ? m.variant.weight : max(1, floor(m.variant.weight * 1000 + 0.5))
  }
}

resource "aws_sagemaker_model" "this" {
  #checkov:skip=CKV_AWS_370:Network isolation is the enable_network_isolation variable; off by default because the framework container pip-installs code/requirements.txt at start.

  for_each = local.models

  name                     = local.model_names[each.key]
  execution_role_arn       = aws_iam_role.execution.arn
  enable_network_isolation = var.enable_network_isolation

  primary_container {
    image          = each.value.image_uri
    model_data_url = each.value.model_data_url
    environment    = each.value.environment
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }

  # The role must be able to read the model before SageMaker validates it.
  depends_on = [aws_iam_role_policy.execution]
}

resource "aws_sagemaker_endpoint_configuration" "this" {
  # A unique suffix per configuration: changing a model, weight, instance type or capture setting
  # creates a new configuration and updates the endpoint in place, with no hand renaming.
  name_prefix = "${substr(var.name, 0, 36)}-"
  kms_key_arn = var.storage_kms_key_arn

  dynamic "production_variants" {
    for_each = var.models
    content {
      variant_name           = production_variants.value.variant.name
      model_name             = aws_sagemaker_model.this[production_variants.key].name
      initial_variant_weight = local.weights[production_variants.key]
      initial_instance_count = production_variants.value.variant.instance_count
      instance_type          = production_variants.value.variant.instance_type
    }
  }

  dynamic "data_capture_config" {
    for_each = var.data_capture.enabled ? [var.data_capture] : []
    content {
      enable_capture              = true
      initial_sampling_percentage = data_capture_config.value.sampling_percentage
      destination_s3_uri          = "s3://${var.capture_bucket.name}/${data_capture_config.value.s3_prefix}"
      kms_key_id                  = local.capture_kms_key_arn

      dynamic "capture_options" {
        for_each = data_capture_config.value.modes
        content {
          capture_mode = capture_options.value
        }
      }

      dynamic "capture_content_type_header" {
        for_each = length(data_capture_config.value.json_content_types) + length(data_capture_config.value.csv_content_types) > 0 ? [1] : []
        content {
          json_content_types = length(data_capture_config.value.json_content_types) > 0 ? data_capture_config.value.json_content_types : null
          csv_content_types  = length(data_capture_config.value.csv_content_types) > 0 ? data_capture_config.value.csv_content_types : null
        }
      }
    }
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }

  depends_on = [aws_s3_bucket.capture]
}

resource "aws_cloudwatch_log_group" "endpoint" {
  #checkov:skip=CKV_AWS_158:Container logs hold no secrets; a CMK for logs needs a key policy for the logs service, left to the account.
  #checkov:skip=CKV_AWS_338:Retention is the log_retention_days variable (30 days by default, an environment setting).

  name              = "/aws/sagemaker/Endpoints/${var.name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_sagemaker_endpoint" "this" {
  count = var.deploy_endpoint ? 1 : 0

  name                 = var.name
  endpoint_config_name = aws_sagemaker_endpoint_configuration.this.name
  tags                 = var.tags

  depends_on = [
    aws_cloudwatch_log_group.endpoint,
    aws_iam_role_policy.execution,
    aws_s3_bucket_policy.capture,
    aws_s3_bucket_server_side_encryption_configuration.capture,
  ]
}

# Application Auto Scaling refuses an UpdateEndpoint that changes the instance type of a scaled
# variant; replacing the scalable target (deregister, then register after the update) when the
# instance type changes lets a new type roll out in one apply.
resource "terraform_data" "autoscaled_instance_type" {
  for_each = local.autoscaled

  triggers_replace = each.value.variant.instance_type
}

resource "aws_appautoscaling_target" "this" {
  for_each = local.autoscaled

  service_namespace  = "sagemaker"
  resource_id        = "endpoint/${aws_sagemaker_endpoint.this[0].name}/variant/${each.value.variant.name}"
  scalable_dimension = "sagemaker:variant:DesiredInstanceCount"
  min_capacity       = each.value.autoscaling.min_capacity
  max_capacity       = each.value.autoscaling.max_capacity
  tags               = var.tags

  lifecycle {
    replace_triggered_by = [terraform_data.autoscaled_instance_type[each.key]]
  }
}

resource "aws_appautoscaling_policy" "this" {
  for_each = local.autoscaled

  name               = "${var.name}-${each.value.variant.name}-invocations"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this[each.key].service_namespace
  resource_id        = aws_appautoscaling_target.this[each.key].resource_id
  scalable_dimension = aws_appautoscaling_target.this[each.key].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = each.value.autoscaling.target_invocations_per_instance
    scale_in_cooldown  = each.value.autoscaling.scale_in_cooldown_sec
    scale_out_cooldown = each.value.autoscaling.scale_out_cooldown_sec

    predefined_metric_specification {
      predefined_metric_type = "SageMakerVariantInvocationsPerInstance"
    }
  }

  lifecycle {
    replace_triggered_by = [terraform_data.autoscaled_instance_type[each.key]]
  }
}
