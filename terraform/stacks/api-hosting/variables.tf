variable "api" {
  description = "The REST API (environment api, same shape): the API is \"<project>-<stage>-<name>\", the stage is project.stage."
  type = object({
    name               = optional(string, "api")
    resource           = optional(string, "text")
    method             = optional(string, "POST")
    require_api_key    = optional(bool, true)
    throttle           = optional(object({ rate_limit = optional(number, 100), burst_limit = optional(number, 200) }), {})
    quota              = optional(object({ limit = optional(number, 100000), period = optional(string, "DAY") }), {})
    log_retention_days = optional(number, 30)
    max_body_bytes     = optional(number, 65536)
  })
  default = {}
}

variable "predictor" {
  description = "The predictor Lambda zip built by the orchestrator (render context artifacts.lambdas.predictor): path + base64 sha256."
  type = object({
    path             = string
    source_code_hash = string
  })
}

variable "predictor_settings" {
  description = "Runtime settings of the predictor function."
  type = object({
    handler                        = optional(string, "handler.lambda_handler")
    runtime                        = optional(string, "python3.12")
    timeout_sec                    = optional(number, 28)
    memory_mb                      = optional(number, 256)
    reserved_concurrent_executions = optional(number, -1)
    log_level                      = optional(string, "INFO")
    tracing                        = optional(bool, false)
    environment                    = optional(map(string), {})
  })
  default = {}
}

variable "observability" {
  description = "Access logs, execution logging level, detailed metrics, X-Ray on the stage, and whether to register the account-level API Gateway CloudWatch role (one per account/region)."
  type = object({
    access_logs                    = optional(bool, true)
    logging_level                  = optional(string, "INFO")
    metrics_enabled                = optional(bool, true)
    xray_tracing                   = optional(bool, false)
    create_account_cloudwatch_role = optional(bool, true)
  })
  default = {}
}
