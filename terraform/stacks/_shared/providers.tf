# Shared by every stack root (each root links to this file), so that all stacks target AWS or the
# embedded control plane the same way. Rendered tfvars set these variables; nothing here is secret.

variable "aws_region" {
  description = "AWS region of the stack."
  type        = string
}

variable "aws_profile" {
  description = "Named AWS CLI profile; null uses the default credential chain (CI uses OIDC role credentials)."
  type        = string
  default     = null
}

variable "aws_endpoint_url" {
  description = "When set, the stack targets the embedded control plane at this URL (loopback) with test credentials. Terraform must then run with AWS_ENDPOINT_URL set to the same URL, as the orchestrator does (see the provider block)."
  type        = string
  default     = null

  validation {
    condition     = var.aws_endpoint_url == null || can(regex("^https?://", var.aws_endpoint_url))
    error_message = "aws_endpoint_url must be an http(s) URL such as http://127.0.0.1:4566, or null for AWS."
  }
}

variable "aws_max_retries" {
  description = "Provider retry budget on AWS. The embedded control plane uses 3: enough for a dropped loopback connection, while an API moto lacks fails at once (501, not retried)."
  type        = number
  default     = 25
}

variable "project" {
  description = "Project name and stage: every resource name starts with \"<name>-<stage>\" and every shared SSM parameter with \"/<name>/<stage>/\"."
  type = object({
    name  = string
    stage = string
  })

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.project.name)) && can(regex("^[a-z][a-z0-9-]{0,15}$", var.project.stage))
    error_message = "project.name must be 2-31 and project.stage 1-16 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "tags" {
  description = "Tags applied to every taggable resource of the stack (provider default_tags)."
  type        = map(string)
  default     = {}
}

locals {
  embedded    = var.aws_endpoint_url != null
  name_prefix = "${var.project.name}-${var.project.stage}"
  ssm_prefix  = "/${var.project.name}/${var.project.stage}"
}

# Embedded target: every AWS API goes to the URL in the AWS_ENDPOINT_URL environment variable, which
# the orchestrator sets for Terraform (orchestrator/terraform/plugins.py). Not an `endpoints` block:
# with one, even of a single entry, provider 5.100 spends ~5 s CPU validating its configuration in
# every provider process (measured: a one-resource plan takes 8.3 s with it, 3.3 s without).
provider "aws" {
  region  = var.aws_region
  profile = local.embedded ? null : var.aws_profile

  # Test credentials for the embedded control plane only: not secrets.
  access_key                  = local.embedded ? "test" : null
  secret_key                  = local.embedded ? "test" : null
  skip_credentials_validation = local.embedded
  skip_metadata_api_check     = local.embedded
  skip_region_validation      = local.embedded
  s3_use_path_style           = local.embedded
  max_retries                 = local.embedded ? 3 : var.aws_max_retries

  default_tags {
    tags = merge({ Project = var.project.name, Stage = var.project.stage, ManagedBy = "terraform" }, var.tags)
  }
}
