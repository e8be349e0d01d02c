# Plans terraform/modules/kms-key offline with the real aws provider and checks the key policy it
# writes out: the account administers and uses the key through IAM, services get grants only for
# AWS resources, and CloudWatch Logs and alarms get exactly their calls, bound to this account.

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
  alias       = "bank-app/logs"
  description = "bank-app: CloudWatch log groups"
}

run "a_plain_key_is_administered_and_used_only_through_the_accounts_iam" {
  command = plan

  assert {
    condition     = [for s in jsondecode(data.aws_iam_policy_document.key.json).Statement : s.Sid] == ["AccountAdministersTheKey", "AccountUsesTheKeyThroughIam", "AwsServicesGrantThemselvesUse"]
    error_message = "Three statements, none for a service: ${data.aws_iam_policy_document.key.json}"
  }

  assert {
    condition     = alltrue([for s in jsondecode(data.aws_iam_policy_document.key.json).Statement : s.Principal == { AWS = "arn:aws:iam::111122223333:root" }])
    error_message = "Only the account itself is named."
  }

  assert {
    condition     = one([for s in jsondecode(data.aws_iam_policy_document.key.json).Statement : s.Condition if s.Sid == "AwsServicesGrantThemselvesUse"]) == { Bool = { "kms:GrantIsForAWSResource" = "true" } }
    error_message = "Grants only for AWS resources (RDS, Secrets Manager, EBS, Backup)."
  }

  assert {
    condition     = aws_kms_key.this.enable_key_rotation && aws_kms_key.this.deletion_window_in_days == 30 && aws_kms_alias.this.name == "alias/bank-app/logs"
    error_message = "Rotated yearly, 30 days to cancel a deletion, reachable by its alias."
  }
}

run "a_log_and_alarm_key_lets_cloudwatch_use_it_for_this_account_only" {
  command = plan

  variables {
    cloudwatch_logs   = true
    cloudwatch_alarms = true
  }

  assert {
    condition = [for s in jsondecode(data.aws_iam_policy_document.key.json).Statement : [s.Principal, s.Condition] if startswith(s.Sid, "CloudWatch")] == [
      [{ Service = "logs.us-east-1.amazonaws.com" }, { ArnLike = { "kms:EncryptionContext:aws:logs:arn" = "arn:aws:logs:us-east-1:111122223333:log-group:*" } }],
      [{ Service = "cloudwatch.amazonaws.com" }, { StringEquals = { "aws:SourceAccount" = "111122223333" } }],
    ]
    error_message = "CloudWatch Logs only for this account's log groups in this region, alarms only from this account: ${data.aws_iam_policy_document.key.json}"
  }
}
