variable "name" {
  type        = string
  description = "Prefix of the load balancer's resources, e.g. \"bank-app-use1\" or \"bank-ci-jenkins\"."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,22}[a-z0-9]$", var.name))
    error_message = "name must be 3-24 lower-case letters, digits and hyphens (it prefixes the 32-character load balancer name)."
  }
}

variable "vpc_id" {
  type        = string
  description = "VPC of the load balancer and its targets."

  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "vpc_id must look like vpc-0123abcd."
  }
}

variable "subnet_ids" {
  type        = list(string)
  description = "Subnets (two zones at least) of the load balancer: public ones for an internet-facing load balancer, private ones for an internal one."

  validation {
    condition     = length(var.subnet_ids) >= 2 && alltrue([for s in var.subnet_ids : can(regex("^subnet-[0-9a-f]+$", s))])
    error_message = "subnet_ids must list at least two subnet ids, in different availability zones."
  }
}

variable "internal" {
  type        = bool
  description = "true: an internal load balancer reachable on 443 only from ingress_cidrs and ingress_security_group_ids; false: internet-facing, 443 and 80 (redirected) from anywhere."
}

variable "ingress_cidrs" {
  type        = list(string)
  description = "Private networks (VPN, office, peered VPCs) that may reach an internal load balancer on 443. Ignored when internal is false."
  default     = []

  validation {
    condition     = alltrue([for c in var.ingress_cidrs : can(cidrhost(c, 0)) && !contains(["0.0.0.0/0", "::/0"], c)])
    error_message = "ingress_cidrs must be CIDR blocks narrower than the whole internet."
  }
}

variable "ingress_security_group_ids" {
  type        = map(string)
  description = "Security groups, by a name used in the rule description (e.g. agents), whose members may reach an internal load balancer on 443. Ignored when internal is false."
  default     = {}

  validation {
    condition     = alltrue([for id in values(var.ingress_security_group_ids) : can(regex("^sg-[0-9a-f]+$", id))])
    error_message = "ingress_security_group_ids must map names to security group ids (sg-...)."
  }
}

variable "certificate_arn" {
  type        = string
  description = "ACM certificate (in the load balancer's region) presented on 443."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]+:certificate/", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN."
  }
}

variable "target_group_name" {
  type        = string
  description = "Name of the target group (32 characters at most)."

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9-]{0,30}[A-Za-z0-9]$", var.target_group_name))
    error_message = "target_group_name must be 2-32 letters, digits and hyphens, not starting or ending with a hyphen."
  }
}

variable "target_type" {
  type        = string
  description = "How targets register: ip (Fargate tasks) or instance (EC2)."

  validation {
    condition     = contains(["ip", "instance"], var.target_type)
    error_message = "target_type must be ip or instance."
  }
}

variable "target_port" {
  type        = number
  description = "Port the targets serve plain HTTP on."

  validation {
    condition     = var.target_port > 0 && var.target_port < 65536
    error_message = "target_port must be a TCP port (1-65535)."
  }
}

variable "target_security_group_id" {
  type        = string
  description = "Security group of the targets: the load balancer may open connections to target_port in it, nowhere else."

  validation {
    condition     = can(regex("^sg-[0-9a-f]+$", var.target_security_group_id))
    error_message = "target_security_group_id must look like sg-0123abcd."
  }
}

variable "health_check" {
  type = object({
    path                = string
    matcher             = string
    interval            = number
    timeout             = number
    healthy_threshold   = number
    unhealthy_threshold = number
  })
  description = "The target group's health check: whether a target should get requests (and, for ECS, be kept), not whether everything behind it works."

  validation {
    condition     = startswith(var.health_check.path, "/") && can(regex("^[0-9]{3}(,[0-9]{3})*$", var.health_check.matcher)) && var.health_check.timeout < var.health_check.interval
    error_message = "health_check needs a path starting with /, a matcher of HTTP codes such as \"200\" or \"200,503\", and a timeout shorter than its interval."
  }
}

variable "deregistration_delay_seconds" {
  type        = number
  description = "How long a leaving target keeps finishing its requests."
  default     = 30

  validation {
    condition     = var.deregistration_delay_seconds >= 0 && var.deregistration_delay_seconds <= 3600
    error_message = "deregistration_delay_seconds must be between 0 and 3600."
  }
}

variable "idle_timeout_seconds" {
  type        = number
  description = "Idle connection timeout; keep it above the targets' keep-alive so the load balancer closes idle connections first."
  default     = 60

  validation {
    condition     = var.idle_timeout_seconds >= 1 && var.idle_timeout_seconds <= 4000
    error_message = "idle_timeout_seconds must be between 1 and 4000."
  }
}

variable "hsts_max_age_seconds" {
  type        = number
  description = "max-age of the Strict-Transport-Security header the HTTPS listener adds to every response (includeSubDomains)."
  default     = 31536000

  validation {
    condition     = var.hsts_max_age_seconds >= 86400
    error_message = "hsts_max_age_seconds must be at least one day (86400)."
  }
}

variable "waf_managed_rule_groups" {
  type        = list(string)
  description = "AWS managed WAF rule groups, in evaluation order (e.g. AWSManagedRulesCommonRuleSet)."

  validation {
    condition     = alltrue([for g in var.waf_managed_rule_groups : can(regex("^AWSManagedRules[A-Za-z0-9]+$", g))])
    error_message = "waf_managed_rule_groups must name AWS managed rule groups (AWSManagedRules...)."
  }
}

variable "waf_rate_limit_per_5_minutes" {
  type        = number
  description = "Requests one client address may make in any 5 minutes before WAF blocks it."

  validation {
    condition     = var.waf_rate_limit_per_5_minutes >= 100 && var.waf_rate_limit_per_5_minutes <= 2000000000
    error_message = "waf_rate_limit_per_5_minutes must be between 100 and 2000000000 (WAF's bounds)."
  }
}

variable "max_request_body_bytes" {
  type        = number
  description = "WAF blocks requests whose body is larger (403); null sets no limit. At most 8192: the load balancer shows WAF only the first 8 KiB."
  default     = null

  validation {
    condition     = var.max_request_body_bytes == null || (coalesce(var.max_request_body_bytes, 0) >= 1 && coalesce(var.max_request_body_bytes, 0) <= 8192)
    error_message = "max_request_body_bytes must be between 1 and 8192, or null."
  }
}

variable "access_log_retention_days" {
  type        = number
  description = "Days the access logs stay in their S3 bucket."
  default     = 400

  validation {
    condition     = var.access_log_retention_days >= 1
    error_message = "access_log_retention_days must be at least 1."
  }
}

variable "waf_log_retention_days" {
  type        = number
  description = "Days CloudWatch keeps the WAF log."
  default     = 400

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.waf_log_retention_days)
    error_message = "waf_log_retention_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ... 3653)."
  }
}

variable "log_kms_key_arn" {
  type        = string
  description = "Customer-managed KMS key that encrypts the WAF log group (its key policy must let CloudWatch Logs use it)."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.log_kms_key_arn))
    error_message = "log_kms_key_arn must be a KMS key ARN."
  }
}

variable "deletion_protection" {
  type        = bool
  description = "Protect the load balancer from deletion (turn off only to tear it down)."
  default     = true
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
