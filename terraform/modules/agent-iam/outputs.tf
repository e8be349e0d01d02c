output "role_arn" {
  description = "ARN of the agents' IAM role (the provisioner may pass only this role)."
  value       = aws_iam_role.agent.arn
}

output "instance_profile_name" {
  description = "Instance profile of the agents: fleet.yaml pools[].instanceProfile."
  value       = aws_iam_instance_profile.agent.name
}

output "instance_profile_arn" {
  description = "ARN of the agents' instance profile."
  value       = aws_iam_instance_profile.agent.arn
}

output "security_group_id" {
  description = "The agents' security group (no inbound rule): fleet.yaml pools[].securityGroups."
  value       = aws_security_group.agent.id
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
