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
}

variable "tags" {
  type        = map(string)
  description = "Tags for the queue and the rules (beside JenkinsFleet and ManagedBy)."
  default     = {}
}
