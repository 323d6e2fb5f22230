# Execution role of the endpoint: least privilege, scoped to this endpoint's artifacts and outputs.

locals {
  # s3://bucket/models/<model>/<sha256>/model.tar.gz -> bucket + "models/<model>/<sha256>" (the model's prefix).
  model_locations = {
    for key, m in var.models : key => {
      bucket = try(regex("^s3://([^/]+)/", m.model_data_url)[0], "")
      prefix = try(regex("^s3://[^/]+/(.*)/[^/]+$", m.model_data_url)[0], "")
      key    = try(regex("^s3://[^/]+/(.+)$", m.model_data_url)[0], "")
    }
  }
  model_object_arns = distinct([
    for l in local.model_locations :
    l.prefix == "" ? "arn:${local.partition}:s3:::${l.bucket}/${l.key}" : "arn:${local.partition}:s3:::${l.bucket}/${l.prefix}/*"
  ])

  # <account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag|@digest] -> repository ARN.
  image_repository_arns = distinct([
    for m in local.models : format(
      "arn:%s:ecr:%s:%s:repository/%s",
      local.partition,
      regex("^[0-9]{12}\\.dkr\\.ecr\\.([a-z0-9-]+)\\.", m.image_uri)[0],
      regex("^([0-9]{12})\\.", m.image_uri)[0],
      regex("^[^/]+/([^:@]+)", m.image_uri)[0],
    )
  ])

  log_group_arn = "arn:${local.partition}:logs:${local.region}:${local.account}:log-group:/aws/sagemaker/Endpoints/${var.name}"
  kms_via_s3    = "s3.${local.region}.${local.url_suffix}"
}

data "aws_iam_policy_document" "execution_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["sagemaker.amazonaws.com"]
    }

    dynamic "condition" {
      for_each = var.account_id == null ? [] : [var.account_id]
      content {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [condition.value]
      }
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = local.role_name
  description        = "Execution role of the ${var.name} SageMaker endpoint"
  assume_role_policy = data.aws_iam_policy_document.execution_trust.json
  tags               = var.tags
}

data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "ReadModelArtifacts"
    actions   = ["s3:GetObject"]
    resources = local.model_object_arns
  }

  statement {
    sid       = "WriteDataCapture"
    actions   = ["s3:PutObject"]
    resources = ["${local.capture_bucket_arn}/${var.data_capture.s3_prefix}/*"]
  }

  dynamic "statement" {
    for_each = var.capture_bucket.kms_encryption ? [1] : []
    content {
      sid       = "EncryptDataCapture"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [local.capture_kms_key_arn]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = [local.kms_via_s3]
      }
    }
  }

  dynamic "statement" {
    for_each = var.model_kms_key_arn == null ? [] : [var.model_kms_key_arn]
    content {
      sid       = "DecryptModelArtifacts"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = [local.kms_via_s3]
      }
    }
  }

  statement {
    sid       = "EndpointLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = [local.log_group_arn, "${local.log_group_arn}:*"]
  }

  statement {
    sid       = "EcrAuthorization"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # GetAuthorizationToken has no resource-level permissions.
  }

  statement {
    sid       = "PullInferenceImage"
    actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
    resources = local.image_repository_arns
  }

  statement {
    sid       = "PublishMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"] # PutMetricData has no resource-level permissions; the namespace condition scopes it.

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = var.metric_namespaces
    }
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "${var.name}-sagemaker-execution"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}
