# Plans terraform/modules/pipeline-roles offline with the real aws provider and checks the roles
# the pipeline deploys and plans terraform/app with: trusted by the controller's role only, both
# bounded, the deploy role managing only the app's roles (which must keep the boundary), the plan
# role reading configuration and the state but no data.

provider "aws" {
  region                      = "us-east-1"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}

override_data {
  target = data.aws_caller_identity.current
  values = { account_id = "111122223333" }
}

variables {
  name              = "bank-app"
  trusted_role_arns = ["arn:aws:iam::111122223333:role/bank-ci-jenkins-abc"]
  regions           = ["us-east-1", "us-west-2"]
  state_bucket      = "bank-tfstate-prod"
}

run "the_controller_assumes_two_bounded_roles" {
  command = plan

  assert {
    condition     = aws_iam_role.deploy.name == "bank-app-deploy" && aws_iam_role.plan.name == "bank-app-plan" && aws_iam_role.deploy.max_session_duration == 3600
    error_message = "The roles are named after the app; a session lasts an hour."
  }

  assert {
    condition     = jsondecode(data.aws_iam_policy_document.assume.json).Statement[0].Principal == { AWS = "arn:aws:iam::111122223333:role/bank-ci-jenkins-abc" } && jsondecode(data.aws_iam_policy_document.assume.json).Statement[0].Action == "sts:AssumeRole"
    error_message = "Only the controller's role assumes them: ${data.aws_iam_policy_document.assume.json}"
  }

  assert {
    condition     = aws_iam_policy.boundary.name == "bank-app-deploy-boundary" && aws_iam_role_policy_attachment.deploy_services.policy_arn == "arn:aws:iam::aws:policy/PowerUserAccess" && aws_iam_role_policy_attachment.plan_read.policy_arn == "arn:aws:iam::aws:policy/ReadOnlyAccess"
    error_message = "Deploy: every service but IAM; plan: read-only; both under the boundary."
  }
}

run "the_boundary_keeps_the_regions_itself_and_the_audit_trail" {
  command = plan

  assert {
    condition     = one([for s in jsondecode(data.aws_iam_policy_document.boundary.json).Statement : s.Condition if s.Sid == "OnlyInTheAppsRegions"]) == { StringEquals = { "aws:RequestedRegion" = ["us-east-1", "us-west-2"] } }
    error_message = "Only the app's regions (us-east-1 also signs the global services)."
  }

  assert {
    condition     = one([for s in jsondecode(data.aws_iam_policy_document.boundary.json).Statement : s.Condition if s.Sid == "RolesKeepTheBoundary"]) == { StringNotEquals = { "iam:PermissionsBoundary" = "arn:aws:iam::111122223333:policy/bank-app-deploy-boundary" } }
    error_message = "A role created or changed without this boundary is refused: ${data.aws_iam_policy_document.boundary.json}"
  }

  assert {
    condition     = toset(["NoUsersNoKeys", "AuditStaysOn", "BackupsStay", "TheBoundaryStays"]) == toset([for s in jsondecode(data.aws_iam_policy_document.boundary.json).Statement : s.Sid if s.Effect == "Deny" && s.Sid != "RolesKeepTheBoundary"])
    error_message = "No users or keys, the audit trail and backups stay, and the boundary cannot be changed."
  }

  assert {
    condition = [for s in jsondecode(data.aws_iam_policy_document.deploy_iam.json).Statement : s.Resource if s.Sid != "ReadManagedPolicies"] == [
      "arn:aws:iam::111122223333:role/bank-app-*",
      "arn:aws:iam::111122223333:role/bank-app-*",
    ]
    error_message = "The deploy role manages and passes only the app's roles."
  }
}

run "the_plan_role_reads_the_state_and_no_data" {
  command = plan

  variables {
    state_kms_key_arn = "arn:aws:kms:us-east-1:111122223333:key/state"
  }

  assert {
    condition     = one([for s in jsondecode(data.aws_iam_policy_document.plan_no_data.json).Statement : s.NotResource if s.Sid == "NoObjectButTheState"]) == "arn:aws:s3:::bank-tfstate-prod/app/*"
    error_message = "No S3 object but the app's state."
  }

  assert {
    condition     = alltrue([for a in ["secretsmanager:GetSecretValue", "logs:GetLogEvents", "ssm:GetParameter", "dynamodb:Scan"] : contains(one([for s in jsondecode(data.aws_iam_policy_document.plan_no_data.json).Statement : s.Action if s.Sid == "NoDataReads"]), a)])
    error_message = "No secret value, log line, parameter or table item."
  }

  assert {
    condition     = one([for s in jsondecode(data.aws_iam_policy_document.plan_no_data.json).Statement : s.NotResource if s.Sid == "NoDecryptionButTheState"]) == "arn:aws:kms:us-east-1:111122223333:key/state"
    error_message = "Decryption only with the state's key."
  }
}
