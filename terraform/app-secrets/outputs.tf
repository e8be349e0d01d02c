output "secret_names" {
  description = "Names of the shared secrets, the same in both regions (terraform/app finds them by name)."
  value       = { for k, s in aws_secretsmanager_secret.shared : k => s.name }
}

output "home_region" {
  description = "Where the secrets are written."
  value       = module.topology.secrets_home
}

output "replica_region" {
  description = "Where Secrets Manager keeps their replicas."
  value       = local.replica_region
}

output "kms_key_alias" {
  description = "Alias of the multi-region key that encrypts them (the same in both regions)."
  value       = module.secrets_key.alias_name
}
