variable "name" {
  description = "Name prefix of the module's resources (\"<project>-<stage>\"): the function is \"<name>-predictor\" unless function_name is set."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9-]{1,40}$", var.name))
    error_message = "name must be 1-40 letters, digits or hyphens (it prefixes IAM role and Lambda names, limited to 64 characters)."
  }
}

variable "api_name" {
  description = "Name of the REST API (defaults to \"<name>-api\")."
  type        = string
  default     = null
}

variable "function_name" {
  description = "Name of the predictor Lambda function (defaults to \"<name>-predictor\")."
  type        = string
  default     = null

  validation {
    condition     = var.function_name == null || can(regex("^[a-zA-Z0-9_-]{1,64}$", coalesce(var.function_name, "x")))
    error_message = "function_name must be 1-64 letters, digits, hyphens or underscores."
  }
}

variable "endpoint_name" {
  description = "Name of the SageMaker endpoint the predictor invokes (its SAGEMAKER_ENDPOINT)."
  type        = string
}

variable "endpoint_arn" {
  description = "ARN of that endpoint: the predictor's role may call sagemaker:InvokeEndpoint on it only."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:[0-9]{12}:endpoint/.+$", var.endpoint_arn))
    error_message = "endpoint_arn must be a SageMaker endpoint ARN (arn:aws:sagemaker:<region>:<account>:endpoint/<name>): apply model-serving first, it publishes it to SSM."
  }
}

variable "lambda" {
  description = "The predictor function: the deployment zip built by the orchestrator (filename + base64 sha256 source_code_hash) and its runtime settings. With s3_bucket the zip is stored there under <s3_key_prefix>/<function>/<hash>.zip and the function loads it from S3; without it the function is created from the local file."
  type = object({
    filename                       = string
    source_code_hash               = string
    s3_bucket                      = optional(string)
    s3_key_prefix                  = optional(string, "lambda")
    handler                        = optional(string, "handler.lambda_handler")
    runtime                        = optional(string, "python3.12")
    timeout_sec                    = optional(number, 28)
    memory_mb                      = optional(number, 256)
    reserved_concurrent_executions = optional(number, -1)
    log_level                      = optional(string, "INFO")
    max_body_bytes                 = optional(number, 65536)
    invoke_read_timeout_sec        = optional(number, 12)
    invoke_max_attempts            = optional(number, 2)
    tracing                        = optional(bool, false)
    environment                    = optional(map(string), {})
  })

  validation {
    condition     = contains(["python3.11", "python3.12"], var.lambda.runtime)
    error_message = "lambda.runtime must be python3.11 or python3.12 (the predictor is tested on those)."
  }

  validation {
    condition     = var.lambda.invoke_read_timeout_sec * var.lambda.invoke_max_attempts + 2 <= var.lambda.timeout_sec && var.lambda.timeout_sec <= 29
    error_message = "lambda.timeout_sec must be <= 29 (API Gateway's integration limit) and leave room for invoke_max_attempts x invoke_read_timeout_sec + 2 s."
  }

  validation {
    condition     = var.lambda.s3_bucket == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.lambda.s3_bucket))
    error_message = "lambda.s3_bucket must be an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens), or null to create the function from the local file."
  }

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$", var.lambda.s3_key_prefix))
    error_message = "lambda.s3_key_prefix must be a key prefix without leading or trailing '/', such as \"lambda\"."
  }

  validation {
    condition     = endswith(var.lambda.filename, ".zip")
    error_message = "lambda.filename must be the path of the predictor's .zip (built by the orchestrator)."
  }

  validation {
    condition     = can(regex("^[A-Za-z0-9+/]{43}=$", var.lambda.source_code_hash))
    error_message = "lambda.source_code_hash must be the base64-encoded SHA-256 of the zip (44 characters ending in '='), as filebase64sha256() gives."
  }

  validation {
    condition     = var.lambda.timeout_sec >= 1 && var.lambda.timeout_sec <= 900
    error_message = "lambda.timeout_sec must be 1-900 seconds (API Gateway stops waiting after 29 s anyway)."
  }

  validation {
    condition     = var.lambda.memory_mb >= 128 && var.lambda.memory_mb <= 10240
    error_message = "lambda.memory_mb must be 128-10240."
  }

  validation {
    condition     = var.lambda.reserved_concurrent_executions >= -1 && floor(var.lambda.reserved_concurrent_executions) == var.lambda.reserved_concurrent_executions
    error_message = "lambda.reserved_concurrent_executions must be -1 (unreserved), 0 (disabled) or a positive whole number."
  }

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], var.lambda.log_level)
    error_message = "lambda.log_level must be DEBUG, INFO, WARNING, ERROR or CRITICAL."
  }

  validation {
    condition     = var.lambda.max_body_bytes >= 1 && var.lambda.max_body_bytes <= 6291456
    error_message = "lambda.max_body_bytes must be 1 to 6291456 (6 MiB, the InvokeEndpoint payload limit)."
  }
}

variable "log_retention_days" {
  description = "Retention of the function's log group and of the API access log group."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of CloudWatch Logs' values: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "log_kms_key_arn" {
  description = "Optional KMS key for both log groups (its key policy must allow the logs.<region>.amazonaws.com service)."
  type        = string
  default     = null
}

variable "api" {
  description = "The REST API: resource path (\"text\" or up to three segments \"v1/models/text\"), method, stage, API key requirement, usage plan throttle and quota, logging and metrics."
  type = object({
    resource_path    = optional(string, "text")
    http_method      = optional(string, "POST")
    stage_name       = string
    api_key_required = optional(bool, true)
    throttle = optional(object({
      rate_limit  = optional(number, 100)
      burst_limit = optional(number, 200)
    }), {})
    quota = optional(object({
      limit  = optional(number, 100000)
      period = optional(string, "DAY")
    }), {})
    access_logs     = optional(bool, true)
    metrics_enabled = optional(bool, true)
    logging_level   = optional(string, "INFO")
    xray_tracing    = optional(bool, false)
  })

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+){0,2}$", var.api.resource_path))
    error_message = "api.resource_path must be 1-3 path segments of letters, digits, '.', '_' or '-' without leading or trailing slash, e.g. \"text\"."
  }

  validation {
    condition     = contains(["POST", "PUT", "GET"], var.api.http_method)
    error_message = "api.http_method must be POST, PUT or GET."
  }

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,128}$", var.api.stage_name))
    error_message = "api.stage_name must be 1-128 letters, digits, hyphens or underscores."
  }

  validation {
    condition     = var.api.throttle.rate_limit > 0 && var.api.throttle.burst_limit >= 1 && floor(var.api.throttle.burst_limit) == var.api.throttle.burst_limit
    error_message = "api.throttle needs rate_limit > 0 (requests per second) and a whole burst_limit >= 1."
  }

  validation {
    condition     = var.api.quota.limit >= 1 && floor(var.api.quota.limit) == var.api.quota.limit && contains(["DAY", "WEEK", "MONTH"], var.api.quota.period)
    error_message = "api.quota needs a whole limit >= 1 and period DAY, WEEK or MONTH."
  }

  validation {
    condition     = contains(["OFF", "ERROR", "INFO"], var.api.logging_level)
    error_message = "api.logging_level must be OFF, ERROR or INFO (anything but OFF needs the account-level CloudWatch role: see create_account_cloudwatch_role)."
  }
}

variable "create_account_cloudwatch_role" {
  description = "Create a role for API Gateway to write CloudWatch logs and register it account-wide (aws_api_gateway_account, one per account and region). Needed once per account/region for access logs and execution logging; turn off where the account already has one. The registration is not undone on destroy."
  type        = bool
  default     = true
}

variable "api_key_ssm_parameter_name" {
  description = "If set, the API key value is published to this SSM parameter as a SecureString."
  type        = string
  default     = null

  validation {
    condition     = var.api_key_ssm_parameter_name == null || can(regex("^/[a-zA-Z0-9_./-]+$", coalesce(var.api_key_ssm_parameter_name, "/x")))
    error_message = "api_key_ssm_parameter_name must be a fully qualified SSM name such as /text-classification/local/api-hosting/api_key."
  }
}

variable "api_key_ssm_kms_key_id" {
  description = "KMS key (id, alias or ARN) of the API key SecureString; null uses the AWS-managed alias/aws/ssm."
  type        = string
  default     = null
}

variable "account_id" {
  description = "AWS account id used in IAM resource ARNs; null uses a wildcard account (the module never calls STS)."
  type        = string
  default     = null

  validation {
    condition     = var.account_id == null || can(regex("^[0-9]{12}$", coalesce(var.account_id, "000000000000")))
    error_message = "account_id must be a 12-digit AWS account id or null."
  }
}

variable "tags" {
  description = "Tags applied to every taggable resource of the module."
  type        = map(string)
  default     = {}
}
