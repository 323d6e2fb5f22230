data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "tester" {
  name               = "${var.name}-load-tester"
  description        = "Execution role of the load-test client functions."
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "tester" {
  statement {
    sid       = "OwnLogGroups"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.log_group_arn}:*"]
  }

  statement {
    sid       = "MetricsInTheProjectNamespaceOnly"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"] # PutMetricData has no resource-level permissions; the namespace condition scopes it.

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [var.metric_namespace]
    }
  }

  statement {
    sid       = "ReadTheApiKeyParameter"
    actions   = ["ssm:GetParameter"]
    resources = [local.api_key_ssm_arn]
  }

  statement {
    sid     = "DecryptTheApiKeyThroughSsm"
    actions = ["kms:Decrypt"]
    resources = length(var.api.api_key_parameter_kms_keys) > 0 ? var.api.api_key_parameter_kms_keys : [
      "arn:${local.partition}:kms:${local.region}:${var.account_id}:key/*"
    ]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["ssm.${local.region}.amazonaws.com"]
    }
  }

  statement {
    sid       = "DecryptOwnEnvironment"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.load_testing.arn]
  }

  statement {
    sid       = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"] # X-Ray trace ingestion has no resource-level permissions.
  }
}

resource "aws_iam_role_policy" "tester" {
  name   = "${var.name}-load-tester"
  role   = aws_iam_role.tester.id
  policy = data.aws_iam_policy_document.tester.json
}
