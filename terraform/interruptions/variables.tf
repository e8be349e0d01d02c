variable "region" {
  type        = string
  description = "The region of the Spot pools whose notices this queue takes (fleet.yaml pools[].region), not terraform/jenkins's own region, which has its queue already."

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as us-west-2."
  }
}

variable "fleet" {
  type        = string
  description = "The fleet id (fleet.yaml `fleet:`), as given to terraform/jenkins: names the queue jenkins-fleet-<fleet>-interruptions, the name terraform/jenkins's spot_regions grants."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}[a-z0-9]$", var.fleet))
    error_message = "fleet must be 2-32 lower-case letters, digits and hyphens, starting with a letter (e.g. bank-ci)."
  }
}

variable "message_retention_seconds" {
  type        = number
  description = "How long a notice stays in the queue if `watch` does not delete it (see terraform/modules/interruption-queue)."
  default     = 3600

  validation {
    condition     = var.message_retention_seconds >= 60 && var.message_retention_seconds <= 1209600 && floor(var.message_retention_seconds) == var.message_retention_seconds
    error_message = "message_retention_seconds must be a whole number of seconds from 60 to 1209600 (14 days)."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags for the queue and the rules (beside JenkinsFleet and ManagedBy)."
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.tags) : !startswith(k, "jenkins-fleet:")])
    error_message = "tags must not use the jenkins-fleet: prefix; the provisioner owns those tag keys."
  }
}
