variable "name" {
  description = "Name prefix of every resource of the module (\"<project>-<stage>\", e.g. \"text-classification-local\")."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}$", var.name))
    error_message = "name must be 2-41 lowercase letters, digits or hyphens starting with a letter, such as \"text-classification-local\"."
  }
}

variable "account_id" {
  description = "AWS account id (scopes IAM resources and the KMS key policy)."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be the 12-digit AWS account id, such as \"123456789012\"."
  }
}

variable "stage" {
  description = "Project stage: the Stage dimension of the tester's custom metrics."
  type        = string

  validation {
    condition     = length(var.stage) > 0
    error_message = "stage must be the project stage, such as \"local\"."
  }
}

variable "metric_namespace" {
  description = "CloudWatch namespace of the tester's custom metrics (the project name); the only namespace the testers may write to."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9._/#:-]{1,255}$", var.metric_namespace)) && !startswith(var.metric_namespace, "AWS/")
    error_message = "metric_namespace must be a custom namespace such as the project name (\"text-classification\"); it must not start with \"AWS/\"."
  }
}

variable "client_count" {
  description = "Number of tester Lambda functions (concurrent load clients), each subscribed to the trigger topic."
  type        = number
  default     = 5

  validation {
    condition     = var.client_count >= 1 && var.client_count <= 50 && floor(var.client_count) == var.client_count
    error_message = "client_count must be a whole number between 1 and 50 (the number of tester Lambdas), e.g. 5."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrency of each tester (1: each is one closed-loop client). Use -1 (unreserved) on accounts whose concurrency quota is still the new-account minimum of 10."
  type        = number
  default     = 1

  validation {
    condition     = var.reserved_concurrency == -1 || var.reserved_concurrency >= 1
    error_message = "reserved_concurrency must be -1 (unreserved) or >= 1."
  }
}

variable "lambda_package" {
  description = "The load-tester deployment zip: path on disk and its base64 SHA-256 (Terraform's source_code_hash), plus runtime settings. With s3_bucket (recommended) the zip is uploaded there under <s3_key_prefix>/<name>-load-tester/<hash>.zip and the functions load it from S3, all created in parallel; without it each function uploads the file itself, one at a time."
  type = object({
    filename         = string
    source_code_hash = string
    s3_bucket        = optional(string)
    s3_key_prefix    = optional(string, "lambda")
    handler          = optional(string, "handler.lambda_handler")
    runtime          = optional(string, "python3.12")
    timeout_sec      = optional(number, 900)
    memory_mb        = optional(number, 256)
  })

  validation {
    condition     = endswith(var.lambda_package.filename, ".zip") && length(var.lambda_package.source_code_hash) > 0
    error_message = "lambda_package.filename must be the path of the load tester's .zip and source_code_hash its base64 SHA-256 (artifacts.lambdas.load_tester in the render context)."
  }

  validation {
    condition     = var.lambda_package.s3_bucket == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.lambda_package.s3_bucket))
    error_message = "lambda_package.s3_bucket must be an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens), or null to upload the zip with each function."
  }

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$", var.lambda_package.s3_key_prefix))
    error_message = "lambda_package.s3_key_prefix must be a key prefix without leading or trailing '/', such as \"lambda\"."
  }

  validation {
    condition     = can(regex("^python3\\.(1[1-9]|[2-9][0-9])$", var.lambda_package.runtime))
    error_message = "lambda_package.runtime must be a Python runtime from python3.11 on, such as \"python3.12\" (the load tester needs 3.11: logging.getLevelNamesMapping)."
  }

  validation {
    condition     = var.lambda_package.timeout_sec >= 1 && var.lambda_package.timeout_sec <= 900
    error_message = "lambda_package.timeout_sec must be between 1 and 900 seconds (the Lambda maximum); a test run must fit in it."
  }
}

variable "api" {
  description = "The API under test: invoke URL of the POST resource and the SSM parameter name that holds the API key (SecureString, read by the tester at run time; the key value never enters Terraform)."
  type = object({
    invoke_url                 = string
    api_key_parameter_name     = string
    api_key_parameter_kms_keys = optional(list(string), [])
  })

  validation {
    condition     = can(regex("^https?://", var.api.invoke_url))
    error_message = "api.invoke_url must be the http(s) URL of the API resource (api-hosting publishes it as invoke_url)."
  }

  validation {
    condition     = startswith(var.api.api_key_parameter_name, "/")
    error_message = "api.api_key_parameter_name must be the SSM parameter name of the API key, starting with \"/\" (e.g. /text-classification/local/api-hosting/api_key), never the key itself."
  }
}

variable "test_cases" {
  description = "Test cases the tester dashboard shows (one row each); the cases themselves travel in the trigger message."
  type = list(object({
    name = string
    type = optional(string, "ApiGateway")
  }))

  validation {
    condition     = length(var.test_cases) > 0 && length(distinct([for c in var.test_cases : c.name])) == length(var.test_cases)
    error_message = "test_cases must list at least one case, each with a distinct name."
  }
}

variable "dashboard_name" {
  description = "Name of the tester dashboard; null uses \"<name>-tester\"."
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "Retention of the tester functions' log groups, in days."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch Logs retention value such as 30, 90 or 365."
  }
}

variable "kms_deletion_window_days" {
  description = "Waiting period before the module's KMS key is deleted after destroy."
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
