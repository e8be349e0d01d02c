output "cluster_id" {
  description = "ID (ARN) of the ECS cluster, for the caller's service."
  value       = aws_ecs_cluster.this.id
}

output "cluster_arn" {
  description = "ARN of the ECS cluster."
  value       = aws_ecs_cluster.this.arn
}

output "cluster_name" {
  description = "Name of the ECS cluster."
  value       = aws_ecs_cluster.this.name
}

output "log_group_name" {
  description = "Name of the log group (/ecs/NAME), for the containers' awslogs driver."
  value       = aws_cloudwatch_log_group.this.name
}

output "log_group_arn" {
  description = "ARN of the log group, for an execution policy that writes to it alone."
  value       = aws_cloudwatch_log_group.this.arn
}

output "execution_role_arn" {
  description = "ARN of the execution role (no permission until the caller grants one)."
  value       = aws_iam_role.execution.arn
}

output "execution_role_name" {
  description = "Name of the execution role, for the caller's policies and attachments."
  value       = aws_iam_role.execution.name
}

output "task_role_arn" {
  description = "ARN of the task role (no permission until the caller grants one)."
  value       = aws_iam_role.task.arn
}

output "task_role_name" {
  description = "Name of the task role, for the caller's policies and attachments."
  value       = aws_iam_role.task.name
}

output "role_permissions_boundaries" {
  description = "The permissions boundary each role carries, by role (execution, task): for review and tests."
  value       = { execution = aws_iam_role.execution.permissions_boundary, task = aws_iam_role.task.permissions_boundary }
}

output "log_group_kms_key_id" {
  description = "The key the log group is encrypted under: for review and tests."
  value       = aws_cloudwatch_log_group.this.kms_key_id
}
