output "api_id" {
  description = "Id of the REST API."
  value       = aws_api_gateway_rest_api.this.id
}

output "api_name" {
  description = "Name of the REST API (the ApiName dimension of its CloudWatch metrics)."
  value       = aws_api_gateway_rest_api.this.name
}

output "api_execution_arn" {
  description = "Execution ARN of the REST API."
  value       = aws_api_gateway_rest_api.this.execution_arn
}

output "api_stage_name" {
  description = "Name of the deployed stage."
  value       = aws_api_gateway_stage.this.stage_name
}

output "api_stage_invoke_url" {
  description = "Base URL of the stage (https://<api>.execute-api.<region>.amazonaws.com/<stage>)."
  value       = aws_api_gateway_stage.this.invoke_url
}

output "api_invoke_url" {
  description = "Full URL of the prediction resource: send <method> requests with the x-api-key header here."
  value       = "${aws_api_gateway_stage.this.invoke_url}/${var.api.resource_path}"
}

output "api_resource_path" {
  description = "Path of the prediction resource (e.g. /text)."
  value       = local.leaf_resource.path
}

output "api_http_method" {
  description = "HTTP method of the prediction resource."
  value       = aws_api_gateway_method.this.http_method
}

output "api_key_id" {
  description = "Id of the API key of the usage plan."
  value       = aws_api_gateway_api_key.this.id
}

output "api_key_value" {
  description = "Value of the API key (x-api-key header). Sensitive: prefer reading the SSM SecureString."
  value       = aws_api_gateway_api_key.this.value
  sensitive   = true
}

output "api_key_ssm_parameter_name" {
  description = "SSM SecureString holding the API key value (null when not published)."
  value       = one(aws_ssm_parameter.api_key[*].name)
}

output "api_usage_plan_id" {
  description = "Id of the usage plan (throttle + quota)."
  value       = aws_api_gateway_usage_plan.this.id
}

output "api_access_log_group_name" {
  description = "CloudWatch log group of the stage's access logs (null when off)."
  value       = one(aws_cloudwatch_log_group.access[*].name)
}

output "function_name" {
  description = "Name of the predictor Lambda function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the predictor Lambda function."
  value       = aws_lambda_function.this.arn
}

output "function_role_arn" {
  description = "ARN of the predictor function's role."
  value       = aws_iam_role.lambda.arn
}

output "function_log_group_name" {
  description = "CloudWatch log group of the predictor function."
  value       = aws_cloudwatch_log_group.lambda.name
}
