variable "endpoint_name" {
  description = "Endpoint name (render context names.endpoint_name)."
  type        = string
}

variable "image" {
  description = "Serving image for every model (environment serving.image); null means the AWS PyTorch inference DLC of the region (763104351884.dkr.ecr.<region>.amazonaws.com/pytorch-inference:<default_image_tag>)."
  type        = string
  default     = null
}

variable "default_image_tag" {
  description = "Tag of the AWS PyTorch inference DLC used when image is null."
  type        = string
  default     = "2.3.0-cpu-py311"
}

variable "deploy" {
  description = "Create the endpoint (environment serving.deploy); false deploys models and the endpoint configuration only."
  type        = bool
  default     = true
}

variable "models" {
  description = "Models served (environment serving.models, same shape): one SageMaker model + one production variant each."
  type = list(object({
    name  = string
    image = optional(string)
    variant = optional(object({
      name           = optional(string)
      weight         = optional(number, 1)
      instance_count = optional(number, 1)
      instance_type  = optional(string, "ml.c5.large")
      workers        = optional(number)
      env            = optional(map(string), {})
    }), {})
    autoscaling = optional(object({
      enabled                         = optional(bool, false)
      min_capacity                    = optional(number, 1)
      max_capacity                    = optional(number, 2)
      target_invocations_per_instance = optional(number, 70)
      scale_in_cooldown_sec           = optional(number, 120)
      scale_out_cooldown_sec          = optional(number, 120)
    }), {})
  }))
}

variable "data_capture" {
  description = "Data capture settings (environment serving.data_capture, same shape)."
  type = object({
    enabled            = optional(bool, true)
    bucket_base_name   = optional(string, "data-capture")
    kms_encryption     = optional(bool, true)
    sampling_percent   = optional(number, 30)
    modes              = optional(list(string), ["Input", "Output"])
    s3_prefix          = optional(string, "data-capture")
    json_content_types = optional(list(string), ["application/json"])
    csv_content_types  = optional(list(string), ["text/csv"])
  })
  default = {}
}

variable "capture_bucket" {
  description = "Bucket policy toggles of the capture bucket; the orchestrator passes the model_archive ones (TLS-only off and force_destroy on for the embedded target)."
  type = object({
    tls_only_policy = optional(bool, true)
    force_destroy   = optional(bool, false)
  })
  default = {}
}
