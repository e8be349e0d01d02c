variable "name" {
  type        = string
  description = "The app the roles deploy (terraform/app's `name`): the roles are <name>-deploy and <name>-plan, and the deploy role manages only roles named <name>-*."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,12}[a-z0-9]$", var.name))
    error_message = "name must be 3-14 lower-case letters, digits and hyphens (terraform/app's name)."
  }
}

variable "trusted_role_arns" {
  type        = list(string)
  description = "Roles that may assume the deploy and plan roles: the Jenkins controller's instance role (the AWS Credentials plugin assumes from it)."

  validation {
    condition     = length(var.trusted_role_arns) >= 1 && alltrue([for a in var.trusted_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]+:role/", a))])
    error_message = "trusted_role_arns must list at least one IAM role ARN."
  }
}

variable "regions" {
  type        = list(string)
  description = "Regions the app runs in; the boundary refuses every other one."

  validation {
    condition     = length(var.regions) >= 1 && alltrue([for r in var.regions : can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", r))])
    error_message = "regions must list AWS region names such as us-east-1."
  }
}

variable "global_services_region" {
  type        = string
  description = "Region that requests to global services (IAM, Route 53, STS's global endpoint) are signed for; the boundary allows it besides `regions`."
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.global_services_region))
    error_message = "global_services_region must be an AWS region name such as us-east-1."
  }
}

variable "state_bucket" {
  type        = string
  description = "S3 bucket of terraform/app's state (its -backend-config bucket); the plan role reads the state there and no other object."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.state_bucket))
    error_message = "state_bucket must be an S3 bucket name."
  }
}

variable "state_key_prefix" {
  type        = string
  description = "Prefix of the state objects' keys in state_bucket (e.g. \"app/\" for app/us-east-1.tfstate)."
  default     = "app/"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()/-]*$", var.state_key_prefix)) && !startswith(var.state_key_prefix, "/")
    error_message = "state_key_prefix must be an S3 key prefix not starting with /."
  }
}

variable "state_kms_key_arn" {
  type        = string
  description = "KMS key that encrypts state_bucket's objects (SSE-KMS), which the plan role may then decrypt with; null when the bucket uses S3-managed keys."
  default     = null

  validation {
    condition     = var.state_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.state_kms_key_arn))
    error_message = "state_kms_key_arn must be a KMS key ARN or null."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags of the roles and the boundary."
  default     = {}
}
