variable "region" {
  type        = string
  description = "Region of the state bucket and the image registries (the CI estate's region)."

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as us-east-1."
  }
}

variable "name" {
  type        = string
  description = "Prefix of what this root makes: the bucket is <name>-tfstate-<account>-<region> unless state_bucket_name is set."
  default     = "bank"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,20}$", var.name))
    error_message = "name must be 1 to 21 lower-case letters, digits or hyphens, starting with a letter or digit."
  }
}

variable "state_bucket_name" {
  type        = string
  description = "The state bucket's name; null: <name>-tfstate-<account id>-<region> (bucket names are global)."
  default     = null

  validation {
    condition     = var.state_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.state_bucket_name))
    error_message = "state_bucket_name must be a valid S3 bucket name (3-63 lower-case letters, digits, dots, hyphens)."
  }
}

variable "state_noncurrent_days" {
  type        = number
  description = "Days an overwritten state version is kept (the newest 100 are kept regardless)."
  default     = 365

  validation {
    condition     = var.state_noncurrent_days >= 30
    error_message = "state_noncurrent_days must be at least 30: old state versions are how a bad apply is undone."
  }
}

variable "repositories" {
  type        = map(string)
  description = "ECR repositories to make, by purpose: the controller's image (jenkins/Dockerfile) in the CI region; {} in the app's other regions, which need only a state bucket."
  default     = { controller = "bank-ci/jenkins" }

  validation {
    condition     = alltrue([for name in values(var.repositories) : can(regex("^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$", name))])
    error_message = "Every name in repositories must be an ECR repository name (lower case, / between parts)."
  }
}

variable "untagged_image_days" {
  type        = number
  description = "Days an untagged image (a layer set no tag points at any more) is kept in the registries."
  default     = 14

  validation {
    condition     = var.untagged_image_days >= 1
    error_message = "untagged_image_days must be at least 1."
  }
}

variable "tags" {
  type        = map(string)
  description = "Extra tags of every resource."
  default     = {}

  validation {
    condition     = alltrue([for key in keys(var.tags) : !startswith(key, "jenkins-fleet:")])
    error_message = "tags must not use the jenkins-fleet: prefix, which only the provisioner sets."
  }
}
