output "load_balancer_dns_name" {
  description = "DNS name of this region's load balancer (the target of the failover records and health check)."
  value       = aws_lb.this.dns_name
}

output "load_balancer_zone_id" {
  description = "Route 53 zone id of the load balancer, for alias records."
  value       = aws_lb.this.zone_id
}

output "tasks_security_group_id" {
  description = "Security group of the app's tasks: the database admits MySQL from it."
  value       = aws_security_group.tasks.id
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
