output "api_id" {
  description = "Id of the REST API."
  value       = module.api_hosting.api_id
}

output "api_name" {
  description = "Name of the REST API."
  value       = module.api_hosting.api_name
}

output "stage_name" {
  description = "Stage of the REST API."
  value       = module.api_hosting.api_stage_name
}

output "invoke_url" {
  description = "Full URL of the prediction resource (send the x-api-key header); the local data plane's URL on the embedded control plane."
  value       = local.invoke_url
}

output "api_key_id" {
  description = "Id of the API key."
  value       = module.api_hosting.api_key_id
}

output "api_key_ssm_parameter_name" {
  description = "SSM SecureString holding the API key value."
  value       = module.api_hosting.api_key_ssm_parameter_name
}

output "api_key_value" {
  description = "The API key value (sensitive)."
  value       = module.api_hosting.api_key_value
  sensitive   = true
}

output "function_name" {
  description = "Name of the predictor function."
  value       = module.api_hosting.function_name
}

output "function_arn" {
  description = "ARN of the predictor function."
  value       = module.api_hosting.function_arn
}

output "ssm_parameter_names" {
  description = "Key -> SSM parameter name of every value this stack publishes (api_key included)."
  value       = merge({ for k, p in aws_ssm_parameter.published : k => p.name }, { api_key = module.api_hosting.api_key_ssm_parameter_name })
}
