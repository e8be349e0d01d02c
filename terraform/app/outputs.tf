output "region" {
  description = "The region this state is for."
  value       = var.region
}

output "role" {
  description = "This region's role in the topology (writer, replica or fenced)."
  value       = local.role
}

output "load_balancer_dns_name" {
  description = "DNS name of this region's load balancer: terraform/app-traffic's load_balancer_dns_names[<region>]."
  value       = module.app.load_balancer_dns_name
}

output "database_arn" {
  description = "ARN of this region's database."
  value       = module.database.arn
}

output "database_identifier" {
  description = "Identifier of this region's database (<name>-<region code>-db-g<generation>)."
  value       = module.database.identifier
}

output "database_replicates" {
  description = "What this region's database replicates (the writer's ARN for a replica; null otherwise)."
  value       = module.database.replicate_source_db
}

output "containers" {
  description = "The containers each task starts, in order."
  value       = module.app.container_names
}

output "task_range" {
  description = "min and max tasks (0 and 0 when fenced)."
  value       = module.app.desired_range
}

output "database_admits_tasks" {
  description = "Whether the database admits the tasks' connections (false once fenced)."
  value       = module.app.database_admits_tasks
}

output "cluster" {
  description = "ECS cluster, service and log group (for aws ecs commands and the logs)."
  value       = { cluster = module.app.cluster_name, service = module.app.service_name, logs = module.app.log_group_name }
}

output "alarm_topic_arn" {
  description = "SNS topic of this region's alarms."
  value       = aws_sns_topic.alarms.arn
}
