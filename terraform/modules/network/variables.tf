variable "name" {
  type        = string
  description = "Prefix of every resource's Name tag, e.g. \"bank-ci\" or \"bank-app-us-east-1\"."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3-32 characters of lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "cidr_block" {
  type        = string
  description = "IPv4 range of the VPC; split into two public and two private subnets (a /20 or larger leaves room for each)."

  validation {
    condition     = can(regex("^\\d+\\.\\d+\\.\\d+\\.\\d+/(1[6-9]|20)$", var.cidr_block)) && can(cidrhost(var.cidr_block, 0))
    error_message = "cidr_block must be an IPv4 CIDR between /16 and /20, e.g. 10.20.0.0/16."
  }
}

variable "nat_gateway_per_az" {
  type        = bool
  description = "One NAT gateway in each availability zone (true: losing a zone does not cut the other zone's private subnets off) or a single shared one (false: cheaper)."
  default     = true
}

variable "flow_log_retention_days" {
  type        = number
  description = "How long CloudWatch keeps the VPC flow logs, in days."
  default     = 90

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_days)
    error_message = "flow_log_retention_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ... 3653)."
  }
}

variable "flow_log_kms_key_arn" {
  type        = string
  description = "KMS key that encrypts the flow log group; null keeps CloudWatch's own encryption."
  default     = null

  validation {
    condition     = var.flow_log_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.flow_log_kms_key_arn))
    error_message = "flow_log_kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID) or null."
  }
}

variable "interface_endpoints" {
  type        = list(string)
  description = "AWS services the workload calls that get an interface endpoint in the private subnets, by their endpoint name (e.g. ssm, logs, secretsmanager, ecr.api)."
  default     = []

  validation {
    condition     = alltrue([for e in var.interface_endpoints : can(regex("^[a-z0-9-]+(\\.[a-z0-9-]+)?$", e))]) && !contains(var.interface_endpoints, "s3")
    error_message = "interface_endpoints must be endpoint service names such as ssm or ecr.api (S3 always has a gateway endpoint)."
  }
}

variable "iam_permissions_boundary_arn" {
  type        = string
  description = "Permissions boundary of the flow-log role; required where the configuration is applied by a role that may only create bounded roles (terraform/app's pipeline)."
  default     = null

  validation {
    condition     = var.iam_permissions_boundary_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]+:policy/", var.iam_permissions_boundary_arn))
    error_message = "iam_permissions_boundary_arn must be an IAM policy ARN or null."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource of the network."
  default     = {}
}
