variable "monitoring" {
  description = "The environment's monitoring settings (environments/*.json \"monitoring\"): dashboard name suffix, alarm emails, thresholds, period and evaluation periods. Unset thresholds use the module defaults."
  type = object({
    dashboard_name = optional(string, "monitor")
    emails         = optional(list(string), [])
    thresholds = optional(object({
      api_overall_calls    = optional(number)
      api_4xx_errors       = optional(number)
      api_5xx_errors       = optional(number)
      variant_5xx_errors   = optional(number)
      model_latency_p99_ms = optional(number)
      lambda_errors        = optional(number)
    }), {})
    period_sec         = optional(number, 60)
    evaluation_periods = optional(number, 3)
  })
  default = {}
}
