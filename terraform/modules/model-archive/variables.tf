variable "bucket_name" {
  description = "Name of the archive bucket (globally unique; the stack appends the account id)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name)) && !can(regex("\\.\\.|^\\d+\\.\\d+\\.\\d+\\.\\d+$", var.bucket_name))
    error_message = "bucket_name must be 3-63 lowercase letters, digits, dots or hyphens, start and end with a letter or digit (S3 bucket naming rules): shorten project.name/stage or the bucket base name."
  }
}

variable "models" {
  description = "Packaged models to upload: model name -> {path of model.tar.gz, its sha256 hex}. Each lands at models/<name>/<sha256>/model.tar.gz, so a new model is a new key."
  type = map(object({
    path   = string
    sha256 = string
  }))
  default = {}

  validation {
    condition     = alltrue([for name, m in var.models : can(regex("^[a-z0-9][a-z0-9-]{0,62}$", name))])
    error_message = "Model names must be 1-63 lowercase letters, digits or hyphens (they become S3 key segments and SageMaker model names)."
  }

  validation {
    condition     = alltrue([for m in var.models : can(regex("^[0-9a-f]{64}$", m.sha256))])
    error_message = "Each model's sha256 must be the 64-character lowercase hex digest of its model.tar.gz (the packager computes it)."
  }
}

variable "versioning" {
  description = "Keep object versions (recommended: a replaced model stays recoverable until the noncurrent-version expiration)."
  type        = bool
  default     = true
}

variable "kms_encryption" {
  description = "Encrypt objects with SSE-KMS (a key created here with rotation, or kms_key_arn). false uses SSE-S3 (AES256)."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "Existing KMS key ARN for SSE-KMS; null creates a dedicated key with rotation. Ignored when kms_encryption is false."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), not an alias or key id, or null to create a key."
  }
}

variable "kms_key_deletion_window_days" {
  description = "Waiting period before a destroyed KMS key is deleted (7-30 days)."
  type        = number
  default     = 7

  validation {
    condition     = var.kms_key_deletion_window_days >= 7 && var.kms_key_deletion_window_days <= 30
    error_message = "kms_key_deletion_window_days must be between 7 and 30 (AWS limits)."
  }
}

variable "block_public_access" {
  description = "Attach an S3 public access block with all four settings on."
  type        = bool
  default     = true
}

variable "tls_only_policy" {
  description = "Attach a bucket policy denying any request without TLS (aws:SecureTransport = false). Off on the embedded control plane, whose policy check ignores conditions."
  type        = bool
  default     = true
}

variable "lifecycle_rules" {
  description = "Attach a lifecycle configuration expiring noncurrent versions and aborting stale multipart uploads. Off on the embedded control plane (the provider waits ~55 s for it)."
  type        = bool
  default     = true
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which a replaced (noncurrent) object version is deleted."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && floor(var.noncurrent_version_expiration_days) == var.noncurrent_version_expiration_days
    error_message = "noncurrent_version_expiration_days must be a whole number of days, at least 1."
  }
}

variable "force_destroy" {
  description = "Allow destroying the bucket while it still holds objects (all versions are deleted). Opt-in."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags applied to every taggable resource of the module."
  type        = map(string)
  default     = {}
}
