variable "name" {
  type        = string
  description = "Prefix of the controller's resources, e.g. \"bank-ci-jenkins\"."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,22}[a-z0-9]$", var.name))
    error_message = "name must be 3-24 lower-case letters, digits and hyphens (it prefixes the load balancer's 32-character name)."
  }
}

variable "vpc_id" {
  type        = string
  description = "VPC of the controller and its load balancer."

  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "vpc_id must look like vpc-0123abcd."
  }
}

variable "private_subnet_id" {
  type        = string
  description = "Private subnet of the controller. Its availability zone is also JENKINS_HOME's: an EBS volume cannot leave its zone, so changing this subnet to another zone needs a snapshot restore."

  validation {
    condition     = can(regex("^subnet-[0-9a-f]+$", var.private_subnet_id))
    error_message = "private_subnet_id must look like subnet-0123abcd."
  }
}

variable "load_balancer_subnet_ids" {
  type        = list(string)
  description = "Private subnets (two zones) of the internal load balancer in front of the controller."

  validation {
    condition     = length(var.load_balancer_subnet_ids) >= 2 && alltrue([for s in var.load_balancer_subnet_ids : can(regex("^subnet-[0-9a-f]+$", s))])
    error_message = "load_balancer_subnet_ids must list at least two subnet ids, in different availability zones."
  }
}

variable "allowed_cidrs" {
  type        = list(string)
  description = "The bank's private networks (VPN, offices, peered VPCs) whose people may reach Jenkins on 443."
  default     = []

  validation {
    condition     = alltrue([for c in var.allowed_cidrs : can(cidrhost(c, 0)) && !contains(["0.0.0.0/0", "::/0"], c)])
    error_message = "allowed_cidrs must be CIDR blocks narrower than the whole internet."
  }
}

variable "allowed_security_group_ids" {
  type        = map(string)
  description = "Security groups, by a name for the rule description, whose members may reach Jenkins on 443 (the agents)."
  default     = {}

  validation {
    condition     = alltrue([for id in values(var.allowed_security_group_ids) : can(regex("^sg-[0-9a-f]+$", id))])
    error_message = "allowed_security_group_ids must map names to security group ids (sg-...)."
  }
}

variable "domain_name" {
  type        = string
  description = "Host name users and agents reach Jenkins at, e.g. jenkins.bank.example; the certificate must cover it."

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,}$", var.domain_name))
    error_message = "domain_name must be a lower-case DNS name such as jenkins.bank.example."
  }
}

variable "hosted_zone_id" {
  type        = string
  description = "Route 53 hosted zone that gets the alias record for domain_name; null to manage DNS elsewhere (point domain_name at the load balancer yourself)."
  default     = null

  validation {
    condition     = var.hosted_zone_id == null || can(regex("^Z[A-Z0-9]+$", var.hosted_zone_id))
    error_message = "hosted_zone_id must be a Route 53 zone id (Z...) or null."
  }
}

variable "certificate_arn" {
  type        = string
  description = "ACM certificate (in the controller's region) the load balancer presents for domain_name."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]+:certificate/", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN."
  }
}

variable "instance_type" {
  type        = string
  description = "EC2 instance type of the controller."
  default     = "m7i.large"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", var.instance_type))
    error_message = "instance_type must look like m7i.large."
  }
}

variable "ami_parameter" {
  type        = string
  description = "Public SSM parameter that names the controller's AMI (Amazon Linux 2023: the user data uses dnf)."
  default     = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"

  validation {
    condition     = startswith(var.ami_parameter, "/aws/service/ami-amazon-linux-latest/al2023-")
    error_message = "ami_parameter must be an Amazon Linux 2023 public parameter (/aws/service/ami-amazon-linux-latest/al2023-...)."
  }
}

variable "root_volume_gib" {
  type        = number
  description = "Size of the controller's root volume (system, Java, Jenkins package), GiB."
  default     = 30

  validation {
    condition     = var.root_volume_gib >= 20 && var.root_volume_gib <= 500
    error_message = "root_volume_gib must be between 20 and 500."
  }
}

variable "home_volume_gib" {
  type        = number
  description = "Size of the JENKINS_HOME volume (jobs, builds, plugins), GiB."
  default     = 200

  validation {
    condition     = var.home_volume_gib >= 20 && var.home_volume_gib <= 16384
    error_message = "home_volume_gib must be between 20 and 16384."
  }
}

variable "home_snapshot_retention" {
  type        = number
  description = "How many daily snapshots of JENKINS_HOME to keep."
  default     = 14

  validation {
    condition     = var.home_snapshot_retention >= 1 && var.home_snapshot_retention <= 1000
    error_message = "home_snapshot_retention must be between 1 and 1000."
  }
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key that encrypts the controller's volumes; null uses the account's aws/ebs key."
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN or null."
  }
}

variable "log_kms_key_arn" {
  type        = string
  description = "Customer-managed KMS key that encrypts the controller's and the WAF's log groups."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.log_kms_key_arn))
    error_message = "log_kms_key_arn must be a KMS key ARN."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Days CloudWatch keeps the controller's log."
  default     = 400

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ... 3653)."
  }
}

variable "assumable_role_arns" {
  type        = list(string)
  description = "Roles Jenkins credentials assume from the controller's instance role (the pipeline's deploy and plan roles)."
  default     = []

  validation {
    condition     = alltrue([for a in var.assumable_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]+:role/", a))])
    error_message = "assumable_role_arns must be IAM role ARNs."
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

variable "controller_image" {
  type        = string
  description = "The controller image built from jenkins/Dockerfile (pinned plugins, casc.yaml), by tag or digest, e.g. ACCOUNT.dkr.ecr.REGION.amazonaws.com/bank-ci/jenkins@sha256:... (the instance role may pull that one repository), or a public image elsewhere (no ECR permission)."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9./_-]*(:[A-Za-z0-9._-]+)?(@sha256:[0-9a-f]{64})?$", var.controller_image))
    error_message = "controller_image must be an image reference such as registry/repo:tag or registry/repo@sha256:<64 hex>."
  }

  # The instance role's ECR pull is granted on the repository read off this reference (main.tf,
  # local.controller_ecr_image), and the user data logs docker in only to a registry of this form:
  # an AWS registry named any other way would leave the controller unable to pull its image.
  validation {
    condition     = !can(regex("^[^/]*\\.(amazonaws\\.com|amazonaws\\.com\\.cn|on\\.aws)/", var.controller_image)) || can(regex("^[0-9]{12}\\.dkr\\.ecr\\.[a-z0-9-]+\\.amazonaws\\.com/[a-z0-9._/-]+(:[A-Za-z0-9._-]+)?(@sha256:[0-9a-f]{64})?$", var.controller_image))
    error_message = "controller_image names an AWS registry but not as ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY:TAG (or @sha256:<64 hex>), the one form the controller's user data logs docker in to and whose repository its instance role can be allowed to pull (a 12-digit account; no FIPS, dual-stack or China host)."
  }
}

variable "github_owner" {
  type        = string
  description = "GITHUB_OWNER for casc.yaml: the owner of the repository that holds the app, its Jenkinsfile and the library."

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9-]{0,38}$", var.github_owner))
    error_message = "github_owner must be a GitHub user or organisation name."
  }
}

variable "github_repository" {
  type        = string
  description = "GITHUB_REPOSITORY for casc.yaml: that repository's name."

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,100}$", var.github_repository))
    error_message = "github_repository must be a GitHub repository name."
  }
}
