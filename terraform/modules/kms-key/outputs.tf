output "arn" {
  description = "ARN of the key."
  value       = aws_kms_key.this.arn
}

output "key_id" {
  description = "Id of the key."
  value       = aws_kms_key.this.key_id
}

output "alias_name" {
  description = "The key's alias (alias/...)."
  value       = aws_kms_alias.this.name
}

output "policy" {
  description = "The key policy, for replicas of a multi-region key in other regions."
  value       = data.aws_iam_policy_document.key.json
}
