output "role_arn" {
  description = "ARN of the deploy agents' IAM role (the provisioner may pass only this role and review_role_arn)."
  value       = aws_iam_role.agent["deploy"].arn
}

output "instance_profile_name" {
  description = "Instance profile of the deploy agents: fleet.yaml pools[].instanceProfile of every pool but the pull-request one."
  value       = aws_iam_instance_profile.agent["deploy"].name
}

output "instance_profile_arn" {
  description = "ARN of the deploy agents' instance profile."
  value       = aws_iam_instance_profile.agent["deploy"].arn
}

output "security_group_id" {
  description = "The deploy agents' security group (no inbound rule): fleet.yaml pools[].securityGroups of every pool but the pull-request one."
  value       = aws_security_group.agent["deploy"].id
}

output "review_role_arn" {
  description = "ARN of the pull-request agents' IAM role."
  value       = aws_iam_role.agent["review"].arn
}

output "review_instance_profile_name" {
  description = "Instance profile of the pull-request agents: fleet.yaml pools[].instanceProfile of the pool carrying library.pullRequestLabel."
  value       = aws_iam_instance_profile.agent["review"].name
}

output "review_instance_profile_arn" {
  description = "ARN of the pull-request agents' instance profile."
  value       = aws_iam_instance_profile.agent["review"].arn
}

output "review_security_group_id" {
  description = "The pull-request agents' security group (no inbound rule), apart from the deploy agents': fleet.yaml pools[].securityGroups of the pool carrying library.pullRequestLabel."
  value       = aws_security_group.agent["review"].id
}

output "kms_key_arn" {
  description = "ARN of the key that encrypts the fleet's agent secrets."
  value       = module.key.arn
}

output "kms_key_id" {
  description = "Id of the key that encrypts the fleet's agent secrets."
  value       = module.key.key_id
}

output "kms_alias_name" {
  description = "Alias of that key: fleet.yaml secrets.kmsKeyId."
  value       = module.key.alias_name
}

output "parameter_path_arn" {
  description = "ARN pattern of the fleet's parameters (/jenkins-fleet/<fleet>/*)."
  value       = local.parameter_path_arn
}
