# The two roles the pipeline deploys terraform/app with, so that no static AWS key exists: a deploy
# role for the deploy branch and a read-only plan role for pull requests, both assumed by the
# Jenkins controller's instance role (the AWS Credentials plugin's iamRoleArn, with no keys), and
# both bounded by a permissions boundary the deploy role must also put on every role it creates.

data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition = data.aws_partition.current.partition
  account   = data.aws_caller_identity.current.account_id

  # Known before the policy exists, so the boundary can name itself in its own conditions.
  boundary_name = "${var.name}-deploy-boundary"
  boundary_arn  = "arn:${local.partition}:iam::${local.account}:policy/${local.boundary_name}"

  # What the deploy role may create and pass: the app's roles, all named after the app.
  app_roles = "arn:${local.partition}:iam::${local.account}:role/${var.name}-*"

  state_bucket_arn = "arn:${local.partition}:s3:::${var.state_bucket}"
}

# --- Boundary: the most any role of the pipeline (or made by it) can ever do ------------------

data "aws_iam_policy_document" "boundary" {
  # The ceiling, not a grant: identity policies decide what each role really has.
  statement {
    sid       = "OnlyInTheAppsRegions"
    actions   = ["*"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = distinct(concat(var.regions, [var.global_services_region]))
    }
  }

  # Every role created or changed under this boundary carries it: no way out by a new role.
  statement {
    sid    = "RolesKeepTheBoundary"
    effect = "Deny"
    actions = [
      "iam:AttachRolePolicy",
      "iam:CreateRole",
      "iam:DeleteRolePolicy",
      "iam:DetachRolePolicy",
      "iam:PutRolePermissionsBoundary",
      "iam:PutRolePolicy",
    ]
    resources = ["*"]

    condition {
      test     = "StringNotEquals"
      variable = "iam:PermissionsBoundary"
      values   = [local.boundary_arn]
    }
  }

  statement {
    sid    = "TheBoundaryStays"
    effect = "Deny"
    actions = [
      "iam:CreatePolicyVersion",
      "iam:DeletePolicy",
      "iam:DeletePolicyVersion",
      "iam:DeleteRolePermissionsBoundary",
      "iam:SetDefaultPolicyVersion",
    ]
    resources = ["*"]
  }

  # No long-lived credentials and no people in IAM.
  statement {
    sid    = "NoUsersNoKeys"
    effect = "Deny"
    actions = [
      "iam:AddUserToGroup",
      "iam:AttachUserPolicy",
      "iam:CreateAccessKey",
      "iam:CreateLoginProfile",
      "iam:CreateUser",
      "iam:PutUserPolicy",
      "iam:UpdateAccessKey",
      "iam:UpdateLoginProfile",
    ]
    resources = ["*"]
  }

  # The audit trail is the auditors', not the pipeline's.
  statement {
    sid    = "AuditStaysOn"
    effect = "Deny"
    actions = [
      "cloudtrail:DeleteTrail",
      "cloudtrail:PutEventSelectors",
      "cloudtrail:StopLogging",
      "cloudtrail:UpdateTrail",
      "config:DeleteConfigurationRecorder",
      "config:DeleteDeliveryChannel",
      "config:StopConfigurationRecorder",
      "guardduty:DeleteDetector",
      "guardduty:DisassociateFromMasterAccount",
      "guardduty:UpdateDetector",
      "organizations:LeaveOrganization",
    ]
    resources = ["*"]
  }

  # Locked backup vaults and copies in the other account are what a stolen pipeline cannot reach.
  statement {
    sid    = "BackupsStay"
    effect = "Deny"
    actions = [
      "backup:DeleteBackupVaultLockConfiguration",
      "backup:DeleteRecoveryPoint",
      "backup:UpdateRecoveryPointLifecycle",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_policy" "boundary" {
  name        = local.boundary_name
  description = "Permissions boundary of ${var.name}'s pipeline roles and of every role they create"
  policy      = data.aws_iam_policy_document.boundary.json

  tags = var.tags
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "AWS"
      identifiers = var.trusted_role_arns
    }
  }
}

# --- Deploy role: applies terraform/app from the deploy branch --------------------------------

resource "aws_iam_role" "deploy" {
  name                 = "${var.name}-deploy"
  description          = "Applies terraform/app of ${var.name} from the pipeline's deploy branch"
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  permissions_boundary = aws_iam_policy.boundary.arn
  max_session_duration = 3600

  tags = var.tags
}

# Every service but IAM and Organizations; the boundary keeps it in the app's regions.
resource "aws_iam_role_policy_attachment" "deploy_services" {
  role       = aws_iam_role.deploy.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/PowerUserAccess"
}

data "aws_iam_policy_document" "deploy_iam" {
  statement {
    sid = "ManageTheAppsRoles"
    actions = [
      "iam:AttachRolePolicy",
      "iam:CreateRole",
      "iam:DeleteRole",
      "iam:DeleteRolePolicy",
      "iam:DetachRolePolicy",
      "iam:GetRole",
      "iam:GetRolePolicy",
      "iam:ListAttachedRolePolicies",
      "iam:ListInstanceProfilesForRole",
      "iam:ListRolePolicies",
      "iam:PutRolePermissionsBoundary",
      "iam:PutRolePolicy",
      "iam:TagRole",
      "iam:UntagRole",
      "iam:UpdateAssumeRolePolicy",
      "iam:UpdateRole",
      "iam:UpdateRoleDescription",
    ]
    resources = [local.app_roles]
  }

  statement {
    sid       = "PassTheAppsRolesToItsServices"
    actions   = ["iam:PassRole"]
    resources = [local.app_roles]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["backup.amazonaws.com", "ecs-tasks.amazonaws.com", "monitoring.rds.amazonaws.com", "vpc-flow-logs.amazonaws.com"]
    }
  }

  statement {
    sid       = "ReadManagedPolicies"
    actions   = ["iam:GetPolicy", "iam:GetPolicyVersion"]
    resources = ["arn:${local.partition}:iam::aws:policy/*", local.boundary_arn]
  }
}

resource "aws_iam_role_policy" "deploy_iam" {
  name   = "manage-app-roles"
  role   = aws_iam_role.deploy.id
  policy = data.aws_iam_policy_document.deploy_iam.json
}

# --- Plan role: plans pull requests, reads and changes nothing else --------------------------

resource "aws_iam_role" "plan" {
  name                 = "${var.name}-plan"
  description          = "Plans terraform/app of ${var.name} for pull requests (read-only, -lock=false)"
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  permissions_boundary = aws_iam_policy.boundary.arn
  max_session_duration = 3600

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "plan_read" {
  role       = aws_iam_role.plan.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/ReadOnlyAccess"
}

# ReadOnlyAccess reads data as well as configuration. A pull request's Terraform runs code during
# plan (external data sources, providers), so the plan role reads configuration and the state,
# never the bank's data: no object but the state, no secret value, no log line, no decryption.
data "aws_iam_policy_document" "plan_no_data" {
  statement {
    sid       = "ReadTheState"
    actions   = ["s3:GetObject"]
    resources = ["${local.state_bucket_arn}/${var.state_key_prefix}*"]
  }

  statement {
    sid           = "NoObjectButTheState"
    effect        = "Deny"
    actions       = ["s3:GetObject", "s3:GetObjectVersion"]
    not_resources = ["${local.state_bucket_arn}/${var.state_key_prefix}*"]
  }

  statement {
    sid    = "NoDataReads"
    effect = "Deny"
    actions = [
      "athena:GetQueryResults",
      "dynamodb:BatchGetItem",
      "dynamodb:GetItem",
      "dynamodb:Query",
      "dynamodb:Scan",
      "ecr:BatchGetImage",
      "ecr:GetDownloadUrlForLayer",
      "lambda:GetFunction",
      "logs:FilterLogEvents",
      "logs:GetLogEvents",
      "logs:GetQueryResults",
      "logs:StartLiveTail",
      "logs:StartQuery",
      "rds:DownloadDBLogFilePortion",
      "secretsmanager:GetSecretValue",
      "sqs:ReceiveMessage",
      "ssm:GetParameter",
      "ssm:GetParameterHistory",
      "ssm:GetParameters",
      "ssm:GetParametersByPath",
    ]
    resources = ["*"]
  }

  # Decryption only of the state, when its bucket encrypts with a KMS key.
  statement {
    sid           = "NoDecryptionButTheState"
    effect        = "Deny"
    actions       = ["kms:Decrypt"]
    not_resources = var.state_kms_key_arn == null ? ["arn:${local.partition}:kms:*:${local.account}:key/no-state-key"] : [var.state_kms_key_arn]
  }

  # Neither the state nor its lock changes: pull-request plans run with -lock=false.
  statement {
    sid       = "NoStateWrites"
    effect    = "Deny"
    actions   = ["s3:DeleteObject", "s3:PutObject"]
    resources = ["${local.state_bucket_arn}/*"]
  }
}

resource "aws_iam_role_policy" "plan_no_data" {
  name   = "configuration-and-state-only"
  role   = aws_iam_role.plan.id
  policy = data.aws_iam_policy_document.plan_no_data.json
}
