data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.name

  github        = var.source_config.type == "github"
  source_bucket = local.github ? null : coalesce(var.source_config.s3_bucket, aws_s3_bucket.artifacts.bucket)
  # Buckets the pipeline reads or writes: the artifact bucket and, for an S3 source elsewhere, that bucket.
  pipeline_bucket_arns = distinct(compact([
    aws_s3_bucket.artifacts.arn,
    local.github ? null : "arn:${local.partition}:s3:::${local.source_bucket}",
  ]))

  source_action = local.github ? {
    provider = "CodeStarSourceConnection"
    configuration = tomap({
      ConnectionArn        = var.source_config.connection_arn
      FullRepositoryId     = var.source_config.repository
      BranchName           = var.source_config.branch
      OutputArtifactFormat = "CODE_ZIP"
      DetectChanges        = "true"
    })
    } : {
    provider = "S3"
    configuration = tomap({
      S3Bucket             = local.source_bucket
      S3ObjectKey          = var.source_config.s3_object_key
      PollForSourceChanges = "true"
    })
  }
}

################################################################################
# Artifact key and bucket
################################################################################

data "aws_iam_policy_document" "kms" {
  # A key policy's Resource "*" means "this key" (key policies apply to their own key only).
  #checkov:skip=CKV_AWS_109:Key policy: Resource "*" is this key; the account-root statement is the standard delegation to IAM.
  #checkov:skip=CKV_AWS_111:Key policy: Resource "*" is this key; the logs statement is constrained by encryption context.
  #checkov:skip=CKV_AWS_356:Key policy: Resource "*" is this key, not every resource.
  statement {
    sid       = "AccountAdministration"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${var.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchLogsOfTheBuilds"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${var.account_id}:log-group:/aws/codebuild/${var.name}-*"]
    }
  }
}

resource "aws_kms_key" "artifacts" {
  description             = "${var.name}: encrypts pipeline artifacts and build logs"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_days
  policy                  = data.aws_iam_policy_document.kms.json
  tags                    = var.tags
}

resource "aws_s3_bucket" "artifacts" {
  #checkov:skip=CKV_AWS_18:Holds transient pipeline artifacts only (source zips, plan.md); access is audited by CloudTrail, a log bucket per pipeline is not warranted.
  #checkov:skip=CKV_AWS_144:Artifacts are reproducible from the source repository; cross-region replication adds cost without recovery value.
  #checkov:skip=CKV2_AWS_62:No consumer of object events: the pipeline polls its S3 source.
  bucket        = "${var.name}-pipeline-artifacts"
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_ownership_controls" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "artifacts" {
  bucket                  = aws_s3_bucket.artifacts.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.artifacts.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "artifacts" {
  count = var.artifact_expiration_days > 0 ? 1 : 0

  bucket = aws_s3_bucket.artifacts.id

  rule {
    id     = "expire-pipeline-artifacts"
    status = "Enabled"

    filter {}

    expiration {
      days = var.artifact_expiration_days
    }

    noncurrent_version_expiration {
      noncurrent_days = var.artifact_expiration_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.artifacts]
}

data "aws_iam_policy_document" "tls_only" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.artifacts.arn, "${aws_s3_bucket.artifacts.arn}/*"]

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

resource "aws_s3_bucket_policy" "artifacts" {
  count = var.tls_only_bucket_policy ? 1 : 0

  bucket     = aws_s3_bucket.artifacts.id
  policy     = data.aws_iam_policy_document.tls_only.json
  depends_on = [aws_s3_bucket_public_access_block.artifacts]
}

################################################################################
# Pipeline: Source -> Plan -> (manual approval) -> Apply
################################################################################

resource "aws_codepipeline" "this" {
  name          = "${var.name}-deploy"
  role_arn      = aws_iam_role.pipeline.arn
  pipeline_type = "V2"

  artifact_store {
    type     = "S3"
    location = aws_s3_bucket.artifacts.bucket

    encryption_key {
      id   = aws_kms_key.artifacts.arn
      type = "KMS"
    }
  }

  stage {
    name = "Source"

    action {
      name             = "Source"
      category         = "Source"
      owner            = "AWS"
      provider         = local.source_action.provider
      version          = "1"
      output_artifacts = ["source"]
      configuration    = local.source_action.configuration
    }
  }

  stage {
    name = "Plan"

    action {
      name             = "Plan"
      category         = "Build"
      owner            = "AWS"
      provider         = "CodeBuild"
      version          = "1"
      input_artifacts  = ["source"]
      output_artifacts = ["plan"]
      configuration    = { ProjectName = aws_codebuild_project.plan.name }
    }
  }

  dynamic "stage" {
    for_each = var.require_manual_approval ? [1] : []

    content {
      name = "Approval"

      action {
        name     = "ReviewPlan"
        category = "Approval"
        owner    = "AWS"
        provider = "Manual"
        version  = "1"
        configuration = {
          CustomData = "Review plan.md (the Plan stage's output artifact) before Apply changes ${var.environment_name}."
        }
      }
    }
  }

  stage {
    name = "Apply"

    action {
      name            = "Apply"
      category        = "Build"
      owner           = "AWS"
      provider        = "CodeBuild"
      version         = "1"
      input_artifacts = ["source"]
      configuration   = { ProjectName = aws_codebuild_project.apply.name }
    }
  }

  tags = var.tags
}
