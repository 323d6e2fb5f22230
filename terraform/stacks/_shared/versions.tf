# Shared by every stack root (each root links to this file).
terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # Partial configuration: the orchestrator passes bucket, key, region and use_lockfile = true
  # (and, on the embedded control plane, its endpoint) with -backend-config at init.
  backend "s3" {}
}
