variable "region" {
  type        = string
  description = "Region of the health checks' alarms (Route 53 publishes health-check metrics in us-east-1 only)."
  default     = "us-east-1"

  validation {
    condition     = var.region == "us-east-1"
    error_message = "region must be us-east-1, the only region with Route 53 health-check metrics."
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
  description = "The app's regions and roles; null (the default) reads terraform/app-topology.yaml, the committed source of truth. Set only to try another topology."
  default     = null

  validation {
    condition     = var.topology == null || try(length(var.topology.regions) >= 1, false)
    error_message = "topology must list the app's regions (or be null to read terraform/app-topology.yaml)."
  }
}

variable "name" {
  type        = string
  description = "Name of the app (terraform/app's name)."
  default     = "bank-app"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,12}[a-z0-9]$", var.name))
    error_message = "name must be 3-14 lower-case letters, digits and hyphens."
  }
}

variable "domain_name" {
  type        = string
  description = "Host name customers use, e.g. app.bank.example."

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,}$", var.domain_name))
    error_message = "domain_name must be a lower-case DNS name such as app.bank.example."
  }
}

variable "hosted_zone_id" {
  type        = string
  description = "Route 53 public hosted zone of domain_name."

  validation {
    condition     = can(regex("^Z[A-Z0-9]+$", var.hosted_zone_id))
    error_message = "hosted_zone_id must be a Route 53 zone id (Z...)."
  }
}

variable "load_balancer_dns_names" {
  type        = map(string)
  description = "Each region's load balancer DNS name (terraform/app's load_balancer_dns_name output there), keyed by region."

  validation {
    condition     = alltrue([for name, dns in var.load_balancer_dns_names : can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", name)) && can(regex("\\.elb\\.amazonaws\\.com$", dns))])
    error_message = "load_balancer_dns_names must map region names to load balancer DNS names (...elb.amazonaws.com)."
  }
}

variable "alarm_subscriptions" {
  type = list(object({
    protocol = string
    endpoint = string
  }))
  description = "Who the health alarms notify, e.g. [{ protocol = \"https\", endpoint = \"https://paging.bank.example/aws\" }]."
  default     = []

  validation {
    condition     = alltrue([for s in var.alarm_subscriptions : contains(["email", "https", "sqs", "lambda"], s.protocol) && length(s.endpoint) > 0])
    error_message = "alarm_subscriptions must use the protocols email, https, sqs or lambda, with an endpoint."
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
