output "bucket_name" {
  description = "Name of the model archive bucket."
  value       = module.model_archive.bucket_name
}

output "bucket_arn" {
  description = "ARN of the model archive bucket."
  value       = module.model_archive.bucket_arn
}

output "kms_key_arn" {
  description = "KMS key encrypting the archive (null with SSE-S3)."
  value       = module.model_archive.bucket_kms_key_arn
}

output "model_data_urls" {
  description = "Model name -> s3:// URL of its content-addressed model.tar.gz."
  value       = module.model_archive.model_data_urls
}

output "ssm_parameter_names" {
  description = "Key -> SSM parameter name of every value this stack publishes."
  value       = { for k, p in aws_ssm_parameter.published : k => p.name }
}
