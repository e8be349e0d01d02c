output "session_log_group_name" {
  description = "Where every Session Manager session of this region is logged (terraform/jenkins's session_log_group_name)."
  value       = aws_cloudwatch_log_group.sessions.name
}

output "ebs_encryption_by_default" {
  description = "Whether new EBS volumes of this region are encrypted whatever a launch asks."
  value       = aws_ebs_encryption_by_default.this.enabled
}
