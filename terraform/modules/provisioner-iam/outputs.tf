output "policy_arn" {
  description = "ARN of the provisioner's managed policy."
  value       = aws_iam_policy.provisioner.arn
}

output "policy_json" {
  description = "The policy document, for review and for IAM policy simulation."
  value       = data.aws_iam_policy_document.provisioner.json
}

output "role_arn" {
  description = "ARN of the role that carries the policy, when trusted_principal_arns is not empty; null otherwise."
  value       = length(aws_iam_role.provisioner) > 0 ? aws_iam_role.provisioner[0].arn : null
}
