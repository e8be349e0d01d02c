output "cluster_arn" {
  description = "ARN of the ECS cluster the watch service runs in."
  value       = module.ecs.cluster_arn
}

output "service_name" {
  description = "Name of the ECS service running `provisioner watch`."
  value       = aws_ecs_service.watch.name
}

output "task_role_arn" {
  description = "ARN of the task role: the provisioner's policy and nothing else."
  value       = module.ecs.task_role_arn
}

output "execution_role_arn" {
  description = "ARN of the execution role: pulls the image, writes the log, reads the token secret."
  value       = module.ecs.execution_role_arn
}

output "log_group_name" {
  description = "CloudWatch log group of the watch task (one JSON line per pool change)."
  value       = module.ecs.log_group_name
}

output "security_group_id" {
  description = "Security group of the watch task."
  value       = aws_security_group.watch.id
}

output "task_role_policy_arns" {
  description = "Every policy attached to the task role (the provisioner's, alone): for review and tests."
  value       = [aws_iam_role_policy_attachment.task_provisioner.policy_arn]
}

output "container" {
  description = "The watch container's definition as given to ECS (its secrets are references, never values)."
  value       = local.watch_container
}

output "egress_ports" {
  description = "The task's egress rules as protocol/port (tcp/443 only)."
  value       = distinct([for r in concat([aws_vpc_security_group_egress_rule.jenkins, aws_vpc_security_group_egress_rule.endpoints], values(aws_vpc_security_group_egress_rule.gateways)) : "${r.ip_protocol}/${r.from_port}-${r.to_port}"])
}
