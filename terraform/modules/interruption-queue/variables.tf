variable "fleet" {
  type        = string
  description = "The fleet id (fleet.yaml `fleet:`): names the queue jenkins-fleet-<fleet>-interruptions and its rules jenkins-fleet-<fleet>-spot-warning and -rebalance."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}[a-z0-9]$", var.fleet))
    error_message = "fleet must be 2-32 lower-case letters, digits and hyphens, starting with a letter (e.g. bank-ci)."
  }
}

variable "message_retention_seconds" {
  type        = number
  description = "How long a notice stays in the queue if `watch` does not delete it (SQS allows 60 s to 14 days). A notice is stale two minutes after a warning; an hour rides out a restart of watch."
  default     = 3600

  validation {
    condition     = var.message_retention_seconds >= 60 && var.message_retention_seconds <= 1209600 && floor(var.message_retention_seconds) == var.message_retention_seconds
    error_message = "message_retention_seconds must be a whole number of seconds from 60 to 1209600 (14 days)."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags for the queue and the rules."
  default     = {}
}
