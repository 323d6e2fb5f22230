# Smallest configuration that walks the provider through every patched moto gap:
# appautoscaling tags (1), endpoint update (2), TLS-only bucket policy (3), CODEPIPELINE CodeBuild
# project (4) and its delete by ARN (7), pipeline timestamps (5), empty VpcConfig/DataCaptureConfig (6).
# The test copies this directory to a temporary one, so no .terraform/ or state lands in the tree.

terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}

variable "config_generation" {
  description = "Bump to switch the endpoint to a new endpoint configuration (UpdateEndpoint)."
  type        = number
  default     = 1
}

# Every API goes to AWS_ENDPOINT_URL (the control plane under test), as the orchestrator runs the stacks.
provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  s3_use_path_style           = true
  max_retries                 = 1
}

locals {
  name = "smoke"
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["sagemaker.amazonaws.com", "codebuild.amazonaws.com", "codepipeline.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "${local.name}-role"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

resource "aws_s3_bucket" "this" {
  bucket        = "${local.name}-bucket"
  force_destroy = true
}

data "aws_iam_policy_document" "tls_only" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.tls_only.json
}

resource "aws_s3_object" "model" {
  bucket     = aws_s3_bucket.this.id
  key        = "models/a/model.tar.gz"
  content    = "not really a model"
  depends_on = [aws_s3_bucket_policy.this]
}

resource "aws_sagemaker_model" "a" {
  name               = "${local.name}-model-a"
  execution_role_arn = aws_iam_role.this.arn

  primary_container {
    image          = "123456789012.dkr.ecr.us-east-1.amazonaws.com/serving:1"
    model_data_url = "s3://${aws_s3_bucket.this.id}/${aws_s3_object.model.key}"
  }
}

resource "aws_sagemaker_endpoint_configuration" "this" {
  name = "${local.name}-config-${var.config_generation}"

  production_variants {
    variant_name           = "a"
    model_name             = aws_sagemaker_model.a.name
    initial_instance_count = var.config_generation
    instance_type          = "ml.c5.large"
    initial_variant_weight = 1
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_sagemaker_endpoint" "this" {
  name                 = "${local.name}-endpoint"
  endpoint_config_name = aws_sagemaker_endpoint_configuration.this.name
}

resource "aws_appautoscaling_target" "a" {
  service_namespace  = "sagemaker"
  resource_id        = "endpoint/${aws_sagemaker_endpoint.this.name}/variant/a"
  scalable_dimension = "sagemaker:variant:DesiredInstanceCount"
  min_capacity       = 1
  max_capacity       = 2
  tags               = { Name = local.name }
}

resource "aws_codebuild_project" "this" {
  name         = "${local.name}-build"
  service_role = aws_iam_role.this.arn

  source {
    type      = "CODEPIPELINE"
    buildspec = "version: 0.2\nphases:\n  build:\n    commands: [\"echo ok\"]\n"
  }

  artifacts {
    type = "CODEPIPELINE"
  }

  environment {
    type         = "LINUX_CONTAINER"
    image        = "aws/codebuild/standard:7.0"
    compute_type = "BUILD_GENERAL1_SMALL"
  }
}

resource "aws_codepipeline" "this" {
  name     = "${local.name}-pipeline"
  role_arn = aws_iam_role.this.arn

  artifact_store {
    type     = "S3"
    location = aws_s3_bucket.this.id
  }

  stage {
    name = "Source"
    action {
      name             = "Source"
      category         = "Source"
      owner            = "AWS"
      provider         = "S3"
      version          = "1"
      output_artifacts = ["source"]
      configuration = {
        S3Bucket             = aws_s3_bucket.this.id
        S3ObjectKey          = "source.zip"
        PollForSourceChanges = "false"
      }
    }
  }

  stage {
    name = "Build"
    action {
      name            = "Build"
      category        = "Build"
      owner           = "AWS"
      provider        = "CodeBuild"
      version         = "1"
      input_artifacts = ["source"]
      configuration = {
        ProjectName = aws_codebuild_project.this.name
      }
    }
  }
}

output "endpoint_arn" {
  description = "ARN of the endpoint (must survive a config change)."
  value       = aws_sagemaker_endpoint.this.arn
}
