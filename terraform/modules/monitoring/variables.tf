variable "name" {
  description = "Name prefix of every resource of the module (\"<project>-<stage>\", e.g. \"text-classification-local\")."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,48}$", var.name))
    error_message = "name must be 2-49 lowercase letters, digits or hyphens starting with a letter, such as \"text-classification-local\"."
  }
}

variable "account_id" {
  description = "AWS account id that owns the alarms (scopes the SNS topic policy and the KMS key policy)."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be the 12-digit AWS account id, such as \"123456789012\"."
  }
}

variable "dashboard_name" {
  description = "Name of the CloudWatch dashboard; null uses \"<name>-monitor\"."
  type        = string
  default     = null

  validation {
    condition     = var.dashboard_name == null || can(regex("^[A-Za-z0-9_-]{1,255}$", coalesce(var.dashboard_name, "x")))
    error_message = "dashboard_name may only contain letters, digits, hyphens and underscores (at most 255), or be null."
  }
}

variable "endpoint_name" {
  description = "Name of the SageMaker endpoint whose variants are monitored."
  type        = string

  validation {
    condition     = length(var.endpoint_name) > 0
    error_message = "endpoint_name must be the name of the SageMaker endpoint (model-serving publishes it as /<project>/<stage>/model-serving/endpoint_name)."
  }
}

variable "variant_names" {
  description = "Production variants of the endpoint: the dashboard gets one row of widgets and two alarms per variant."
  type        = list(string)

  validation {
    condition     = length(var.variant_names) > 0 && length(distinct(var.variant_names)) == length(var.variant_names)
    error_message = "variant_names must list at least one variant name, each once (model-serving publishes them as a JSON list)."
  }
}

variable "api" {
  description = "The REST API in front of the endpoint (API Gateway metrics use the dimensions ApiName and Stage)."
  type = object({
    name  = string
    stage = string
  })

  validation {
    condition     = length(var.api.name) > 0 && length(var.api.stage) > 0
    error_message = "api.name and api.stage must both be set (api-hosting publishes them as api_name and stage_name)."
  }
}

variable "function_name" {
  description = "Name of the predictor Lambda function behind the API."
  type        = string

  validation {
    condition     = length(var.function_name) > 0
    error_message = "function_name must be the predictor Lambda's name (api-hosting publishes it as function_name)."
  }
}

variable "thresholds" {
  description = "Alarm thresholds: API calls and errors per period (sums), per-variant 5xx errors per period, model latency p99 in milliseconds, predictor Lambda errors per period."
  type = object({
    api_overall_calls    = optional(number, 100)
    api_4xx_errors       = optional(number, 20)
    api_5xx_errors       = optional(number, 20)
    variant_5xx_errors   = optional(number, 5)
    model_latency_p99_ms = optional(number, 500)
    lambda_errors        = optional(number, 5)
  })
  default = {}

  validation {
    condition = alltrue([
      for v in values(var.thresholds) : v != null && v >= 0
    ])
    error_message = "Every threshold must be a number >= 0 (e.g. api_4xx_errors = 20, model_latency_p99_ms = 500); remove a key to use its default."
  }
}

variable "period_sec" {
  description = "Period of every dashboard metric and alarm, in seconds."
  type        = number
  default     = 60

  validation {
    condition     = contains([10, 30], var.period_sec) || (var.period_sec >= 60 && var.period_sec % 60 == 0)
    error_message = "period_sec must be 10, 30 or a multiple of 60 (CloudWatch alarm periods), e.g. 60."
  }
}

variable "evaluation_periods" {
  description = "Number of consecutive periods an alarm condition must hold before the alarm fires."
  type        = number
  default     = 3

  validation {
    condition     = var.evaluation_periods >= 1 && floor(var.evaluation_periods) == var.evaluation_periods
    error_message = "evaluation_periods must be a whole number >= 1, e.g. 3."
  }
}

variable "emails" {
  description = "Email addresses subscribed to the alarm topic (each must confirm the subscription)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "Every entry of emails must be an email address such as ml-oncall@example.com."
  }
}

variable "kms_deletion_window_days" {
  description = "Waiting period before the alarm topic's KMS key is deleted after destroy."
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
