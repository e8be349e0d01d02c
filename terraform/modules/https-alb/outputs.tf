output "arn" {
  description = "ARN of the load balancer."
  value       = aws_lb.this.arn
}

output "arn_suffix" {
  description = "ARN suffix of the load balancer (CloudWatch's LoadBalancer dimension)."
  value       = aws_lb.this.arn_suffix
}

output "dns_name" {
  description = "DNS name of the load balancer."
  value       = aws_lb.this.dns_name
}

output "zone_id" {
  description = "Route 53 zone id of the load balancer, for alias records."
  value       = aws_lb.this.zone_id
}

output "security_group_id" {
  description = "Security group of the load balancer: the targets admit target_port from it."
  value       = aws_security_group.alb.id
}

output "target_group_arn" {
  description = "ARN of the target group."
  value       = aws_lb_target_group.this.arn
}

output "health_check" {
  description = "The target group's health check as the provider has it (path, matcher, timings)."
  value       = aws_lb_target_group.this.health_check[0]
}

output "target_group_arn_suffix" {
  description = "ARN suffix of the target group (CloudWatch's TargetGroup dimension)."
  value       = aws_lb_target_group.this.arn_suffix
}

output "https_listener_arn" {
  description = "ARN of the HTTPS listener (an ECS service waits for it)."
  value       = aws_lb_listener.https.arn
}

output "web_acl_arn" {
  description = "ARN of the WAF web ACL in front of the load balancer."
  value       = aws_wafv2_web_acl.this.arn
}

output "access_logs_bucket" {
  description = "S3 bucket holding the access logs (under alb/AWSLogs/<account>/)."
  value       = aws_s3_bucket.access_logs.id
}

output "internal" {
  description = "Whether the load balancer is internal."
  value       = aws_lb.this.internal
}
