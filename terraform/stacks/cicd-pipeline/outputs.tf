output "pipeline_name" {
  description = "Name of the deploy pipeline."
  value       = module.cicd_pipeline.pipeline_name
}

output "artifact_bucket_name" {
  description = "Name of the artifact bucket (the S3 source bucket unless configured otherwise)."
  value       = module.cicd_pipeline.artifact_bucket_name
}

output "source_location" {
  description = "Where the pipeline takes its source."
  value       = module.cicd_pipeline.source_location
}
