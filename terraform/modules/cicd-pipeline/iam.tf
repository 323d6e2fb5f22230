################################################################################
# Roles: pipeline, Plan build (read-only deploy rights), Apply build (manage the project's resources)
#
# Apply runs `orchestrator apply`, i.e. Terraform over every stack of this project: it needs rights to
# create, change and delete the project's resources. Those rights are scoped by NAME PREFIX
# ("<project>-<stage>-*", the naming contract of every stack), by the SSM path /<project>/<stage>/*, and,
# for KMS keys (which have no names), by the Project tag the provider sets on every resource. API Gateway
# ARNs carry ids, not names: those rights are scoped to this region's REST APIs, keys and usage plans.
# Note: rights to create "<project>-<stage>-*" IAM roles with inline policies and pass them are, in effect,
# rights to any permission; protect the pipeline like an administrator (approval stage, branch protection).
################################################################################

locals {
  arn = {
    s3       = "arn:${local.partition}:s3:::"
    iam      = "arn:${local.partition}:iam::${var.account_id}"
    regional = "${local.region}:${var.account_id}"
  }
  p           = local.partition
  name_prefix = "${var.name}-"
  endpoint    = coalesce(var.endpoint_name, var.name)
  ssm_path    = "/${var.project.name}/${var.project.stage}"
  # The state bucket: named explicitly, else "<project>-<stage>-tfstate*" (the orchestrator's convention).
  state_bucket = coalesce(var.state_bucket_name, "${var.name}-tfstate*")

  # Per service: resources of this project, read actions (Plan and Apply), write actions (Apply only).
  deploy = {
    S3 = {
      resources = compact([
        "${local.arn.s3}${local.name_prefix}*", "${local.arn.s3}${local.name_prefix}*/*",
        var.state_bucket_name == null ? null : "${local.arn.s3}${var.state_bucket_name}",
        var.state_bucket_name == null ? null : "${local.arn.s3}${var.state_bucket_name}/*",
      ])
      read  = ["s3:Get*", "s3:List*"]
      write = ["s3:CreateBucket", "s3:DeleteBucket", "s3:Put*", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:DeleteBucketPolicy", "s3:DeleteObjectTagging"]
    }
    Iam = {
      resources = ["${local.arn.iam}:role/${local.name_prefix}*", "${local.arn.iam}:policy/${local.name_prefix}*"]
      read      = ["iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole", "iam:ListRoleTags", "iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyVersions", "iam:ListPolicyTags"]
      write     = ["iam:CreateRole", "iam:DeleteRole", "iam:UpdateRole", "iam:UpdateRoleDescription", "iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:TagRole", "iam:UntagRole", "iam:CreatePolicy", "iam:DeletePolicy", "iam:CreatePolicyVersion", "iam:DeletePolicyVersion", "iam:TagPolicy", "iam:UntagPolicy", "iam:PassRole"]
    }
    SageMaker = {
      resources = distinct([
        "arn:${local.p}:sagemaker:${local.arn.regional}:model/${local.name_prefix}*",
        "arn:${local.p}:sagemaker:${local.arn.regional}:endpoint-config/${local.name_prefix}*",
        "arn:${local.p}:sagemaker:${local.arn.regional}:endpoint/${local.endpoint}",
        "arn:${local.p}:sagemaker:${local.arn.regional}:endpoint/${local.name_prefix}*",
      ])
      read  = ["sagemaker:DescribeModel", "sagemaker:DescribeEndpointConfig", "sagemaker:DescribeEndpoint", "sagemaker:ListTags"]
      write = ["sagemaker:CreateModel", "sagemaker:DeleteModel", "sagemaker:CreateEndpointConfig", "sagemaker:DeleteEndpointConfig", "sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint", "sagemaker:DeleteEndpoint", "sagemaker:UpdateEndpointWeightsAndCapacities", "sagemaker:AddTags", "sagemaker:DeleteTags"]
    }
    AutoScaling = {
      resources = ["arn:${local.p}:application-autoscaling:${local.arn.regional}:scalable-target/*"]
      read      = ["application-autoscaling:ListTagsForResource"]
      write     = ["application-autoscaling:RegisterScalableTarget", "application-autoscaling:DeregisterScalableTarget", "application-autoscaling:PutScalingPolicy", "application-autoscaling:DeleteScalingPolicy", "application-autoscaling:TagResource", "application-autoscaling:UntagResource"]
    }
    Lambda = {
      resources = ["arn:${local.p}:lambda:${local.arn.regional}:function:${local.name_prefix}*"]
      read      = ["lambda:GetFunction", "lambda:GetFunctionConfiguration", "lambda:GetFunctionCodeSigningConfig", "lambda:GetFunctionConcurrency", "lambda:GetFunctionEventInvokeConfig", "lambda:GetPolicy", "lambda:ListVersionsByFunction", "lambda:ListTags"]
      write     = ["lambda:CreateFunction", "lambda:DeleteFunction", "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration", "lambda:PublishVersion", "lambda:AddPermission", "lambda:RemovePermission", "lambda:PutFunctionConcurrency", "lambda:DeleteFunctionConcurrency", "lambda:PutFunctionEventInvokeConfig", "lambda:UpdateFunctionEventInvokeConfig", "lambda:DeleteFunctionEventInvokeConfig", "lambda:TagResource", "lambda:UntagResource"]
    }
    Logs = {
      resources = [
        "arn:${local.p}:logs:${local.arn.regional}:log-group:/aws/*/${local.name_prefix}*",
        "arn:${local.p}:logs:${local.arn.regional}:log-group:${local.name_prefix}*",
        "arn:${local.p}:logs:${local.arn.regional}:log-group:${local.ssm_path}/*",
      ]
      read  = ["logs:ListTagsForResource", "logs:ListTagsLogGroup"]
      write = ["logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy", "logs:AssociateKmsKey", "logs:DisassociateKmsKey", "logs:TagResource", "logs:UntagResource", "logs:TagLogGroup", "logs:UntagLogGroup"]
    }
    ApiGateway = {
      resources = [
        for path in ["/restapis", "/restapis/*", "/apikeys", "/apikeys/*", "/usageplans", "/usageplans/*", "/tags/*", "/account"] :
        "arn:${local.p}:apigateway:${local.region}::${path}"
      ]
      read  = ["apigateway:GET"]
      write = ["apigateway:POST", "apigateway:PUT", "apigateway:PATCH", "apigateway:DELETE"]
    }
    CloudWatch = {
      resources = [
        "arn:${local.p}:cloudwatch:${local.arn.regional}:alarm:${local.name_prefix}*",
        "arn:${local.p}:cloudwatch:${local.arn.regional}:alarm:TargetTracking-endpoint/${local.endpoint}/*",
        "arn:${local.p}:cloudwatch::${var.account_id}:dashboard/${local.name_prefix}*",
      ]
      read  = ["cloudwatch:DescribeAlarms", "cloudwatch:GetDashboard", "cloudwatch:ListTagsForResource"]
      write = ["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards", "cloudwatch:TagResource", "cloudwatch:UntagResource"]
    }
    Sns = {
      resources = ["arn:${local.p}:sns:${local.arn.regional}:${local.name_prefix}*"]
      read      = ["sns:GetTopicAttributes", "sns:GetSubscriptionAttributes", "sns:ListSubscriptionsByTopic", "sns:ListTagsForResource"]
      write     = ["sns:CreateTopic", "sns:DeleteTopic", "sns:SetTopicAttributes", "sns:Subscribe", "sns:Unsubscribe", "sns:SetSubscriptionAttributes", "sns:TagResource", "sns:UntagResource"]
    }
    Ssm = {
      resources = ["arn:${local.p}:ssm:${local.arn.regional}:parameter${local.ssm_path}/*"]
      read      = ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath", "ssm:ListTagsForResource"]
      write     = ["ssm:PutParameter", "ssm:DeleteParameter", "ssm:DeleteParameters", "ssm:AddTagsToResource", "ssm:RemoveTagsFromResource"]
    }
    Cicd = {
      resources = [
        "arn:${local.p}:codebuild:${local.arn.regional}:project/${local.name_prefix}*",
        "arn:${local.p}:codepipeline:${local.arn.regional}:${local.name_prefix}*",
      ]
      read  = ["codebuild:BatchGetProjects", "codepipeline:GetPipeline", "codepipeline:ListTagsForResource"]
      write = ["codebuild:CreateProject", "codebuild:UpdateProject", "codebuild:DeleteProject", "codepipeline:CreatePipeline", "codepipeline:UpdatePipeline", "codepipeline:DeletePipeline", "codepipeline:TagResource", "codepipeline:UntagResource"]
    }
  }
}

data "aws_iam_policy_document" "assume_codebuild" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["codebuild.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [var.account_id]
    }
  }
}

data "aws_iam_policy_document" "assume_pipeline" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["codepipeline.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [var.account_id]
    }
  }
}

# Both builds: their own log groups, the artifact bucket and key, and read access to the project's
# resources and Terraform state (plan refreshes every resource and takes the state lock).
data "aws_iam_policy_document" "build_base" {
  statement {
    sid       = "OwnLogGroups"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [for g in aws_cloudwatch_log_group.build : "${g.arn}:*"]
  }

  statement {
    sid       = "ArtifactBucket"
    actions   = ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:GetBucketLocation", "s3:GetBucketVersioning"]
    resources = [aws_s3_bucket.artifacts.arn, "${aws_s3_bucket.artifacts.arn}/*"]
  }

  statement {
    sid       = "ArtifactKey"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:DescribeKey"]
    resources = [aws_kms_key.artifacts.arn]
  }

  statement {
    sid       = "TerraformStateLock"
    actions   = ["s3:PutObject", "s3:DeleteObject"]
    resources = ["${local.arn.s3}${local.state_bucket}/*.tflock"]
  }

  dynamic "statement" {
    for_each = local.deploy
    content {
      sid       = "Read${statement.key}"
      actions   = statement.value.read
      resources = statement.value.resources
    }
  }

  statement {
    sid       = "ReadProjectKeys"
    actions   = ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags", "kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["arn:${local.p}:kms:${local.arn.regional}:key/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/Project"
      values   = [var.project.name]
    }
  }

  statement {
    sid = "ListCallsWithoutResourceScope"
    # These APIs support no resource-level permissions (or only "*"): Terraform reads call them.
    actions = [
      "sts:GetCallerIdentity", "kms:ListAliases", "ssm:DescribeParameters", "logs:DescribeLogGroups",
      "application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScalingPolicies",
    ]
    resources = ["*"]
  }
}

data "aws_iam_policy_document" "deploy_write" {
  dynamic "statement" {
    for_each = local.deploy
    content {
      sid       = "Manage${statement.key}"
      actions   = statement.value.write
      resources = statement.value.resources
    }
  }

  statement {
    sid       = "CreateProjectKeys"
    actions   = ["kms:CreateKey", "kms:TagResource"]
    resources = ["*"] # a key has no ARN before it exists; the request must carry the Project tag

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/Project"
      values   = [var.project.name]
    }
  }

  statement {
    sid = "ManageProjectKeys"
    actions = [
      "kms:ScheduleKeyDeletion", "kms:PutKeyPolicy", "kms:EnableKeyRotation", "kms:UpdateKeyDescription",
      "kms:TagResource", "kms:UntagResource", "kms:CreateGrant", "kms:Encrypt", "kms:CreateAlias", "kms:DeleteAlias",
    ]
    resources = ["arn:${local.p}:kms:${local.arn.regional}:key/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/Project"
      values   = [var.project.name]
    }
  }

  statement {
    sid       = "ProjectKeyAliases"
    actions   = ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"]
    resources = ["arn:${local.p}:kms:${local.arn.regional}:alias/${local.name_prefix}*"]
  }

  statement {
    sid       = "SageMakerAutoScalingServiceLinkedRole"
    actions   = ["iam:CreateServiceLinkedRole"]
    resources = ["${local.arn.iam}:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"]

    condition {
      test     = "StringLike"
      variable = "iam:AWSServiceName"
      values   = ["sagemaker.application-autoscaling.amazonaws.com"]
    }
  }

  dynamic "statement" {
    for_each = local.github ? [var.source_config.connection_arn] : []
    content {
      sid       = "PassTheSourceConnection"
      actions   = ["codestar-connections:PassConnection", "codeconnections:PassConnection"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role" "plan" {
  name               = "${var.name}-pipeline-plan"
  description        = "CodeBuild role of the Plan project: reads the project's resources and state."
  assume_role_policy = data.aws_iam_policy_document.assume_codebuild.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "plan" {
  name   = "${var.name}-pipeline-plan"
  role   = aws_iam_role.plan.id
  policy = data.aws_iam_policy_document.build_base.json
}

resource "aws_iam_role" "apply" {
  name               = "${var.name}-pipeline-apply"
  description        = "CodeBuild role of the Apply project: manages the project's resources (scoped by name prefix)."
  assume_role_policy = data.aws_iam_policy_document.assume_codebuild.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "apply_base" {
  name   = "${var.name}-pipeline-apply-read"
  role   = aws_iam_role.apply.id
  policy = data.aws_iam_policy_document.build_base.json
}

resource "aws_iam_role_policy" "apply_deploy" {
  name   = "${var.name}-pipeline-apply-deploy"
  role   = aws_iam_role.apply.id
  policy = data.aws_iam_policy_document.deploy_write.json
}

data "aws_iam_policy_document" "pipeline" {
  statement {
    sid       = "PipelineBuckets"
    actions   = ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:GetBucketLocation", "s3:GetBucketVersioning", "s3:ListBucket"]
    resources = flatten([for b in local.pipeline_bucket_arns : [b, "${b}/*"]])
  }

  statement {
    sid       = "ArtifactKey"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:DescribeKey"]
    resources = [aws_kms_key.artifacts.arn]
  }

  statement {
    sid       = "RunTheTwoBuilds"
    actions   = ["codebuild:StartBuild", "codebuild:BatchGetBuilds", "codebuild:StopBuild"]
    resources = [aws_codebuild_project.plan.arn, aws_codebuild_project.apply.arn]
  }

  dynamic "statement" {
    for_each = local.github ? [var.source_config.connection_arn] : []
    content {
      sid       = "UseTheSourceConnection"
      actions   = ["codestar-connections:UseConnection", "codeconnections:UseConnection"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role" "pipeline" {
  name               = "${var.name}-pipeline"
  description        = "CodePipeline role: its buckets and key, the Plan and Apply projects, the source connection."
  assume_role_policy = data.aws_iam_policy_document.assume_pipeline.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "pipeline" {
  name   = "${var.name}-pipeline"
  role   = aws_iam_role.pipeline.id
  policy = data.aws_iam_policy_document.pipeline.json
}
