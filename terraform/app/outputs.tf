output "url" {
  description = "The app's address (Route 53 failover between the two regions)."
  value       = "https://${var.domain_name}/"
}

output "primary_load_balancer_dns_name" {
  description = "Load balancer of the primary region."
  value       = module.app_primary.load_balancer_dns_name
}

output "secondary_load_balancer_dns_name" {
  description = "Load balancer of the secondary region."
  value       = module.app_secondary.load_balancer_dns_name
}

output "db_primary_address" {
  description = "Host name of the writable database (primary region)."
  value       = aws_db_instance.primary.address
}

output "db_replica_identifier" {
  description = "Identifier of the cross-region replica, to promote on regional failover."
  value       = aws_db_instance.replica.identifier
}

output "db_credentials_secret_arn" {
  description = "Secrets Manager secret with the database credentials (primary region; replicated to the secondary)."
  value       = aws_secretsmanager_secret.db.arn
}

output "clusters" {
  description = "ECS cluster and service of each region (for deploys and `aws ecs` commands)."
  value = {
    primary   = { region = var.primary_region, cluster = module.app_primary.cluster_name, service = module.app_primary.service_name, logs = module.app_primary.log_group_name }
    secondary = { region = var.secondary_region, cluster = module.app_secondary.cluster_name, service = module.app_secondary.service_name, logs = module.app_secondary.log_group_name }
  }
}
