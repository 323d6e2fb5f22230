data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  partition      = data.aws_partition.current.partition
  region         = data.aws_region.current.name
  dashboard_name = coalesce(var.dashboard_name, "${var.name}-monitor")
  period         = var.period_sec

  api_dims      = ["ApiName", var.api.name, "Stage", var.api.stage]
  function_dims = ["FunctionName", var.function_name]

  # One entry per widget, in display order; positions are assigned below (two widgets per row).
  api_widgets = [
    {
      title   = "API Gateway requests and errors (sum)"
      stat    = "Sum"
      metrics = [for m in ["Count", "4XXError", "5XXError"] : concat(["AWS/ApiGateway", m], local.api_dims)]
    },
    {
      title   = "API Gateway latency (avg, ms)"
      stat    = "Average"
      metrics = [for m in ["Latency", "IntegrationLatency"] : concat(["AWS/ApiGateway", m], local.api_dims)]
    },
  ]

  lambda_widgets = [
    {
      title   = "Predictor Lambda invocations (sum)"
      stat    = "Sum"
      metrics = [concat(["AWS/Lambda", "Invocations"], local.function_dims)]
    },
    {
      title   = "Predictor Lambda concurrent executions (max)"
      stat    = "Maximum"
      metrics = [concat(["AWS/Lambda", "ConcurrentExecutions"], local.function_dims)]
    },
    {
      title = "Predictor Lambda duration (avg/min/max, ms)"
      stat  = "Average"
      metrics = [
        for s in ["Average", "Minimum", "Maximum"] :
        concat(["AWS/Lambda", "Duration"], local.function_dims, [{ stat = s, label = "Duration ${s}" }])
      ]
    },
    {
      title   = "Predictor Lambda errors and throttles (sum)"
      stat    = "Sum"
      metrics = [for m in ["Errors", "Throttles"] : concat(["AWS/Lambda", m], local.function_dims)]
    },
  ]

  # Four widgets per production variant, generated from var.variant_names.
  variant_widgets = flatten([
    for v in var.variant_names : [
      {
        title = "Variant ${v}: CPU / memory / disk utilization (avg, %)"
        stat  = "Average"
        metrics = [
          for m in ["CPUUtilization", "MemoryUtilization", "DiskUtilization"] :
          ["/aws/sagemaker/Endpoints", m, "EndpointName", var.endpoint_name, "VariantName", v]
        ]
      },
      {
        title = "Variant ${v}: invocations (sum)"
        stat  = "Sum"
        metrics = [
          for m in ["Invocations", "InvocationsPerInstance"] :
          ["AWS/SageMaker", m, "EndpointName", var.endpoint_name, "VariantName", v]
        ]
      },
      {
        title = "Variant ${v}: invocation errors (sum)"
        stat  = "Sum"
        metrics = [
          for m in ["Invocation4XXErrors", "Invocation5XXErrors"] :
          ["AWS/SageMaker", m, "EndpointName", var.endpoint_name, "VariantName", v]
        ]
      },
      {
        title = "Variant ${v}: model and overhead latency (avg, us)"
        stat  = "Average"
        metrics = [
          for m in ["ModelLatency", "OverheadLatency"] :
          ["AWS/SageMaker", m, "EndpointName", var.endpoint_name, "VariantName", v]
        ]
      },
    ]
  ])

  widgets = concat(local.api_widgets, local.lambda_widgets, local.variant_widgets)

  dashboard_body = jsonencode({
    widgets = [
      for i, w in local.widgets : {
        type   = "metric"
        x      = (i % 2) * 12
        y      = floor(i / 2) * 6
        width  = 12
        height = 6
        properties = {
          title   = w.title
          view    = "timeSeries"
          stacked = false
          region  = local.region
          period  = local.period
          stat    = w.stat
          metrics = w.metrics
        }
      }
    ]
  })

  # The three alarms of the original API monitor.
  api_alarms = {
    "api-overall-calls" = { metric = "Count", threshold = var.thresholds.api_overall_calls, what = "API calls" }
    "api-4xx-errors"    = { metric = "4XXError", threshold = var.thresholds.api_4xx_errors, what = "API 4xx responses" }
    "api-5xx-errors"    = { metric = "5XXError", threshold = var.thresholds.api_5xx_errors, what = "API 5xx responses" }
  }

  alarm_actions = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = local.dashboard_name
  dashboard_body = local.dashboard_body
}

################################################################################
# Alarm topic (KMS-encrypted) and subscriptions
################################################################################

data "aws_iam_policy_document" "kms" {
  # A key policy's Resource "*" means "this key" (key policies apply to their own key only).
  #checkov:skip=CKV_AWS_109:Key policy: Resource "*" is this key; the account-root statement is the standard delegation to IAM.
  #checkov:skip=CKV_AWS_111:Key policy: Resource "*" is this key; service statements are constrained by source account / encryption context.
  #checkov:skip=CKV_AWS_356:Key policy: Resource "*" is this key, not every resource.
  statement {
    sid       = "AccountAdministration"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${var.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchAlarmsPublishToEncryptedTopic"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [var.account_id]
    }
  }
}

resource "aws_kms_key" "alarms" {
  description             = "${var.name}: encrypts the alarm notification topic"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_days
  policy                  = data.aws_iam_policy_document.kms.json
  tags                    = var.tags
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = aws_kms_key.alarms.arn
  tags              = var.tags
}

data "aws_iam_policy_document" "topic" {
  statement {
    sid       = "CloudWatchAlarmsOfThisAccount"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:cloudwatch:${local.region}:${var.account_id}:alarm:*"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [var.account_id]
    }
  }
}

resource "aws_sns_topic_policy" "alarms" {
  arn    = aws_sns_topic.alarms.arn
  policy = data.aws_iam_policy_document.topic.json
}

resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.emails)

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = each.value
}

################################################################################
# Alarms
################################################################################

resource "aws_cloudwatch_metric_alarm" "api" {
  for_each = local.api_alarms

  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = "${each.value.what} of ${var.api.name}/${var.api.stage} >= ${each.value.threshold} per ${local.period} s for ${var.evaluation_periods} periods."
  namespace           = "AWS/ApiGateway"
  metric_name         = each.value.metric
  dimensions          = { ApiName = var.api.name, Stage = var.api.stage }
  statistic           = "Sum"
  period              = local.period
  evaluation_periods  = var.evaluation_periods
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "variant_5xx" {
  for_each = toset(var.variant_names)

  alarm_name          = "${var.name}-variant-${each.value}-5xx-errors"
  alarm_description   = "Invocation5XXErrors of variant ${each.value} of ${var.endpoint_name} >= ${var.thresholds.variant_5xx_errors} per ${local.period} s for ${var.evaluation_periods} periods."
  namespace           = "AWS/SageMaker"
  metric_name         = "Invocation5XXErrors"
  dimensions          = { EndpointName = var.endpoint_name, VariantName = each.value }
  statistic           = "Sum"
  period              = local.period
  evaluation_periods  = var.evaluation_periods
  threshold           = var.thresholds.variant_5xx_errors
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "variant_latency" {
  for_each = toset(var.variant_names)

  alarm_name          = "${var.name}-variant-${each.value}-model-latency-p99"
  alarm_description   = "ModelLatency p99 of variant ${each.value} of ${var.endpoint_name} > ${var.thresholds.model_latency_p99_ms} ms for ${var.evaluation_periods} periods (ModelLatency is reported in microseconds)."
  namespace           = "AWS/SageMaker"
  metric_name         = "ModelLatency"
  dimensions          = { EndpointName = var.endpoint_name, VariantName = each.value }
  extended_statistic  = "p99"
  period              = local.period
  evaluation_periods  = var.evaluation_periods
  threshold           = var.thresholds.model_latency_p99_ms * 1000
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "lambda_errors" {
  alarm_name          = "${var.name}-predictor-errors"
  alarm_description   = "Errors of the predictor Lambda ${var.function_name} >= ${var.thresholds.lambda_errors} per ${local.period} s for ${var.evaluation_periods} periods."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = var.function_name }
  statistic           = "Sum"
  period              = local.period
  evaluation_periods  = var.evaluation_periods
  threshold           = var.thresholds.lambda_errors
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}
