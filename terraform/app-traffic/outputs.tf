output "url" {
  description = "The app's address."
  value       = "https://${var.domain_name}/"
}

output "traffic_region" {
  description = "The region customers are sent to."
  value       = local.traffic
}

output "record_target" {
  description = "The load balancer the app's record points at."
  value       = aws_route53_record.app.alias[0].name
}

output "watched_regions" {
  description = "The regions Route 53 health checks watch (the live ones)."
  value       = keys(aws_route53_health_check.region)
}
