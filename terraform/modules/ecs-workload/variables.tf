variable "name" {
  type        = string
  description = "Name of the workload: the cluster's, the log group's (/ecs/NAME) and, cut to 24 characters, the roles' name prefix."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}$", var.name))
    error_message = "name must be 2-41 lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "log_kms_key_arn" {
  type        = string
  description = "Customer-managed KMS key the log group is encrypted with."
  nullable    = false

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.log_kms_key_arn))
    error_message = "log_kms_key_arn must be a KMS key ARN."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Days CloudWatch keeps the workload's log."
  nullable    = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ... 3653)."
  }
}

variable "permissions_boundary_arn" {
  type        = string
  description = "Permissions boundary set on both roles; null for none (terraform/app's roles always carry the pipeline's)."
  default     = null

  validation {
    condition     = var.permissions_boundary_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:policy/", var.permissions_boundary_arn))
    error_message = "permissions_boundary_arn must be an IAM policy ARN or null."
  }
}

variable "execution_role_description" {
  type        = string
  description = "Description of the execution role; null for none."
  default     = null
}

variable "task_role_description" {
  type        = string
  description = "Description of the task role; null for none."
  default     = null
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
