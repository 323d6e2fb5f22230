variable "model_archive" {
  description = "Archive bucket settings (environment key model_archive): the bucket is \"<project>-<stage>-<bucket_base_name>\"."
  type = object({
    bucket_base_name                   = optional(string, "model-archive")
    versioning                         = optional(bool, true)
    kms_encryption                     = optional(bool, true)
    tls_only_policy                    = optional(bool, true)
    lifecycle_rules                    = optional(bool, true)
    noncurrent_version_expiration_days = optional(number, 30)
    force_destroy                      = optional(bool, false)
  })
  default = {}
}

variable "models" {
  description = "Packaged models (render context artifacts.models): model name -> {path of model.tar.gz, sha256 hex}."
  type = map(object({
    path   = string
    sha256 = string
  }))
}
