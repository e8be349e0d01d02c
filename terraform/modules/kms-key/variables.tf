variable "alias" {
  type        = string
  description = "Alias of the key without the alias/ prefix, e.g. \"bank-app/logs\"."

  validation {
    condition     = can(regex("^[A-Za-z0-9/_-]{1,200}$", var.alias)) && !startswith(var.alias, "aws/")
    error_message = "alias must be letters, digits, /, _ and -, and must not start with aws/ (reserved)."
  }
}

variable "description" {
  type        = string
  description = "What the key encrypts."

  validation {
    condition     = length(var.description) > 0 && length(var.description) <= 8192
    error_message = "description must not be empty."
  }
}

variable "cloudwatch_logs" {
  type        = bool
  description = "Let CloudWatch Logs in this region encrypt this account's log groups with the key."
  default     = false
}

variable "cloudwatch_alarms" {
  type        = bool
  description = "Let CloudWatch alarms of this account publish to SNS topics encrypted with the key."
  default     = false
}

variable "multi_region" {
  type        = bool
  description = "Make a multi-region primary key (its replicas in other regions share the key material)."
  default     = false
}

variable "deletion_window_days" {
  type        = number
  description = "Days between scheduling the key's deletion and its deletion (during which it can be cancelled)."
  default     = 30

  validation {
    condition     = var.deletion_window_days >= 7 && var.deletion_window_days <= 30
    error_message = "deletion_window_days must be between 7 and 30."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags of the key."
  default     = {}
}
