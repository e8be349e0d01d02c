output "arn" {
  description = "ARN of the database (a replica in the other region replicates it while this is the writer)."
  value       = aws_db_instance.this.arn
}

output "identifier" {
  description = "Identifier of the database (<name>-g<generation>)."
  value       = aws_db_instance.this.identifier
}

output "address" {
  description = "Host name of the database."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "Port of the database."
  value       = aws_db_instance.this.port
}

output "master_user_secret_arn" {
  description = "The master user's secret that RDS manages (writer only; null for a replica)."
  value       = try(aws_db_instance.this.master_user_secret[0].secret_arn, null)
}

output "replicate_source_db" {
  description = "What the database replicates (null for a writer or a fenced former writer)."
  value       = aws_db_instance.this.replicate_source_db
}

output "backups_replicated_from" {
  description = "The writer whose automated backups are copied into this region (null unless a replica)."
  value       = one(aws_db_instance_automated_backups_replication.from_writer[*].source_db_instance_arn)
}
