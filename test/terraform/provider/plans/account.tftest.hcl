# Plans terraform/account offline with the real aws provider: the account's settings that no
# workload may switch off, EBS encryption by default and Session Manager's logging.

provider "aws" {
  region                      = "us-east-1"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}

override_data {
  target = module.log_key.data.aws_caller_identity.current
  values = { account_id = "111122223333" }
}

variables {
  region = "us-east-1"
}

run "every_volume_is_encrypted_and_every_session_logged_encrypted" {
  command = plan

  assert {
    condition     = aws_ebs_encryption_by_default.this.enabled
    error_message = "EBS encryption by default is on."
  }

  assert {
    condition     = aws_ssm_document.session_preferences.name == "SSM-SessionManagerRunShell" && aws_ssm_document.session_preferences.document_type == "Session"
    error_message = "The account's Session Manager preferences document, by its reserved name."
  }

  assert {
    condition     = jsondecode(aws_ssm_document.session_preferences.content).inputs.cloudWatchLogGroupName == "/aws/ssm/sessions" && jsondecode(aws_ssm_document.session_preferences.content).inputs.cloudWatchEncryptionEnabled && jsondecode(aws_ssm_document.session_preferences.content).inputs.runAsEnabled == false
    error_message = "Every session is logged to the encrypted group; nobody chooses another OS user."
  }

  assert {
    condition     = aws_cloudwatch_log_group.sessions.retention_in_days == 400
    error_message = "Session logs are kept 400 days."
  }
}
