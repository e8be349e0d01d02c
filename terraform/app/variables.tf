variable "region" {
  type        = string
  description = "The region this apply is for: one of terraform/app-topology.yaml's regions (its state key should name it, e.g. app/us-east-1.tfstate)."

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as us-east-1."
  }
}

variable "topology" {
  type = object({
    regions = map(object({
      role           = string
      generation     = number
      vpc_cidr_block = string
    }))
    traffic      = string
    secrets_home = string
  })
  description = "The app's regions and roles; null (the default) reads terraform/app-topology.yaml, the committed source of truth the failover runbook edits. Set only to try another topology."
  default     = null

  validation {
    condition     = var.topology == null || try(length(var.topology.regions) >= 1, false)
    error_message = "topology must list the app's regions (or be null to read terraform/app-topology.yaml)."
  }
}

variable "name" {
  type        = string
  description = "Name of the app, prefixing its resources (with the region's code: bank-app-use1-...)."
  default     = "bank-app"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,12}[a-z0-9]$", var.name))
    error_message = "name must be 3-14 lower-case letters, digits and hyphens (region codes are added to it)."
  }
}

variable "certificate_arn" {
  type        = string
  description = "ACM certificate in this region for the app's domain name (ACM certificates are regional: each region's apply gets its own)."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]+:certificate/", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN."
  }
}

variable "container_image" {
  type        = string
  description = "The app's image, preferably by digest (what the pipeline's dockerPush returned): public on docker.io, or in ECR in this account and region (modules/app-region lets the tasks pull that one repository)."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9./_-]*(:[A-Za-z0-9._-]+)?(@sha256:[0-9a-f]{64})?$", var.container_image))
    error_message = "container_image must be an image reference such as registry/repo:tag or registry/repo@sha256:<64 hex>."
  }
}

variable "backup_copy_vault_arn" {
  type        = string
  description = "The bank's locked AWS Backup vault in another account (made by that account, ideally in another region) that the writer's daily recovery points are copied to; it must allow this account to copy into it."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:backup:[a-z0-9-]+:[0-9]{12}:backup-vault:", var.backup_copy_vault_arn))
    error_message = "backup_copy_vault_arn must be an AWS Backup vault ARN (arn:aws:backup:REGION:ACCOUNT:backup-vault:NAME)."
  }
}

variable "min_tasks" {
  type        = number
  description = "Fewest app tasks in this region (a replica's warm standby too)."
  default     = 2

  validation {
    condition     = var.min_tasks >= 1 && var.min_tasks <= 100
    error_message = "min_tasks must be between 1 and 100."
  }
}

variable "max_tasks" {
  type        = number
  description = "Most app tasks in this region."
  default     = 10

  validation {
    condition     = var.max_tasks >= 1 && var.max_tasks <= 1000
    error_message = "max_tasks must be between 1 and 1000."
  }
}

variable "db_instance_class" {
  type        = string
  description = "RDS instance class, the same in both regions so that a promoted replica carries the writer's load."
  default     = "db.m7g.large"

  validation {
    condition     = can(regex("^db\\.[a-z0-9]+\\.[a-z0-9]+$", var.db_instance_class))
    error_message = "db_instance_class must look like db.m7g.large."
  }
}

variable "db_engine_version" {
  type        = string
  description = "MySQL major.minor (or exact) version of the writer; RDS picks the newest minor version of a major.minor."
  default     = "8.4"

  validation {
    condition     = can(regex("^8\\.[0-9]+(\\.[0-9]+)?$", var.db_engine_version))
    error_message = "db_engine_version must be a MySQL 8 version such as 8.4 or 8.0.40."
  }
}

variable "db_allocated_storage_gib" {
  type        = number
  description = "Initial storage of the writer's database, GiB; both grow by themselves up to 10 times this."
  default     = 100

  validation {
    condition     = var.db_allocated_storage_gib >= 20 && var.db_allocated_storage_gib <= 6000
    error_message = "db_allocated_storage_gib must be between 20 and 6000."
  }
}

variable "db_name" {
  type        = string
  description = "Name of the app's database."
  default     = "bank"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9_]{0,63}$", var.db_name))
    error_message = "db_name must be a MySQL identifier."
  }
}

variable "db_master_username" {
  type        = string
  description = "The database's master user (its password is RDS's, rotated by RDS); only the tasks' db-users container logs in as it, the app never."
  default     = "bank_admin"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9_]{0,15}$", var.db_master_username)) && !contains(["admin", "root", "rdsadmin"], lower(var.db_master_username))
    error_message = "db_master_username must be 1-16 letters, digits or underscores, starting with a letter, and not a reserved name (admin, root, rdsadmin)."
  }
}

variable "db_backup_retention_days" {
  type        = number
  description = "Days of automated backups (point-in-time recovery), of their copy in the other region, and of the daily recovery points in the region's vault."
  default     = 14

  validation {
    condition     = var.db_backup_retention_days >= 7 && var.db_backup_retention_days <= 35
    error_message = "db_backup_retention_days must be between 7 and 35."
  }
}

variable "replica_multi_az" {
  type        = bool
  description = "Run the replica in two availability zones too (dearer; a replica becomes Multi-AZ when promoted anyway)."
  default     = false
}

variable "db_free_storage_alarm_gib" {
  type        = number
  description = "Alarm when the database has less free storage than this, GiB."
  default     = 10

  validation {
    condition     = var.db_free_storage_alarm_gib >= 1
    error_message = "db_free_storage_alarm_gib must be at least 1."
  }
}

variable "replica_lag_alarm_seconds" {
  type        = number
  description = "Alarm when the replica is further behind the writer than this (the data a failover would lose)."
  default     = 300

  validation {
    condition     = var.replica_lag_alarm_seconds >= 10
    error_message = "replica_lag_alarm_seconds must be at least 10."
  }
}

variable "alarm_subscriptions" {
  type = list(object({
    protocol = string
    endpoint = string
  }))
  description = "Who the region's alarm topic notifies, e.g. [{ protocol = \"https\", endpoint = \"https://paging.bank.example/aws\" }]."
  default     = []

  validation {
    condition     = alltrue([for s in var.alarm_subscriptions : contains(["email", "https", "sqs", "lambda"], s.protocol) && length(s.endpoint) > 0])
    error_message = "alarm_subscriptions must use the protocols email, https, sqs or lambda, with an endpoint."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource (cost centre, owner)."
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.tags) : !startswith(k, "jenkins-fleet:")])
    error_message = "tags must not use the jenkins-fleet: prefix; the provisioner owns those tag keys."
  }
}
