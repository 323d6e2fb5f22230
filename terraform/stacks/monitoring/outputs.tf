output "dashboard_name" {
  description = "Name of the monitoring dashboard."
  value       = module.monitoring.dashboard_name
}

output "alarm_topic_arn" {
  description = "ARN of the encrypted SNS topic every alarm notifies."
  value       = module.monitoring.alarm_topic_arn
}

output "alarm_names" {
  description = "Names of every alarm of the stack."
  value       = module.monitoring.alarm_names
}
