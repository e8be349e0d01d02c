variable "name" {
  type        = string
  description = "Name of the app, prefixing its resources in both regions."
  default     = "bank-app"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,12}[a-z0-9]$", var.name))
    error_message = "name must be 3-14 lower-case letters, digits and hyphens (regional suffixes are added to it)."
  }
}

variable "primary_region" {
  type        = string
  description = "Region that serves traffic and holds the writable database."
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.primary_region))
    error_message = "primary_region must be an AWS region name such as us-east-1."
  }
}

variable "secondary_region" {
  type        = string
  description = "Standby region: serves traffic when the primary fails its health check, and holds the database's cross-region read replica."
  default     = "us-west-2"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.secondary_region))
    error_message = "secondary_region must be an AWS region name such as us-west-2."
  }
}

variable "primary_vpc_cidr_block" {
  type        = string
  description = "IPv4 range of the primary region's VPC."
  default     = "10.50.0.0/16"

  validation {
    condition     = can(regex("^\\d+\\.\\d+\\.\\d+\\.\\d+/(1[6-9]|20)$", var.primary_vpc_cidr_block)) && can(cidrhost(var.primary_vpc_cidr_block, 0))
    error_message = "primary_vpc_cidr_block must be an IPv4 CIDR between /16 and /20."
  }
}

variable "secondary_vpc_cidr_block" {
  type        = string
  description = "IPv4 range of the secondary region's VPC (distinct from the primary's, should they ever be peered)."
  default     = "10.60.0.0/16"

  validation {
    condition     = can(regex("^\\d+\\.\\d+\\.\\d+\\.\\d+/(1[6-9]|20)$", var.secondary_vpc_cidr_block)) && can(cidrhost(var.secondary_vpc_cidr_block, 0))
    error_message = "secondary_vpc_cidr_block must be an IPv4 CIDR between /16 and /20."
  }
}

variable "domain_name" {
  type        = string
  description = "Host name customers use, e.g. bank.example or app.bank.example; the failover records are made for it."

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,}$", var.domain_name))
    error_message = "domain_name must be a lower-case DNS name such as app.bank.example."
  }
}

variable "hosted_zone_id" {
  type        = string
  description = "Route 53 public hosted zone of domain_name."

  validation {
    condition     = can(regex("^Z[A-Z0-9]+$", var.hosted_zone_id))
    error_message = "hosted_zone_id must be a Route 53 zone id (Z...)."
  }
}

variable "primary_certificate_arn" {
  type        = string
  description = "ACM certificate for domain_name in the primary region."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]+:certificate/", var.primary_certificate_arn))
    error_message = "primary_certificate_arn must be an ACM certificate ARN."
  }
}

variable "secondary_certificate_arn" {
  type        = string
  description = "ACM certificate for domain_name in the secondary region (ACM certificates are regional)."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]+:certificate/", var.secondary_certificate_arn))
    error_message = "secondary_certificate_arn must be an ACM certificate ARN."
  }
}

variable "container_image" {
  type        = string
  description = "The app's image, preferably by digest (what the pipeline's dockerPush returned)."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9./_-]*(:[A-Za-z0-9._-]+)?(@sha256:[0-9a-f]{64})?$", var.container_image))
    error_message = "container_image must be an image reference such as registry/repo:tag or registry/repo@sha256:<64 hex>."
  }
}

variable "min_tasks" {
  type        = number
  description = "Fewest app tasks per region."
  default     = 2

  validation {
    condition     = var.min_tasks >= 1 && var.min_tasks <= 100
    error_message = "min_tasks must be between 1 and 100."
  }
}

variable "max_tasks" {
  type        = number
  description = "Most app tasks per region."
  default     = 10

  validation {
    condition     = var.max_tasks >= 1 && var.max_tasks <= 1000
    error_message = "max_tasks must be between 1 and 1000."
  }
}

variable "db_instance_class" {
  type        = string
  description = "RDS instance class of the primary database and its replica."
  default     = "db.m7g.large"

  validation {
    condition     = can(regex("^db\\.[a-z0-9]+\\.[a-z0-9]+$", var.db_instance_class))
    error_message = "db_instance_class must look like db.m7g.large."
  }
}

variable "db_engine_version" {
  type        = string
  description = "MySQL major (or major.minor) version; RDS picks the newest minor version of a major."
  default     = "8.4"

  validation {
    condition     = can(regex("^8\\.[0-9]+(\\.[0-9]+)?$", var.db_engine_version))
    error_message = "db_engine_version must be a MySQL 8 version such as 8.4 or 8.0.40."
  }
}

variable "db_allocated_storage_gib" {
  type        = number
  description = "Initial storage of the database, GiB (it grows by itself up to 10 times this)."
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

variable "db_username" {
  type        = string
  description = "The database's master user, which the app uses."
  default     = "bank_app"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9_]{0,15}$", var.db_username)) && !contains(["admin", "root", "rdsadmin"], lower(var.db_username))
    error_message = "db_username must be 1-16 letters, digits or underscores, starting with a letter, and not a reserved name (admin, root, rdsadmin)."
  }
}

variable "db_password_version" {
  type        = number
  description = "Generation of the database password. The password is generated once and written only to RDS and Secrets Manager; raise this number to rotate it (both get a new one on the next apply)."
  default     = 1

  validation {
    condition     = var.db_password_version >= 1 && floor(var.db_password_version) == var.db_password_version
    error_message = "db_password_version must be a whole number of 1 or more."
  }
}

variable "db_backup_retention_days" {
  type        = number
  description = "Days of automated backups (point-in-time recovery) of the primary and of the replica."
  default     = 14

  validation {
    condition     = var.db_backup_retention_days >= 7 && var.db_backup_retention_days <= 35
    error_message = "db_backup_retention_days must be between 7 and 35."
  }
}

variable "replica_multi_az" {
  type        = bool
  description = "Run the secondary region's replica in two availability zones too (dearer; keeps the standby highly available once promoted)."
  default     = false
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource in both regions (cost centre, owner)."
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.tags) : !startswith(k, "jenkins-fleet:")])
    error_message = "tags must not use the jenkins-fleet: prefix; the provisioner owns those tag keys."
  }
}
