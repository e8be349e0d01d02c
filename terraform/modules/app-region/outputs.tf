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
  value       = aws_ecs_cluster.this.name
}

output "service_name" {
  description = "Name of the ECS service."
  value       = aws_ecs_service.app.name
}

output "log_group_name" {
  description = "CloudWatch log group of the app's containers."
  value       = aws_cloudwatch_log_group.app.name
}
