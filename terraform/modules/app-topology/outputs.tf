output "regions" {
  description = "Every region of the app, with its role, generation and VPC range."
  value       = local.regions
}

output "writer" {
  description = "The one region whose database takes writes."
  value       = local.writer
}

output "traffic" {
  description = "The region customers are sent to (the writer)."
  value       = var.topology.traffic
}

output "secrets_home" {
  description = "The region the shared secrets are written in (replicated to the others)."
  value       = var.topology.secrets_home
}

output "codes" {
  description = "Short code of each region for resource names (the region's letters and digit: use1, apse2)."
  value       = local.codes
}

output "peers" {
  description = "For each region, the other one."
  value       = { for name in keys(local.regions) : name => one([for other in keys(local.regions) : other if other != name]) }
}
