output "endpoint_name" {
  description = "Name of the SageMaker endpoint (null when deploy is false)."
  value       = module.model_serving.endpoint_name
}

output "endpoint_arn" {
  description = "ARN of the SageMaker endpoint (null when deploy is false)."
  value       = module.model_serving.endpoint_arn
}

output "endpoint_config_name" {
  description = "Name of the current endpoint configuration."
  value       = module.model_serving.endpoint_config_name
}

output "variant_names" {
  description = "Production variant names."
  value       = module.model_serving.endpoint_variant_names
}

output "model_names" {
  description = "Model key -> SageMaker model name."
  value       = module.model_serving.model_names
}

output "capture_bucket_name" {
  description = "Name of the data capture bucket."
  value       = module.model_serving.capture_bucket_name
}

output "capture_destination_s3_uri" {
  description = "Destination of captured data."
  value       = module.model_serving.capture_destination_s3_uri
}

output "execution_role_arn" {
  description = "ARN of the SageMaker execution role."
  value       = module.model_serving.execution_role_arn
}

output "ssm_parameter_names" {
  description = "Key -> SSM parameter name of every value this stack publishes."
  value       = { for k, p in aws_ssm_parameter.published : k => p.name }
}
