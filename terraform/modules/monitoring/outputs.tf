output "dashboard_name" {
  description = "Name of the CloudWatch monitoring dashboard."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}

output "dashboard_arn" {
  description = "ARN of the CloudWatch monitoring dashboard."
  value       = aws_cloudwatch_dashboard.this.dashboard_arn
}

output "alarm_topic_arn" {
  description = "ARN of the KMS-encrypted SNS topic that every alarm notifies (ALARM and OK)."
  value       = aws_sns_topic.alarms.arn
}

output "alarm_kms_key_arn" {
  description = "ARN of the KMS key that encrypts the alarm topic."
  value       = aws_kms_key.alarms.arn
}

output "alarm_names" {
  description = "Names of every alarm of the module: API, per-variant and predictor Lambda alarms."
  value = concat(
    [for a in aws_cloudwatch_metric_alarm.api : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.variant_5xx : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.variant_latency : a.alarm_name],
    [aws_cloudwatch_metric_alarm.lambda_errors.alarm_name],
  )
}
