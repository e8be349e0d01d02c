variable "name" {
  type        = string
  description = "Name of the app (terraform/app's name): the secrets are <name>/db-app, <name>/db-migrator and <name>/secret-key."
  default     = "bank-app"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,12}[a-z0-9]$", var.name))
    error_message = "name must be 3-14 lower-case letters, digits and hyphens."
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
  description = "The app's regions and roles; null reads terraform/app-topology.yaml, the committed source of truth (set only to try another topology)."
  default     = null

  validation {
    condition     = var.topology == null || try(length(var.topology.regions) >= 1, false)
    error_message = "topology must list the app's regions (or be null to read terraform/app-topology.yaml)."
  }
}

variable "db_app_username" {
  type        = string
  description = "MySQL user the app logs in as: SELECT, INSERT, UPDATE and DELETE on the app's database, nothing else."
  default     = "bank_app"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9_]{0,31}$", var.db_app_username)) && !contains(["admin", "root", "rdsadmin"], lower(var.db_app_username))
    error_message = "db_app_username must be 1-32 letters, digits or underscores, starting with a letter, and not a reserved name."
  }
}

variable "db_migrator_username" {
  type        = string
  description = "MySQL user the release's migrations run as: every privilege on the app's database and no other."
  default     = "bank_migrator"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9_]{0,31}$", var.db_migrator_username)) && !contains(["admin", "root", "rdsadmin"], lower(var.db_migrator_username))
    error_message = "db_migrator_username must be 1-32 letters, digits or underscores, starting with a letter, and not a reserved name."
  }
}

variable "db_password_version" {
  type        = number
  description = "Generation of the app's and the migrator's database passwords. Raise it to rotate both: each region's next apply rolls its tasks, whose start sets the new password while keeping the old one valid for the tasks still running (MySQL dual passwords)."
  default     = 1

  validation {
    condition     = var.db_password_version >= 1 && floor(var.db_password_version) == var.db_password_version
    error_message = "db_password_version must be a whole number of 1 or more."
  }
}

variable "secret_key_version" {
  type        = number
  description = "Generation of Flask's SECRET_KEY. Raise it to rotate the key (signs sessions: everyone logs in again once the tasks roll)."
  default     = 1

  validation {
    condition     = var.secret_key_version >= 1 && floor(var.secret_key_version) == var.secret_key_version
    error_message = "secret_key_version must be a whole number of 1 or more."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.tags) : !startswith(k, "jenkins-fleet:")])
    error_message = "tags must not use the jenkins-fleet: prefix; the provisioner owns those tag keys."
  }
}
