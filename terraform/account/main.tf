# Settings of the whole account in one region, kept apart from the workloads: destroying the CI
# estate or the app must never switch them off for everyone else. Applied once per region the bank
# uses (one state each): EBS encryption by default, and Session Manager's preferences, which log
# every session (the only way in to the controller and the agents) to CloudWatch under a
# customer-managed key.

resource "aws_ebs_encryption_by_default" "this" {
  enabled = true

  lifecycle {
    prevent_destroy = true
  }
}

module "log_key" {
  source = "../modules/kms-key"

  alias           = "account/session-logs"
  description     = "Session Manager session logs"
  cloudwatch_logs = true
}

resource "aws_cloudwatch_log_group" "sessions" {
  name              = var.session_log_group_name
  retention_in_days = var.session_log_retention_days
  kms_key_id        = module.log_key.arn
}

# The account's Session Manager preferences are this document, by its reserved name.
resource "aws_ssm_document" "session_preferences" {
  name            = "SSM-SessionManagerRunShell"
  document_type   = "Session"
  document_format = "JSON"

  content = jsonencode({
    schemaVersion = "1.0"
    description   = "Session Manager preferences: every session logged to CloudWatch, encrypted"
    sessionType   = "Standard_Stream"
    inputs = {
      cloudWatchLogGroupName      = aws_cloudwatch_log_group.sessions.name
      cloudWatchEncryptionEnabled = true
      cloudWatchStreamingEnabled  = true
      s3BucketName                = ""
      s3EncryptionEnabled         = true
      kmsKeyId                    = ""
      runAsEnabled                = false
      runAsDefaultUser            = ""
      idleSessionTimeout          = tostring(var.idle_session_timeout_minutes)
      maxSessionDuration          = tostring(var.max_session_duration_minutes)
      shellProfile = {
        linux   = ""
        windows = ""
      }
    }
  })
}
