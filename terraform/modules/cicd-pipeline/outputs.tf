output "pipeline_name" {
  description = "Name of the CodePipeline (Source -> Plan -> Approval -> Apply)."
  value       = aws_codepipeline.this.name
}

output "pipeline_arn" {
  description = "ARN of the CodePipeline."
  value       = aws_codepipeline.this.arn
}

output "artifact_bucket_name" {
  description = "Name of the KMS-encrypted artifact bucket (also the S3 source bucket unless source_config.s3_bucket is set)."
  value       = aws_s3_bucket.artifacts.bucket
}

output "artifact_bucket_arn" {
  description = "ARN of the artifact bucket."
  value       = aws_s3_bucket.artifacts.arn
}

output "artifact_kms_key_arn" {
  description = "ARN of the KMS key of artifacts and build logs."
  value       = aws_kms_key.artifacts.arn
}

output "source_location" {
  description = "Where the pipeline takes its source: s3://bucket/key, or the GitHub repository and branch."
  value       = local.github ? "github:${var.source_config.repository}@${var.source_config.branch}" : "s3://${local.source_bucket}/${var.source_config.s3_object_key}"
}

output "codebuild_project_names" {
  description = "Names of the Plan and Apply CodeBuild projects."
  value       = { plan = aws_codebuild_project.plan.name, apply = aws_codebuild_project.apply.name }
}

output "build_role_arns" {
  description = "ARNs of the Plan (read-only) and Apply (deploy) CodeBuild roles."
  value       = { plan = aws_iam_role.plan.arn, apply = aws_iam_role.apply.arn }
}
