variable "name" {
  type        = string
  description = "Prefix of the database's resources, e.g. \"bank-app-use1\"; the database is <name>-g<generation>."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}[a-z0-9]$", var.name))
    error_message = "name must be 3-42 lower-case letters, digits and hyphens."
  }
}

variable "role" {
  type        = string
  description = "The region's role in the topology: writer, replica (of source_arn) or fenced (a former writer after a failover)."

  validation {
    condition     = contains(["writer", "replica", "fenced"], var.role)
    error_message = "role must be writer, replica or fenced."
  }
}

variable "generation" {
  type        = number
  description = "Generation of this region's database; raising it builds a new one (and deletes the old one, with a final snapshot of a former writer)."

  validation {
    condition     = var.generation >= 1 && floor(var.generation) == var.generation
    error_message = "generation must be a whole number of 1 or more."
  }
}

variable "source_arn" {
  type        = string
  description = "ARN of the writer's database, which a replica replicates (and whose automated backups it keeps a copy of); null for a writer or a fenced region."
  default     = null

  validation {
    condition     = var.source_arn == null || can(regex("^arn:aws[a-z-]*:rds:[a-z0-9-]+:[0-9]+:db:", var.source_arn))
    error_message = "source_arn must be an RDS DB instance ARN or null."
  }

}

variable "instance_class" {
  type        = string
  description = "RDS instance class (the same in both regions, so a promoted replica carries the writer's load)."

  validation {
    condition     = can(regex("^db\\.[a-z0-9]+\\.[a-z0-9]+$", var.instance_class))
    error_message = "instance_class must look like db.m7g.large."
  }
}

variable "engine_version" {
  type        = string
  description = "MySQL major.minor (or exact) version of a writer; RDS picks the newest minor version of a major.minor."

  validation {
    condition     = can(regex("^8\\.[0-9]+(\\.[0-9]+)?$", var.engine_version))
    error_message = "engine_version must be a MySQL 8 version such as 8.4 or 8.0.40."
  }
}

variable "allocated_storage_gib" {
  type        = number
  description = "Initial storage of a writer, GiB; every role grows by itself up to 10 times this."

  validation {
    condition     = var.allocated_storage_gib >= 20 && var.allocated_storage_gib <= 6000
    error_message = "allocated_storage_gib must be between 20 and 6000."
  }
}

variable "db_name" {
  type        = string
  description = "Name of the app's database."

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9_]{0,63}$", var.db_name))
    error_message = "db_name must be a MySQL identifier."
  }
}

variable "master_username" {
  type        = string
  description = "The master user, whose password RDS generates, keeps in Secrets Manager and rotates; nothing but the tasks' db-users container logs in as it."

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9_]{0,15}$", var.master_username)) && !contains(["admin", "root", "rdsadmin"], lower(var.master_username))
    error_message = "master_username must be 1-16 letters, digits or underscores, starting with a letter, and not a reserved name (admin, root, rdsadmin)."
  }
}

variable "replica_multi_az" {
  type        = bool
  description = "Run a replica in two availability zones too (a writer always is, a promoted replica becomes one)."
  default     = false
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key of this region that encrypts the storage, Performance Insights, the managed master password, replicated backups and the backup vault."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "log_kms_key_arn" {
  type        = string
  description = "KMS key of the exported logs' log groups."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.log_kms_key_arn))
    error_message = "log_kms_key_arn must be a KMS key ARN."
  }
}

variable "subnet_group_name" {
  type        = string
  description = "DB subnet group (private subnets) from app-region."

  validation {
    condition     = length(var.subnet_group_name) > 0
    error_message = "subnet_group_name must not be empty."
  }
}

variable "security_group_id" {
  type        = string
  description = "The database's security group from app-region (MySQL from the tasks only)."

  validation {
    condition     = can(regex("^sg-[0-9a-f]+$", var.security_group_id))
    error_message = "security_group_id must look like sg-0123abcd."
  }
}

variable "ca_cert_identifier" {
  type        = string
  description = "Certificate authority of the database's server certificate, which clients verify."
  default     = "rds-ca-rsa2048-g1"

  validation {
    condition     = can(regex("^rds-ca-", var.ca_cert_identifier))
    error_message = "ca_cert_identifier must name an RDS certificate authority (rds-ca-...)."
  }
}

variable "backup_retention_days" {
  type        = number
  description = "Days of automated backups (point-in-time recovery), of their copy in the other region, and of the daily recovery points in this region's vault."

  validation {
    condition     = var.backup_retention_days >= 7 && var.backup_retention_days <= 35
    error_message = "backup_retention_days must be between 7 and 35."
  }
}

variable "backup_copy_vault_arn" {
  type        = string
  description = "The bank's locked AWS Backup vault in another account that every recovery point of the writer is copied to (it survives the loss of this account)."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:backup:[a-z0-9-]+:[0-9]{12}:backup-vault:", var.backup_copy_vault_arn))
    error_message = "backup_copy_vault_arn must be an AWS Backup vault ARN."
  }
}

variable "backup_copy_retention_days" {
  type        = number
  description = "Days the copies in the other account's vault are kept (within that vault's lock)."
  default     = 400

  validation {
    condition     = var.backup_copy_retention_days >= 35
    error_message = "backup_copy_retention_days must be at least 35."
  }
}

variable "permissions_boundary_arn" {
  type        = string
  description = "Permissions boundary of the AWS Backup role (the pipeline roles' boundary)."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]+:policy/", var.permissions_boundary_arn))
    error_message = "permissions_boundary_arn must be an IAM policy ARN."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Days CloudWatch keeps the exported audit, error and slow-query logs."
  default     = 400

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ... 3653)."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
