output "trigger_topic_arn" {
  description = "ARN of the KMS-encrypted SNS topic that starts a load test (publish the test configuration to it)."
  value       = aws_sns_topic.trigger.arn
}

output "trigger_topic_name" {
  description = "Name of the trigger topic."
  value       = aws_sns_topic.trigger.name
}

output "tester_function_names" {
  description = "Names of the tester Lambda functions, one per client."
  value       = aws_lambda_function.this[*].function_name
}

output "tester_function_arns" {
  description = "ARNs of the tester Lambda functions."
  value       = aws_lambda_function.this[*].arn
}

output "tester_role_arn" {
  description = "ARN of the testers' execution role."
  value       = aws_iam_role.tester.arn
}

output "dashboard_name" {
  description = "Name of the tester dashboard."
  value       = aws_cloudwatch_dashboard.tester.dashboard_name
}

output "metric_namespace" {
  description = "CloudWatch namespace of the tester's custom metrics."
  value       = var.metric_namespace
}

output "kms_key_arn" {
  description = "ARN of the KMS key of the trigger topic, log groups and function environment."
  value       = aws_kms_key.load_testing.arn
}
