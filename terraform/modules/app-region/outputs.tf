output "load_balancer_dns_name" {
  description = "DNS name of this region's load balancer (the target of the DNS record and health check)."
  value       = module.load_balancer.dns_name
}

output "load_balancer_zone_id" {
  description = "Route 53 zone id of the load balancer, for alias records."
  value       = module.load_balancer.zone_id
}

output "tasks_security_group_id" {
  description = "Security group of the app's tasks."
  value       = aws_security_group.tasks.id
}

output "database_security_group_id" {
  description = "Security group of this region's database: MySQL from the app's tasks only."
  value       = aws_security_group.database.id
}

output "database_subnet_group_name" {
  description = "DB subnet group of this region's database (the private subnets)."
  value       = aws_db_subnet_group.database.name
}

output "cluster_name" {
  description = "Name of the ECS cluster."
  value       = module.ecs.cluster_name
}

output "service_name" {
  description = "Name of the ECS service."
  value       = aws_ecs_service.app.name
}

output "log_group_name" {
  description = "CloudWatch log group of the app's containers."
  value       = module.ecs.log_group_name
}

output "load_balancer_arn_suffix" {
  description = "CloudWatch LoadBalancer dimension of the load balancer."
  value       = module.load_balancer.arn_suffix
}

output "target_group_arn_suffix" {
  description = "CloudWatch TargetGroup dimension of the app's target group."
  value       = module.load_balancer.target_group_arn_suffix
}

output "task_definition_arn" {
  description = "The task definition the service runs."
  value       = aws_ecs_task_definition.app.arn
}

output "container_names" {
  description = "The containers a task starts, in order (db-users, migrate and app in a writer; app alone otherwise)."
  value       = [for c in local.containers : c.name]
}

output "desired_range" {
  description = "min and max tasks autoscaling keeps (0 and 0 in a fenced region)."
  value       = [aws_appautoscaling_target.app.min_capacity, aws_appautoscaling_target.app.max_capacity]
}

output "database_admits_tasks" {
  description = "Whether the database's security group admits the tasks (false once fenced)."
  value       = length(aws_vpc_security_group_ingress_rule.database_from_tasks) == 1
}
