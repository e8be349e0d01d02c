output "url" {
  description = "The controller's URL (fleet.yaml controller.url)."
  value       = "https://${var.domain_name}/"
}

output "load_balancer_dns_name" {
  description = "DNS name of the internal load balancer; point domain_name at it when hosted_zone_id is null."
  value       = module.load_balancer.dns_name
}

output "load_balancer_zone_id" {
  description = "Route 53 zone id of the load balancer, for alias records."
  value       = module.load_balancer.zone_id
}

output "instance_id" {
  description = "Instance id of the controller (aws ssm start-session --target ...)."
  value       = aws_instance.controller.id
}

output "security_group_id" {
  description = "Security group of the controller instance."
  value       = aws_security_group.controller.id
}

output "role_arn" {
  description = "IAM role of the controller instance."
  value       = aws_iam_role.controller.arn
}

output "home_volume_id" {
  description = "The JENKINS_HOME EBS volume, which outlives the instance."
  value       = aws_ebs_volume.home.id
}

output "secrets_path" {
  description = "SSM path under which to put casc.yaml's secrets, one SecureString per variable (e.g. <path>/JENKINS_ADMIN_PASSWORD)."
  value       = local.secrets_path
}

output "load_balancer_security_group_id" {
  description = "Security group of the controller's load balancer."
  value       = module.load_balancer.security_group_id
}

output "log_group_name" {
  description = "CloudWatch log group of the controller's container."
  value       = aws_cloudwatch_log_group.controller.name
}

output "load_balancer_internal" {
  description = "Whether the load balancer is internal."
  value       = module.load_balancer.internal
}

output "assumable_role_arns" {
  description = "Roles the controller's instance role may assume (the pipeline's)."
  value       = var.assumable_role_arns
}
