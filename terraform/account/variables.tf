variable "region" {
  type        = string
  description = "The region these account settings are for (apply once per region the bank uses)."

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as us-east-1."
  }
}

variable "session_log_group_name" {
  type        = string
  description = "CloudWatch log group of every Session Manager session (the instance roles of terraform/jenkins may write to it)."
  default     = "/aws/ssm/sessions"

  validation {
    condition     = can(regex("^[A-Za-z0-9_./#-]{1,512}$", var.session_log_group_name))
    error_message = "session_log_group_name must be a CloudWatch log group name."
  }
}

variable "session_log_retention_days" {
  type        = number
  description = "Days CloudWatch keeps session logs."
  default     = 400

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.session_log_retention_days)
    error_message = "session_log_retention_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ... 3653)."
  }
}

variable "idle_session_timeout_minutes" {
  type        = number
  description = "An idle session ends after this many minutes."
  default     = 20

  validation {
    condition     = var.idle_session_timeout_minutes >= 1 && var.idle_session_timeout_minutes <= 60
    error_message = "idle_session_timeout_minutes must be between 1 and 60."
  }
}

variable "max_session_duration_minutes" {
  type        = number
  description = "A session ends after this many minutes, idle or not."
  default     = 240

  validation {
    condition     = var.max_session_duration_minutes >= 1 && var.max_session_duration_minutes <= 1440
    error_message = "max_session_duration_minutes must be between 1 and 1440."
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
