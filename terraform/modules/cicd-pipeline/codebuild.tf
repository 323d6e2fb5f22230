locals {
  # Install phase shared by both projects: Terraform (checksum-verified) and the project WITHOUT the
  # `local` extra, so CI never installs torch or moto.
  install_commands = [
    "curl -fsSLo /tmp/terraform.zip \"https://releases.hashicorp.com/terraform/$${TERRAFORM_VERSION}/terraform_$${TERRAFORM_VERSION}_linux_amd64.zip\"",
    "curl -fsSLo /tmp/terraform.sha256 \"https://releases.hashicorp.com/terraform/$${TERRAFORM_VERSION}/terraform_$${TERRAFORM_VERSION}_SHA256SUMS\"",
    "cd /tmp && grep \" terraform_$${TERRAFORM_VERSION}_linux_amd64.zip$\" terraform.sha256 | sha256sum -c - && cd -",
    "unzip -o -q /tmp/terraform.zip -d /usr/local/bin && terraform version",
    "python -m pip install --upgrade pip",
    "python -m pip install .",
  ]

  buildspecs = {
    plan = {
      version = "0.2"
      env     = { variables = { CHECKPOINT_DISABLE = "1", TF_IN_AUTOMATION = "1" } }
      phases = {
        install = { "runtime-versions" = { python = var.build.python_version }, commands = local.install_commands }
        build   = { commands = ["orchestrator plan --env \"$DEPLOY_ENV\" --format markdown --out plan.md"] }
      }
      artifacts = { files = ["plan.md"] }
    }
    apply = {
      version = "0.2"
      env     = { variables = { CHECKPOINT_DISABLE = "1", TF_IN_AUTOMATION = "1" } }
      phases = {
        install = { "runtime-versions" = { python = var.build.python_version }, commands = local.install_commands }
        build   = { commands = ["orchestrator apply --env \"$DEPLOY_ENV\" --auto-approve"] }
      }
    }
  }

}

resource "aws_cloudwatch_log_group" "build" {
  for_each = local.buildspecs

  name              = "/aws/codebuild/${var.name}-${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.artifacts.arn
  tags              = var.tags
}

resource "aws_codebuild_project" "plan" {
  name           = "${var.name}-plan"
  description    = "Runs `orchestrator plan --env ${var.environment_name}` and publishes plan.md for review."
  service_role   = aws_iam_role.plan.arn
  build_timeout  = var.build.timeout_minutes
  encryption_key = aws_kms_key.artifacts.arn

  source {
    type      = "CODEPIPELINE"
    buildspec = yamlencode(local.buildspecs.plan)
  }

  artifacts {
    type = "CODEPIPELINE"
  }

  environment {
    type                        = "LINUX_CONTAINER"
    image                       = var.build.image
    compute_type                = var.build.compute_type
    image_pull_credentials_type = "CODEBUILD"
    privileged_mode             = false

    environment_variable {
      name  = "DEPLOY_ENV"
      value = var.environment_name
    }

    environment_variable {
      name  = "TERRAFORM_VERSION"
      value = var.build.terraform_version
    }
  }

  logs_config {
    cloudwatch_logs {
      group_name = aws_cloudwatch_log_group.build["plan"].name
    }
  }

  tags = var.tags
}

resource "aws_codebuild_project" "apply" {
  name           = "${var.name}-apply"
  description    = "Runs `orchestrator apply --env ${var.environment_name} --auto-approve` after the plan was approved."
  service_role   = aws_iam_role.apply.arn
  build_timeout  = var.build.timeout_minutes
  encryption_key = aws_kms_key.artifacts.arn

  source {
    type      = "CODEPIPELINE"
    buildspec = yamlencode(local.buildspecs.apply)
  }

  artifacts {
    type = "CODEPIPELINE"
  }

  environment {
    type                        = "LINUX_CONTAINER"
    image                       = var.build.image
    compute_type                = var.build.compute_type
    image_pull_credentials_type = "CODEBUILD"
    privileged_mode             = false

    environment_variable {
      name  = "DEPLOY_ENV"
      value = var.environment_name
    }

    environment_variable {
      name  = "TERRAFORM_VERSION"
      value = var.build.terraform_version
    }
  }

  logs_config {
    cloudwatch_logs {
      group_name = aws_cloudwatch_log_group.build["apply"].name
    }
  }

  tags = var.tags
}
