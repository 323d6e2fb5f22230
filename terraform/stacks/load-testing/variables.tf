variable "load_testing" {
  description = "The environment's load-testing settings (environments/*.json \"load_testing\"): client count, dashboard name suffix, the test cases shown on the dashboard."
  type = object({
    client_count   = optional(number, 5)
    dashboard_name = optional(string, "tester")
    test_cases = list(object({
      name = string
      type = optional(string, "ApiGateway")
    }))
    log_retention_days   = optional(number, 365)
    reserved_concurrency = optional(number, 1)
  })
}

variable "load_tester" {
  description = "The packaged load-tester zip (render context artifacts.lambdas.load_tester): absolute path and base64 SHA-256."
  type = object({
    path             = string
    source_code_hash = string
  })
}
