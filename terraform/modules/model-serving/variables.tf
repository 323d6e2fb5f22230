variable "name" {
  description = "Endpoint name; also the prefix of every other name of the module (models, endpoint configs, role, policies, log group)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$", var.name))
    error_message = "name must be 1-63 letters, digits or hyphens, starting and ending with a letter or digit (SageMaker endpoint naming rules)."
  }
}

variable "image_uri" {
  description = "Default inference container image (ECR URI with tag or digest), e.g. a PyTorch DLC <account>.dkr.ecr.<region>.amazonaws.com/pytorch-inference:2.1.0-cpu-py310. A model may override it."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}\\.dkr\\.ecr\\.[a-z0-9-]+\\.amazonaws\\.com(\\.cn)?/[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})$", var.image_uri))
    error_message = "image_uri must be an ECR image URI <account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag> (or @sha256:<digest>); SageMaker pulls only from ECR."
  }
}

variable "models" {
  description = "Model name -> model data URL, container settings, its production variant and its autoscaling. One SageMaker model and one production variant per entry."
  type = map(object({
    model_data_url = string
    image_uri      = optional(string)
    program        = optional(string, "inference.py")
    workers        = optional(number)
    log_level      = optional(number, 20)
    environment    = optional(map(string), {})
    variant = object({
      name           = string
      weight         = optional(number, 1)
      instance_type  = optional(string, "ml.c5.large")
      instance_count = optional(number, 1)
    })
    autoscaling = optional(object({
      enabled                         = optional(bool, true)
      min_capacity                    = optional(number, 1)
      max_capacity                    = optional(number, 2)
      target_invocations_per_instance = optional(number, 70)
      scale_in_cooldown_sec           = optional(number, 120)
      scale_out_cooldown_sec          = optional(number, 120)
    }), { enabled = false })
  }))

  validation {
    condition     = length(var.models) >= 1 && length(var.models) <= 10
    error_message = "models must hold 1 to 10 entries (an endpoint configuration allows at most 10 production variants)."
  }

  validation {
    condition     = alltrue([for k, m in var.models : can(regex("^[a-z0-9][a-z0-9-]{0,39}$", k))])
    error_message = "Model keys must be 1-40 lowercase letters, digits or hyphens (they become part of SageMaker model names)."
  }

  validation {
    condition     = alltrue([for m in var.models : can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+", m.model_data_url))])
    error_message = "Each model needs model_data_url = s3://<bucket>/<key>/model.tar.gz. In the stack it comes from the model-archive stack's model_data_urls SSM parameter: add the model there and apply model-archive first."
  }

  validation {
    condition     = alltrue([for m in var.models : m.image_uri == null || can(regex("^[0-9]{12}\\.dkr\\.ecr\\.[a-z0-9-]+\\.amazonaws\\.com(\\.cn)?/[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})$", m.image_uri))])
    error_message = "A model's image_uri must be an ECR image URI <account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag> (or null to use var.image_uri)."
  }

  validation {
    condition     = alltrue([for m in var.models : can(regex("^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$", m.variant.name))])
    error_message = "variant.name must be 1-63 letters, digits or hyphens, starting and ending with a letter or digit."
  }

  validation {
    condition     = length(distinct([for m in var.models : m.variant.name])) == length(var.models)
    error_message = "variant.name must be unique across models."
  }

  validation {
    condition     = alltrue([for m in var.models : m.variant.weight > 0 && m.variant.weight <= 1000000])
    error_message = "variant.weight must be greater than 0 (and at most 1000000): weights are relative, 3 and 1 give 75%/25% of the traffic."
  }

  validation {
    condition     = alltrue([for m in var.models : can(regex("^ml\\.[a-z0-9]+\\.[a-z0-9]+$", m.variant.instance_type))])
    error_message = "variant.instance_type must be a SageMaker instance type such as ml.c5.large (note the \"ml.\" prefix; EC2 types like c5.large are rejected by SageMaker)."
  }

  validation {
    condition     = alltrue([for m in var.models : m.variant.instance_count >= 1 && floor(m.variant.instance_count) == m.variant.instance_count])
    error_message = "variant.instance_count must be a whole number, at least 1."
  }

  validation {
    condition     = alltrue([for m in var.models : m.workers == null ? true : m.workers >= 1 && floor(m.workers) == m.workers])
    error_message = "workers (SAGEMAKER_MODEL_SERVER_WORKERS) must be a whole number, at least 1, or null for one per vCPU."
  }

  validation {
    condition     = alltrue([for m in var.models : contains([10, 20, 30, 40, 50], m.log_level)])
    error_message = "log_level (SAGEMAKER_CONTAINER_LOG_LEVEL) must be a Python logging level: 10, 20, 30, 40 or 50."
  }

  validation {
    condition     = alltrue([for m in var.models : can(regex("^[A-Za-z0-9_][A-Za-z0-9_./-]*\\.py$", m.program))])
    error_message = "program (SAGEMAKER_PROGRAM) must be a Python file name relative to code/, such as inference.py."
  }

  validation {
    condition = alltrue([for m in var.models : !m.autoscaling.enabled || (
      m.autoscaling.min_capacity >= 1 &&
      m.autoscaling.max_capacity >= m.autoscaling.min_capacity &&
      m.variant.instance_count >= m.autoscaling.min_capacity &&
      m.variant.instance_count <= m.autoscaling.max_capacity
    )])
    error_message = "With autoscaling enabled: 1 <= min_capacity <= variant.instance_count <= max_capacity (raise max_capacity or lower instance_count)."
  }

  validation {
    condition     = alltrue([for m in var.models : !m.autoscaling.enabled || (m.autoscaling.target_invocations_per_instance > 0 && m.autoscaling.scale_in_cooldown_sec >= 0 && m.autoscaling.scale_out_cooldown_sec >= 0)])
    error_message = "autoscaling.target_invocations_per_instance must be > 0 and the cooldowns >= 0 seconds."
  }
}

variable "model_kms_key_arn" {
  description = "KMS key encrypting the model archive objects (the role gets kms:Decrypt on it through S3); null when the archive uses SSE-S3."
  type        = string
  default     = null
}

variable "data_capture" {
  description = "Data capture of endpoint requests/responses to the capture bucket created here."
  type = object({
    enabled             = optional(bool, true)
    sampling_percentage = optional(number, 30)
    modes               = optional(list(string), ["Input", "Output"])
    s3_prefix           = optional(string, "data-capture")
    json_content_types  = optional(list(string), ["application/json"])
    csv_content_types   = optional(list(string), ["text/csv"])
  })
  default = {}

  validation {
    condition     = var.data_capture.sampling_percentage >= 0 && var.data_capture.sampling_percentage <= 100 && floor(var.data_capture.sampling_percentage) == var.data_capture.sampling_percentage
    error_message = "data_capture.sampling_percentage must be a whole number from 0 to 100."
  }

  validation {
    condition     = length(var.data_capture.modes) >= 1 && length(var.data_capture.modes) <= 2 && alltrue([for m in var.data_capture.modes : contains(["Input", "Output"], m)]) && length(distinct(var.data_capture.modes)) == length(var.data_capture.modes)
    error_message = "data_capture.modes must be [\"Input\"], [\"Output\"] or [\"Input\", \"Output\"] (capitalised, no duplicates)."
  }

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$", var.data_capture.s3_prefix))
    error_message = "data_capture.s3_prefix must be a relative S3 key prefix without leading or trailing slash, e.g. data-capture."
  }

  validation {
    condition     = alltrue([for t in concat(var.data_capture.json_content_types, var.data_capture.csv_content_types) : can(regex("^[a-zA-Z0-9.+-]+/[a-zA-Z0-9.+-]+$", t))])
    error_message = "data_capture content types must be MIME types such as application/json or text/csv (no parameters)."
  }
}

variable "capture_bucket" {
  description = "The data capture bucket created here: name (globally unique), force_destroy, TLS-only policy toggle (off on the embedded control plane) and an optional existing KMS key (null creates one with rotation)."
  type = object({
    name            = string
    force_destroy   = optional(bool, false)
    tls_only_policy = optional(bool, true)
    kms_encryption  = optional(bool, true)
    kms_key_arn     = optional(string)
  })

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.capture_bucket.name))
    error_message = "capture_bucket.name must be 3-63 lowercase letters, digits, dots or hyphens, starting and ending with a letter or digit."
  }
}

variable "enable_network_isolation" {
  description = "Run the model containers without network access. Only with an image that needs no download at start: the framework containers pip-install code/requirements.txt when present."
  type        = bool
  default     = false
}

variable "deploy_endpoint" {
  description = "Create the endpoint (and its autoscaling). false deploys the models and the endpoint configuration only."
  type        = bool
  default     = true
}

variable "storage_kms_key_arn" {
  description = "Optional KMS key for the ML storage volumes of the endpoint instances (not supported by instance types with local NVMe storage)."
  type        = string
  default     = null
}

variable "account_id" {
  description = "AWS account id used to scope IAM resources (log group ARNs, trust policy aws:SourceAccount). null uses a wildcard account in ARNs; the module never calls STS itself."
  type        = string
  default     = null

  validation {
    condition     = var.account_id == null || can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be a 12-digit AWS account id or null."
  }
}

variable "metric_namespaces" {
  description = "CloudWatch namespaces the containers may publish to (cloudwatch:PutMetricData is conditioned on them)."
  type        = list(string)
  default     = ["/aws/sagemaker/Endpoints"]
}

variable "log_retention_days" {
  description = "Retention of the endpoint's log group /aws/sagemaker/Endpoints/<name>, created here."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of CloudWatch Logs' values: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "tags" {
  description = "Tags applied to every taggable resource of the module."
  type        = map(string)
  default     = {}
}
