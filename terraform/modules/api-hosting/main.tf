data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  partition     = data.aws_partition.current.partition
  region        = data.aws_region.current.name
  account       = coalesce(var.account_id, "*")
  api_name      = coalesce(var.api_name, "${var.name}-api")
  function_name = coalesce(var.function_name, "${var.name}-predictor")
  segments      = split("/", var.api.resource_path)
  leaf_resource = length(local.segments) == 3 ? aws_api_gateway_resource.segment_3[0] : length(local.segments) == 2 ? aws_api_gateway_resource.segment_2[0] : aws_api_gateway_resource.segment_1
}

################################################################################
# Predictor Lambda
################################################################################

# Created before the function, so Lambda never creates it without retention (or clashes with it).
resource "aws_cloudwatch_log_group" "lambda" {
  #checkov:skip=CKV_AWS_338:Retention is the log_retention_days variable (an environment setting).
  #checkov:skip=CKV_AWS_158:KMS is the optional log_kms_key_arn variable.

  name              = "/aws/lambda/${local.function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "lambda_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "lambda" {
  name               = "${substr(local.function_name, 0, 59)}-role"
  description        = "Role of the ${local.function_name} predictor function"
  assume_role_policy = data.aws_iam_policy_document.lambda_trust.json
  tags               = var.tags
}

data "aws_iam_policy_document" "lambda" {
  statement {
    sid       = "InvokeEndpoint"
    actions   = ["sagemaker:InvokeEndpoint"]
    resources = [var.endpoint_arn]
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account}:log-group:/aws/lambda/${local.function_name}:*"]
  }

  dynamic "statement" {
    for_each = var.lambda.tracing ? [1] : []
    content {
      sid       = "XRay"
      actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
      resources = ["*"] # X-Ray has no resource-level permissions for these actions.
    }
  }
}

resource "aws_iam_role_policy" "lambda" {
  name   = "${local.function_name}-policy"
  role   = aws_iam_role.lambda.id
  policy = data.aws_iam_policy_document.lambda.json
}

# With lambda.s3_bucket set, the zip is stored in S3 under a content-addressed key and the function
# loads it from there (the record of what was deployed stays beside the model archives).
locals {
  package_in_s3 = var.lambda.s3_bucket != null
  package_key = format("%s/%s/%s.zip", var.lambda.s3_key_prefix, local.function_name,
  replace(replace(trimsuffix(var.lambda.source_code_hash, "="), "/", "_"), "+", "-"))
}

resource "aws_s3_object" "package" {
  #checkov:skip=CKV_AWS_186:Written into the artifact bucket, whose default encryption (SSE-KMS with the archive's key) applies to it.
  count = local.package_in_s3 ? 1 : 0

  bucket = var.lambda.s3_bucket
  key    = local.package_key
  source = var.lambda.filename
  tags   = var.tags

  lifecycle {
    # The function moves to the new object before the old one goes.
    create_before_destroy = true
  }
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:Invoked synchronously by API Gateway: a dead-letter queue only applies to asynchronous invocations.
  #checkov:skip=CKV_AWS_117:Calls only the public SageMaker runtime API; no VPC resources to reach.
  #checkov:skip=CKV_AWS_272:The zip is built deterministically by the orchestrator from the repository; code signing needs a signing profile per account.
  #checkov:skip=CKV_AWS_173:The environment holds no secrets (endpoint name, limits, log level); Lambda encrypts it at rest with the AWS-managed key.

  function_name                  = local.function_name
  description                    = "Forwards ${var.api.http_method} /${var.api.resource_path} to the ${var.endpoint_name} SageMaker endpoint"
  role                           = aws_iam_role.lambda.arn
  handler                        = var.lambda.handler
  runtime                        = var.lambda.runtime
  filename                       = local.package_in_s3 ? null : var.lambda.filename
  s3_bucket                      = local.package_in_s3 ? aws_s3_object.package[0].bucket : null
  s3_key                         = local.package_in_s3 ? aws_s3_object.package[0].key : null
  source_code_hash               = var.lambda.source_code_hash
  timeout                        = var.lambda.timeout_sec
  memory_size                    = var.lambda.memory_mb
  reserved_concurrent_executions = var.lambda.reserved_concurrent_executions

  environment {
    variables = merge({
      SAGEMAKER_ENDPOINT = var.endpoint_name
      MAX_BODY_BYTES     = tostring(var.lambda.max_body_bytes)
      LOG_LEVEL          = var.lambda.log_level
      # Every InvokeEndpoint attempt must fit in the function's timeout (itself under API Gateway's
      # 29 s), so callers get the predictor's 504 JSON rather than a bare gateway timeout.
      SAGEMAKER_READ_TIMEOUT_SEC = tostring(var.lambda.invoke_read_timeout_sec)
      SAGEMAKER_MAX_ATTEMPTS     = tostring(var.lambda.invoke_max_attempts)
    }, var.lambda.environment)
  }

  dynamic "tracing_config" {
    for_each = var.lambda.tracing ? [1] : []
    content {
      mode = "Active"
    }
  }

  tags = var.tags

  depends_on = [aws_cloudwatch_log_group.lambda, aws_iam_role_policy.lambda]
}

################################################################################
# REST API: POST /<resource> -> Lambda (AWS_PROXY: the function owns status codes)
################################################################################

resource "aws_api_gateway_rest_api" "this" {
  name           = local.api_name
  description    = "Prediction API of the ${var.endpoint_name} endpoint"
  api_key_source = "HEADER"

  endpoint_configuration {
    types = ["REGIONAL"]
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_api_gateway_resource" "segment_1" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_rest_api.this.root_resource_id
  path_part   = local.segments[0]
}

resource "aws_api_gateway_resource" "segment_2" {
  count = length(local.segments) >= 2 ? 1 : 0

  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_resource.segment_1.id
  path_part   = local.segments[1]
}

resource "aws_api_gateway_resource" "segment_3" {
  count = length(local.segments) >= 3 ? 1 : 0

  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_resource.segment_2[0].id
  path_part   = local.segments[2]
}

resource "aws_api_gateway_method" "this" {
  #checkov:skip=CKV2_AWS_53:AWS_PROXY: the predictor validates the body and answers 4xx itself, with the platform's error format.

  rest_api_id      = aws_api_gateway_rest_api.this.id
  resource_id      = local.leaf_resource.id
  http_method      = var.api.http_method
  authorization    = "NONE"
  api_key_required = var.api.api_key_required
}

resource "aws_api_gateway_integration" "this" {
  rest_api_id             = aws_api_gateway_rest_api.this.id
  resource_id             = local.leaf_resource.id
  http_method             = aws_api_gateway_method.this.http_method
  type                    = "AWS_PROXY"
  integration_http_method = "POST" # Lambda is always invoked with POST, whatever the client's method.
  uri                     = aws_lambda_function.this.invoke_arn
}

resource "aws_lambda_permission" "api" {
  statement_id  = "AllowApiGatewayInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  principal     = "apigateway.amazonaws.com"
  # Any stage of this API, this method and path only.
  source_arn = "${aws_api_gateway_rest_api.this.execution_arn}/*/${var.api.http_method}/${var.api.resource_path}"
}

resource "aws_api_gateway_deployment" "this" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  description = "Managed by Terraform"

  # A new deployment whenever what the stage serves changes.
  triggers = {
    redeployment = sha1(jsonencode([
      var.api.resource_path,
      aws_api_gateway_method.this.id,
      aws_api_gateway_method.this.api_key_required,
      aws_api_gateway_method.this.authorization,
      aws_api_gateway_integration.this.id,
      aws_api_gateway_integration.this.uri,
      aws_api_gateway_integration.this.type,
    ]))
  }

  lifecycle {
    create_before_destroy = true
  }

  depends_on = [aws_api_gateway_method.this, aws_api_gateway_integration.this]
}

resource "aws_cloudwatch_log_group" "access" {
  #checkov:skip=CKV_AWS_338:Retention is the log_retention_days variable (an environment setting).
  #checkov:skip=CKV_AWS_158:KMS is the optional log_kms_key_arn variable.

  count = var.api.access_logs ? 1 : 0

  name              = "/aws/apigateway/${local.api_name}/${var.api.stage_name}/access"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

resource "aws_api_gateway_stage" "this" {
  #checkov:skip=CKV_AWS_73:X-Ray is the api.xray_tracing variable.
  #checkov:skip=CKV_AWS_120:Predictions are per request; a cache cluster would cost money and serve stale answers.
  #checkov:skip=CKV2_AWS_51:Clients authenticate with the usage plan's API key over TLS; mutual TLS is out of scope.
  #checkov:skip=CKV2_AWS_29:WAF is an account-level decision (web ACL association); throttling and quota come from the usage plan.
  #checkov:skip=CKV2_AWS_4:The logging level is set by aws_api_gateway_method_settings.this (api.logging_level, INFO by default).

  rest_api_id          = aws_api_gateway_rest_api.this.id
  deployment_id        = aws_api_gateway_deployment.this.id
  stage_name           = var.api.stage_name
  xray_tracing_enabled = var.api.xray_tracing

  dynamic "access_log_settings" {
    for_each = var.api.access_logs ? [1] : []
    content {
      destination_arn = aws_cloudwatch_log_group.access[0].arn
      format = jsonencode({
        requestId          = "$context.requestId"
        extendedRequestId  = "$context.extendedRequestId"
        ip                 = "$context.identity.sourceIp"
        apiKeyId           = "$context.identity.apiKeyId"
        requestTime        = "$context.requestTime"
        httpMethod         = "$context.httpMethod"
        resourcePath       = "$context.resourcePath"
        status             = "$context.status"
        protocol           = "$context.protocol"
        responseLength     = "$context.responseLength"
        responseLatency    = "$context.responseLatency"
        integrationLatency = "$context.integrationLatency"
        integrationStatus  = "$context.integrationStatus"
        errorMessage       = "$context.error.message"
      })
    }
  }

  tags = var.tags

  depends_on = [aws_api_gateway_account.this]
}

resource "aws_api_gateway_method_settings" "this" {
  #checkov:skip=CKV_AWS_225:Predictions are per request; caching would serve stale answers.

  rest_api_id = aws_api_gateway_rest_api.this.id
  stage_name  = aws_api_gateway_stage.this.stage_name
  method_path = "*/*"

  settings {
    metrics_enabled = var.api.metrics_enabled
    logging_level   = var.api.logging_level
  }

  depends_on = [aws_api_gateway_account.this]
}

################################################################################
# API key, usage plan (throttle + quota)
################################################################################

resource "aws_api_gateway_api_key" "this" {
  name        = "${local.api_name}-key"
  description = "Key of the ${local.api_name} usage plan"
  enabled     = true
  tags        = var.tags
}

resource "aws_api_gateway_usage_plan" "this" {
  name        = "${local.api_name}-plan"
  description = "Throttle and quota of the ${local.api_name} API key"

  api_stages {
    api_id = aws_api_gateway_rest_api.this.id
    stage  = aws_api_gateway_stage.this.stage_name
  }

  throttle_settings {
    rate_limit  = var.api.throttle.rate_limit
    burst_limit = var.api.throttle.burst_limit
  }

  quota_settings {
    limit  = var.api.quota.limit
    period = var.api.quota.period
  }

  tags = var.tags
}

resource "aws_api_gateway_usage_plan_key" "this" {
  key_id        = aws_api_gateway_api_key.this.id
  key_type      = "API_KEY"
  usage_plan_id = aws_api_gateway_usage_plan.this.id
}

resource "aws_ssm_parameter" "api_key" {
  count = var.api_key_ssm_parameter_name == null ? 0 : 1

  name        = var.api_key_ssm_parameter_name
  description = "API key of ${local.api_name} (x-api-key header)"
  type        = "SecureString"
  key_id      = var.api_key_ssm_kms_key_id
  value       = aws_api_gateway_api_key.this.value
  tags        = var.tags
}
