variable "fleet" {
  type        = string
  description = "The fleet id (fleet.yaml `fleet:`): it names the agents' SSM parameter path /jenkins-fleet/<fleet>/ and the KMS alias."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}[a-z0-9]$", var.fleet))
    error_message = "fleet must be 2-32 lower-case letters, digits and hyphens, starting with a letter (e.g. bank-ci)."
  }
}

variable "vpc_id" {
  type        = string
  description = "VPC the agents run in; their security group is made there."

  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "vpc_id must look like vpc-0123abcd."
  }
}

variable "kms_deletion_window_days" {
  type        = number
  description = "Days a deleted agent-secrets KMS key can still be recovered."
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be between 7 and 30."
  }
}

variable "session_log_group_name" {
  type        = string
  description = "The account's Session Manager log group (terraform/account): sessions on these instances are logged there, which the instance role must be allowed."
  default     = "/aws/ssm/sessions"

  validation {
    condition     = can(regex("^[A-Za-z0-9_./#-]{1,512}$", var.session_log_group_name))
    error_message = "session_log_group_name must be a CloudWatch log group name."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
