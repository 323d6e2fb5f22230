# API Gateway writes access and execution logs with ONE role per account and region
# (aws_api_gateway_account). Optional: turn it off where the account already registers one.

data "aws_iam_policy_document" "apigateway_trust" {
  count = var.create_account_cloudwatch_role ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["apigateway.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "apigateway_cloudwatch" {
  count = var.create_account_cloudwatch_role ? 1 : 0

  name               = "${var.name}-apigateway-cloudwatch"
  description        = "Lets API Gateway write this project's access and execution logs to CloudWatch Logs"
  assume_role_policy = data.aws_iam_policy_document.apigateway_trust[0].json
  tags               = var.tags
}

data "aws_iam_policy_document" "apigateway_cloudwatch" {
  count = var.create_account_cloudwatch_role ? 1 : 0

  statement {
    sid       = "DescribeLogGroups"
    actions   = ["logs:DescribeLogGroups"]
    resources = ["*"] # list call without resource-level permissions
  }

  statement {
    sid     = "WriteApiLogs"
    actions = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents", "logs:GetLogEvents", "logs:FilterLogEvents"]
    resources = [
      "arn:${local.partition}:logs:${local.region}:${local.account}:log-group:/aws/apigateway/${local.api_name}/*",
      "arn:${local.partition}:logs:${local.region}:${local.account}:log-group:API-Gateway-Execution-Logs_*",
    ]
  }
}

resource "aws_iam_role_policy" "apigateway_cloudwatch" {
  count = var.create_account_cloudwatch_role ? 1 : 0

  name   = "${var.name}-apigateway-cloudwatch"
  role   = aws_iam_role.apigateway_cloudwatch[0].id
  policy = data.aws_iam_policy_document.apigateway_cloudwatch[0].json
}

resource "aws_api_gateway_account" "this" {
  count = var.create_account_cloudwatch_role ? 1 : 0

  cloudwatch_role_arn = aws_iam_role.apigateway_cloudwatch[0].arn

  depends_on = [aws_iam_role_policy.apigateway_cloudwatch]
}
