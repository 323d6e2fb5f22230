data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  partition       = data.aws_partition.current.partition
  region          = data.aws_region.current.name
  dashboard_name  = coalesce(var.dashboard_name, "${var.name}-tester")
  function_names  = [for i in range(var.client_count) : "${var.name}-load-tester-${i + 1}"]
  log_group_arn   = "arn:${local.partition}:logs:${local.region}:${var.account_id}:log-group:/aws/lambda/${var.name}-load-tester-*"
  api_key_ssm_arn = "arn:${local.partition}:ssm:${local.region}:${var.account_id}:parameter/${trimprefix(var.api.api_key_parameter_name, "/")}"
}

################################################################################
# KMS key: trigger topic, log groups, function environment
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
    sid       = "CloudWatchLogsOfTheTesters"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = [local.log_group_arn]
    }
  }
}

resource "aws_kms_key" "load_testing" {
  description             = "${var.name}: encrypts the load-test trigger topic, tester logs and environment"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_days
  policy                  = data.aws_iam_policy_document.kms.json
  tags                    = var.tags
}

################################################################################
# Trigger topic
################################################################################

resource "aws_sns_topic" "trigger" {
  name              = "${var.name}-test-trigger"
  kms_master_key_id = aws_kms_key.load_testing.arn
  tags              = var.tags
}

################################################################################
# Tester functions (one per client), each subscribed to the trigger topic
################################################################################

resource "aws_cloudwatch_log_group" "tester" {
  count = var.client_count

  name              = "/aws/lambda/${local.function_names[count.index]}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.load_testing.arn
  tags              = var.tags
}

# With s3_bucket set, the zip goes to S3 once and every tester loads it from there. Created from a
# local file, the provider builds functions one at a time (a global lock held across each function's
# wait for Active, ~5 s): five testers took 25 s; from S3 they are created in parallel.
locals {
  package_in_s3 = var.lambda_package.s3_bucket != null
  # Content-addressed (base64url of the SHA-256): a new zip is a new object and rolls the functions.
  package_key = format("%s/%s-load-tester/%s.zip", var.lambda_package.s3_key_prefix, var.name,
  replace(replace(trimsuffix(var.lambda_package.source_code_hash, "="), "/", "_"), "+", "-"))
}

resource "aws_s3_object" "package" {
  #checkov:skip=CKV_AWS_186:Written into the artifact bucket, whose default encryption (SSE-KMS with the archive's key) applies to it.
  count = local.package_in_s3 ? 1 : 0

  bucket = var.lambda_package.s3_bucket
  key    = local.package_key
  source = var.lambda_package.filename
  tags   = var.tags

  lifecycle {
    # The functions move to the new object before the old one goes.
    create_before_destroy = true
  }
}

resource "aws_lambda_function" "this" {
  count = var.client_count

  #checkov:skip=CKV_AWS_116:Invoked asynchronously by SNS with retries disabled (aws_lambda_function_event_invoke_config): a failed load run is re-triggered by the operator, never replayed from a queue.
  #checkov:skip=CKV_AWS_117:The testers call the public API endpoint like any client would and use no VPC resources.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile that the embedded control plane lacks; the package is pinned by source_code_hash.
  function_name                  = local.function_names[count.index]
  description                    = "Load-test client ${count.index + 1} of ${var.client_count}: runs the test cases of each trigger message against the API."
  role                           = aws_iam_role.tester.arn
  filename                       = local.package_in_s3 ? null : var.lambda_package.filename
  s3_bucket                      = local.package_in_s3 ? aws_s3_object.package[0].bucket : null
  s3_key                         = local.package_in_s3 ? aws_s3_object.package[0].key : null
  source_code_hash               = var.lambda_package.source_code_hash
  handler                        = var.lambda_package.handler
  runtime                        = var.lambda_package.runtime
  timeout                        = var.lambda_package.timeout_sec
  memory_size                    = var.lambda_package.memory_mb
  reserved_concurrent_executions = var.reserved_concurrency
  kms_key_arn                    = aws_kms_key.load_testing.arn

  environment {
    variables = {
      API_INVOKE_URL    = var.api.invoke_url
      API_KEY_PARAMETER = var.api.api_key_parameter_name
      METRIC_NAMESPACE  = var.metric_namespace
      STAGE             = var.stage
      TESTER_ID         = tostring(count.index + 1)
    }
  }

  tracing_config {
    mode = "Active"
  }

  tags = var.tags

  depends_on = [aws_cloudwatch_log_group.tester, aws_iam_role_policy.tester]
}

resource "aws_lambda_function_event_invoke_config" "tester" {
  count = var.client_count

  function_name                = aws_lambda_function.this[count.index].function_name
  maximum_retry_attempts       = 0
  maximum_event_age_in_seconds = 60
}

resource "aws_lambda_permission" "sns" {
  count = var.client_count

  statement_id  = "AllowTestTriggerTopic"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this[count.index].function_name
  principal     = "sns.amazonaws.com"
  source_arn    = aws_sns_topic.trigger.arn
}

resource "aws_sns_topic_subscription" "tester" {
  count = var.client_count

  topic_arn = aws_sns_topic.trigger.arn
  protocol  = "lambda"
  endpoint  = aws_lambda_function.this[count.index].arn

  depends_on = [aws_lambda_permission.sns]
}

################################################################################
# Tester dashboard (generated from the test cases)
################################################################################

locals {
  topic_dims = ["TopicName", aws_sns_topic.trigger.name]

  widgets = concat(
    [
      {
        title   = "Trigger topic: messages published / delivered / failed (sum)"
        stat    = "Sum"
        metrics = [for m in ["NumberOfMessagesPublished", "NumberOfNotificationsDelivered", "NumberOfNotificationsFailed"] : concat(["AWS/SNS", m], local.topic_dims)]
      },
    ],
    flatten([
      for c in var.test_cases : [
        {
          title = "${c.name}: ResponseTime p50 / p90 / p99 (ms)"
          stat  = "p50"
          metrics = [
            for p in ["p50", "p90", "p99"] :
            [var.metric_namespace, "ResponseTime", "Stage", var.stage, "Type", "${c.type}/${c.name}", { stat = p, label = "ResponseTime ${p}" }]
          ]
        },
        {
          title = "${c.name}: status and test results (sum)"
          stat  = "Sum"
          metrics = [
            for m in ["StatusSuccess", "StatusError", "TestSuccess", "TestFail"] :
            [var.metric_namespace, m, "Stage", var.stage, "Type", "${c.type}/${c.name}"]
          ]
        },
      ]
    ]),
  )
}

resource "aws_cloudwatch_dashboard" "tester" {
  dashboard_name = local.dashboard_name
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
          period  = 60
          stat    = w.stat
          metrics = w.metrics
        }
      }
    ]
  })
}
