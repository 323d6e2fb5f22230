output "trigger_topic_arn" {
  description = "ARN of the SNS topic that starts a load test."
  value       = module.load_testing.trigger_topic_arn
}

output "dashboard_name" {
  description = "Name of the tester dashboard."
  value       = module.load_testing.dashboard_name
}

output "tester_function_names" {
  description = "Names of the tester Lambda functions."
  value       = module.load_testing.tester_function_names
}

output "metric_namespace" {
  description = "CloudWatch namespace of the tester metrics."
  value       = module.load_testing.metric_namespace
}
