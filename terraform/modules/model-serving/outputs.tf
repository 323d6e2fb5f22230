output "endpoint_name" {
  description = "Name of the SageMaker endpoint (null when deploy_endpoint is false)."
  value       = one(aws_sagemaker_endpoint.this[*].name)
}

output "endpoint_arn" {
  description = "ARN of the SageMaker endpoint (scope sagemaker:InvokeEndpoint to it)."
  value       = one(aws_sagemaker_endpoint.this[*].arn)
}

output "endpoint_config_name" {
  description = "Name of the current endpoint configuration (attached to the endpoint)."
  value       = aws_sagemaker_endpoint_configuration.this.name
}

output "endpoint_config_arn" {
  description = "ARN of the endpoint configuration currently attached to the endpoint."
  value       = aws_sagemaker_endpoint_configuration.this.arn
}

output "endpoint_variant_names" {
  description = "Production variant names of the endpoint, in model-key order."
  value       = [for key, m in var.models : m.variant.name]
}

output "endpoint_log_group_name" {
  description = "CloudWatch log group of the endpoint's containers."
  value       = aws_cloudwatch_log_group.endpoint.name
}

output "model_names" {
  description = "Model key -> SageMaker model name (content-hashed, changes with the model data URL, image or environment)."
  value       = { for key, m in aws_sagemaker_model.this : key => m.name }
}

output "execution_role_arn" {
  description = "ARN of the SageMaker execution role."
  value       = aws_iam_role.execution.arn
}

output "execution_role_name" {
  description = "Name of the SageMaker execution role."
  value       = aws_iam_role.execution.name
}

output "capture_bucket_name" {
  description = "Name of the data capture bucket."
  value       = aws_s3_bucket.capture.id
}

output "capture_bucket_arn" {
  description = "ARN of the data capture bucket."
  value       = aws_s3_bucket.capture.arn
}

output "capture_kms_key_arn" {
  description = "ARN of the KMS key encrypting captured data (null with SSE-S3)."
  value       = local.capture_kms_key_arn
}

output "capture_destination_s3_uri" {
  description = "Where captured data lands: s3://<capture bucket>/<prefix> (then <endpoint>/<variant>/yyyy/mm/dd/hh/)."
  value       = "s3://${var.capture_bucket.name}/${var.data_capture.s3_prefix}"
}

output "autoscaling_resource_ids" {
  description = "Model key -> Application Auto Scaling resource id (endpoint/<ep>/variant/<variant>) of the autoscaled variants."
  value       = { for key, t in aws_appautoscaling_target.this : key => t.resource_id }
}
