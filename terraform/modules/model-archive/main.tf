data "aws_partition" "current" {}

locals {
  # Known at plan time (unlike aws_s3_bucket.this.arn), so policies and outputs can be reviewed in a plan.
  bucket_arn = "arn:${data.aws_partition.current.partition}:s3:::${var.bucket_name}"

  create_kms_key = var.kms_encryption && var.kms_key_arn == null
  kms_key_arn    = var.kms_encryption ? coalesce(var.kms_key_arn, try(aws_kms_key.this[0].arn, null)) : null

  # Content-addressed keys: a new model file is a new key, so a model always points at immutable bytes.
  model_keys = { for name, m in var.models : name => "models/${name}/${m.sha256}/model.tar.gz" }
}

resource "aws_kms_key" "this" {
  #checkov:skip=CKV2_AWS_64:No explicit key policy: the default one (account root, delegating to IAM) is intended; access comes from least-privilege IAM policies of the roles using the key.

  count = local.create_kms_key ? 1 : 0

  description             = "SSE-KMS key of the ${var.bucket_name} model archive bucket"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_key_deletion_window_days
  tags                    = var.tags
}

resource "aws_kms_alias" "this" {
  count = local.create_kms_key ? 1 : 0

  name          = "alias/${var.bucket_name}"
  target_key_id = aws_kms_key.this[0].key_id
}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:Server access logs need a separate log bucket per account; object access is auditable with CloudTrail data events.
  #checkov:skip=CKV2_AWS_62:No consumer of object events: uploads are driven by Terraform itself.
  #checkov:skip=CKV_AWS_144:Cross-region replication is out of scope: the archive is rebuilt from the repository by the packager.
  #checkov:skip=CKV_AWS_19:Encrypted by aws_s3_bucket_server_side_encryption_configuration.this (SSE-KMS by default, a toggle).
  #checkov:skip=CKV_AWS_145:SSE-KMS is the default of aws_s3_bucket_server_side_encryption_configuration.this (kms_encryption toggle).
  #checkov:skip=CKV_AWS_21:Versioned by aws_s3_bucket_versioning.this (Enabled by default, a toggle).

  bucket        = var.bucket_name
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  count = var.block_public_access ? 1 : 0

  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = var.versioning ? "Enabled" : "Suspended"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.kms_encryption ? "aws:kms" : "AES256"
      kms_master_key_id = local.kms_key_arn
    }
    bucket_key_enabled = var.kms_encryption
  }
}

data "aws_iam_policy_document" "tls_only" {
  count = var.tls_only_policy ? 1 : 0

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [local.bucket_arn, "${local.bucket_arn}/*"]

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
  count = var.tls_only_policy ? 1 : 0

  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.tls_only[0].json

  # A policy put while the public access block is being created can be rejected.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  count = var.lifecycle_rules ? 1 : 0

  bucket = aws_s3_bucket.this.id

  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_object" "model" {
  for_each = var.models

  bucket       = aws_s3_bucket.this.id
  key          = local.model_keys[each.key]
  source       = each.value.path
  source_hash  = each.value.sha256
  content_type = "application/gzip"
  tags         = var.tags

  # Objects are written with the bucket's default encryption, so encryption must exist first.
  depends_on = [
    aws_s3_bucket_server_side_encryption_configuration.this,
    aws_s3_bucket_versioning.this,
    aws_s3_bucket_ownership_controls.this,
  ]
}
