output "bucket_name" {
  description = "Name of the model archive bucket."
  value       = aws_s3_bucket.this.id
}

output "bucket_arn" {
  description = "ARN of the model archive bucket."
  value       = aws_s3_bucket.this.arn
}

output "bucket_kms_key_arn" {
  description = "ARN of the KMS key encrypting the bucket's objects (null with SSE-S3)."
  value       = local.kms_key_arn
}

output "model_object_keys" {
  description = "Model name -> content-addressed object key (models/<name>/<sha256>/model.tar.gz)."
  value       = local.model_keys
}

output "model_data_urls" {
  description = "Model name -> s3:// URL of its model.tar.gz, for SageMaker ModelDataUrl."
  value       = { for name, key in local.model_keys : name => "s3://${var.bucket_name}/${key}" }
  depends_on  = [aws_s3_object.model]
}

output "model_object_version_ids" {
  description = "Model name -> S3 version id of the uploaded object (null when versioning is off)."
  value       = { for name, o in aws_s3_object.model : name => o.version_id }
}
