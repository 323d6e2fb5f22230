variable "cicd" {
  description = "The environment's CI/CD settings (environments/*.json \"cicd\"): source and approval toggle."
  type = object({
    source = optional(object({
      type           = optional(string, "s3")
      s3_bucket      = optional(string)
      s3_object_key  = optional(string)
      repository     = optional(string)
      branch         = optional(string)
      connection_arn = optional(string)
    }), {})
    require_manual_approval = optional(bool, true)
  })
  default = {}
}

variable "environment_name" {
  description = "Environment the builds deploy (`orchestrator plan|apply --env <environment_name>`)."
  type        = string
}

variable "endpoint_name" {
  description = "SageMaker endpoint name (scopes the Apply role's SageMaker rights when it does not start with <project>-<stage>)."
  type        = string
  default     = null
}

variable "state_bucket_name" {
  description = "Terraform state bucket the builds use; null: \"<project>-<stage>-tfstate*\"."
  type        = string
  default     = null
}

variable "artifact_bucket" {
  description = "Artifact bucket settings that differ between AWS and the embedded control plane (moto ignores policy conditions and the lifecycle rule is slow there)."
  type = object({
    tls_only_policy = optional(bool, true)
    expiration_days = optional(number, 30)
    force_destroy   = optional(bool, false)
  })
  default = {}
}
