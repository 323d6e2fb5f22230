variable "name" {
  description = "Name prefix of every resource of the module (\"<project>-<stage>\", e.g. \"text-classification-demo\"); also the prefix that scopes the deploy permissions."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,36}$", var.name))
    error_message = "name must be 2-37 lowercase letters, digits or hyphens starting with a letter (bucket names get a suffix), such as \"text-classification-demo\"."
  }
}

variable "account_id" {
  description = "AWS account id (ARNs of the scoped policies and the key policy)."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be the 12-digit AWS account id, such as \"123456789012\"."
  }
}

variable "project" {
  description = "Project name and stage: the SSM path /<name>/<stage>/* and the Project tag scope the deploy permissions."
  type = object({
    name  = string
    stage = string
  })
}

variable "environment_name" {
  description = "Environment the builds pass to the orchestrator (`orchestrator plan|apply --env <environment_name>`), e.g. \"demo\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9_-]{0,31}$", var.environment_name))
    error_message = "environment_name must be the name of an environments/<name>.json file, such as \"demo\"."
  }
}

variable "endpoint_name" {
  description = "SageMaker endpoint name when it does not start with name (serving.endpoint_base_name differs); null: covered by the name prefix."
  type        = string
  default     = null
}

variable "state_bucket_name" {
  description = "Terraform state bucket the builds read and lock, when its name does not start with name; null: covered by the name prefix."
  type        = string
  default     = null
}

variable "source_config" {
  description = "Pipeline source. type = \"s3\" (default): a zip of the repository at s3_object_key in s3_bucket (null: the artifact bucket). type = \"github\": a CodeStar/CodeConnections connection (connection_arn) to repository (\"owner/name\") at branch."
  type = object({
    type           = optional(string, "s3")
    s3_bucket      = optional(string)
    s3_object_key  = optional(string, "source/sagemaker-serving-platform.zip")
    repository     = optional(string)
    branch         = optional(string, "main")
    connection_arn = optional(string)
  })
  default = {}

  validation {
    condition     = contains(["s3", "github"], var.source_config.type)
    error_message = "source_config.type must be \"s3\" (zip in a bucket, works on the embedded control plane) or \"github\" (CodeStar connection)."
  }

  validation {
    condition     = var.source_config.type != "s3" || length(coalesce(var.source_config.s3_object_key, "")) > 0
    error_message = "source_config.s3_object_key must name the source zip (e.g. source/sagemaker-serving-platform.zip) when type is \"s3\"."
  }

  validation {
    condition = var.source_config.type != "github" || (
      can(regex("^arn:aws[a-z-]*:(codestar-connections|codeconnections):", coalesce(var.source_config.connection_arn, "-"))) &&
      can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", coalesce(var.source_config.repository, "-"))) &&
      length(coalesce(var.source_config.branch, "")) > 0
    )
    error_message = "With type \"github\", set connection_arn (arn:aws:codeconnections:... or codestar-connections), repository (\"owner/name\") and branch."
  }
}

variable "require_manual_approval" {
  description = "Insert a manual approval stage between Plan and Apply (reviewers read plan.md of the Plan stage)."
  type        = bool
  default     = true
}

variable "build" {
  description = "CodeBuild settings of the Plan and Apply projects."
  type = object({
    image             = optional(string, "aws/codebuild/standard:7.0")
    compute_type      = optional(string, "BUILD_GENERAL1_SMALL")
    python_version    = optional(string, "3.11")
    terraform_version = optional(string, "1.11.4")
    timeout_minutes   = optional(number, 60)
  })
  default = {}

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.build.terraform_version))
    error_message = "build.terraform_version must be an exact Terraform release such as \"1.11.4\" (the buildspec verifies its checksum)."
  }

  validation {
    condition     = var.build.timeout_minutes >= 5 && var.build.timeout_minutes <= 480
    error_message = "build.timeout_minutes must be between 5 and 480."
  }
}

variable "tls_only_bucket_policy" {
  description = "Deny non-TLS access to the artifact bucket. Keep true on AWS; the embedded control plane (moto) ignores policy conditions, so the local environment turns it off."
  type        = bool
  default     = true
}

variable "artifact_expiration_days" {
  description = "Days after which pipeline artifacts (and noncurrent versions) expire; 0 disables the lifecycle rule (the embedded control plane turns it off: the provider waits ~55 s on it)."
  type        = number
  default     = 30

  validation {
    condition     = var.artifact_expiration_days >= 0 && floor(var.artifact_expiration_days) == var.artifact_expiration_days
    error_message = "artifact_expiration_days must be a whole number >= 0 (0 disables expiration)."
  }
}

variable "force_destroy" {
  description = "Let destroy delete the artifact bucket with its objects (true for throwaway environments)."
  type        = bool
  default     = false
}

variable "log_retention_days" {
  description = "Retention of the CodeBuild log groups, in days."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch Logs retention value such as 30, 90 or 365."
  }
}

variable "kms_deletion_window_days" {
  description = "Waiting period before the artifact KMS key is deleted after destroy."
  type        = number
  default     = 7

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be between 7 and 30."
  }
}

variable "tags" {
  description = "Tags added to every taggable resource of the module."
  type        = map(string)
  default     = {}
}
