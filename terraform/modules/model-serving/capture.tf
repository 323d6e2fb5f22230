# The data capture bucket: separate from the model archive, encrypted, versioned, never public.

locals {
  capture_bucket_arn     = "arn:${data.aws_partition.current.partition}:s3:::${var.capture_bucket.name}"
  create_capture_kms_key = var.capture_bucket.kms_encryption && var.capture_bucket.kms_key_arn == null
  capture_kms_key_arn    = !var.capture_bucket.kms_encryption ? null : local.create_capture_kms_key ? aws_kms_key.capture[0].arn : var.capture_bucket.kms_key_arn
}

resource "aws_kms_key" "capture" {
  #checkov:skip=CKV2_AWS_64:No explicit key policy: the default one (account root, delegating to IAM) is intended; the execution role gets GenerateDataKey/Decrypt via S3 only.

  count = local.create_capture_kms_key ? 1 : 0

  description             = "Encrypts data captured by the ${var.name} SageMaker endpoint"
  enable_key_rotation     = true
  deletion_window_in_days = 7
  tags                    = var.tags
}

resource "aws_kms_alias" "capture" {
  count = local.create_capture_kms_key ? 1 : 0

  name          = "alias/${var.capture_bucket.name}"
  target_key_id = aws_kms_key.capture[0].key_id
}

resource "aws_s3_bucket" "capture" {
  #checkov:skip=CKV_AWS_18:Server access logs need a separate log bucket per account; object access is auditable with CloudTrail data events.
  #checkov:skip=CKV2_AWS_62:Captured data is read in batches (monitoring jobs), no event consumer.
  #checkov:skip=CKV_AWS_144:Cross-region replication of sampled inference data is out of scope.
  #checkov:skip=CKV2_AWS_61:Retention of captured data is a data-governance decision left to the account; no expiry by default.
  #checkov:skip=CKV_AWS_19:Encrypted by aws_s3_bucket_server_side_encryption_configuration.capture (SSE-KMS by default).
  #checkov:skip=CKV_AWS_145:SSE-KMS is the default of aws_s3_bucket_server_side_encryption_configuration.capture.

  bucket        = var.capture_bucket.name
  force_destroy = var.capture_bucket.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_ownership_controls" "capture" {
  bucket = aws_s3_bucket.capture.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "capture" {
  bucket                  = aws_s3_bucket.capture.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "capture" {
  bucket = aws_s3_bucket.capture.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "capture" {
  bucket = aws_s3_bucket.capture.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.capture_bucket.kms_encryption ? "aws:kms" : "AES256"
      kms_master_key_id = local.capture_kms_key_arn
    }
    bucket_key_enabled = var.capture_bucket.kms_encryption
  }
}

data "aws_iam_policy_document" "capture_tls_only" {
  count = var.capture_bucket.tls_only_policy ? 1 : 0

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [local.capture_bucket_arn, "${local.capture_bucket_arn}/*"]

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

resource "aws_s3_bucket_policy" "capture" {
  count = var.capture_bucket.tls_only_policy ? 1 : 0

  bucket = aws_s3_bucket.capture.id
  policy = data.aws_iam_policy_document.capture_tls_only[0].json

  depends_on = [aws_s3_bucket_public_access_block.capture]
}
