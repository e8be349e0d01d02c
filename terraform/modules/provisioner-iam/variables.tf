variable "fleet" {
  type        = string
  description = "The fleet id (fleet.yaml `fleet:`): the value of the jenkins-fleet:fleet tag the provisioner may create and touch."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}[a-z0-9]$", var.fleet))
    error_message = "fleet must be 2-32 lower-case letters, digits and hyphens, starting with a letter (e.g. bank-ci)."
  }
}

variable "regions" {
  type        = list(string)
  description = "Every region the fleet's pools run in (fleet.yaml `region:` and pools[].region): EC2 and SSM calls elsewhere are denied."

  validation {
    condition     = length(var.regions) > 0 && alltrue([for r in var.regions : can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", r))])
    error_message = "regions must list AWS region names such as us-east-1, at least one."
  }
}

variable "ebs_kms_key_arn" {
  type        = string
  description = "ARN of the customer managed KMS key that encrypts the agents' EBS volumes (the account's default EBS key, when it is not aws/ebs); null when volumes use aws/ebs."
  default     = null

  validation {
    condition     = var.ebs_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/", var.ebs_kms_key_arn))
    error_message = "ebs_kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID) or null."
  }
}

variable "agent_role_arn" {
  type        = string
  description = "ARN of the agents' IAM role: the only role the provisioner may pass to EC2."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]+:role/", var.agent_role_arn))
    error_message = "agent_role_arn must be an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)."
  }
}

variable "agent_instance_profile_arn" {
  type        = string
  description = "ARN of the agents' instance profile: the only profile instances may be launched with."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]+:instance-profile/", var.agent_instance_profile_arn))
    error_message = "agent_instance_profile_arn must be an instance profile ARN (arn:aws:iam::ACCOUNT:instance-profile/NAME)."
  }
}

variable "agent_subnet_ids" {
  type        = list(string)
  description = "Subnets the provisioner may launch agents into (fleet.yaml pools[].subnets)."

  validation {
    condition     = length(var.agent_subnet_ids) > 0 && alltrue([for s in var.agent_subnet_ids : can(regex("^subnet-[0-9a-f]+$", s))])
    error_message = "agent_subnet_ids must be a non-empty list of subnet ids (subnet-0123abcd)."
  }
}

variable "agent_security_group_id" {
  type        = string
  description = "The only security group agents may be launched with (fleet.yaml pools[].securityGroups)."

  validation {
    condition     = can(regex("^sg-[0-9a-f]+$", var.agent_security_group_id))
    error_message = "agent_security_group_id must look like sg-0123abcd."
  }
}

variable "review_agent_role_arn" {
  type        = string
  description = "ARN of the pull-request agents' IAM role (agent-iam's review_role_arn), the other role the provisioner may pass; null when the fleet has no pull-request pool of its own."
  default     = null

  validation {
    condition     = var.review_agent_role_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]+:role/", var.review_agent_role_arn))
    error_message = "review_agent_role_arn must be an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME) or null."
  }
}

variable "review_agent_instance_profile_arn" {
  type        = string
  description = "ARN of the pull-request agents' instance profile, the other profile instances may be launched with; null when the fleet has no pull-request pool of its own."
  default     = null

  validation {
    condition     = var.review_agent_instance_profile_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]+:instance-profile/", var.review_agent_instance_profile_arn))
    error_message = "review_agent_instance_profile_arn must be an instance profile ARN (arn:aws:iam::ACCOUNT:instance-profile/NAME) or null."
  }
}

variable "review_agent_security_group_id" {
  type        = string
  description = "The pull-request agents' security group, the other group agents may be launched with; null when the fleet has no pull-request pool of its own."
  default     = null

  validation {
    condition     = var.review_agent_security_group_id == null || can(regex("^sg-[0-9a-f]+$", var.review_agent_security_group_id))
    error_message = "review_agent_security_group_id must look like sg-0123abcd, or be null."
  }
}

variable "kms_key_arn" {
  type        = string
  description = "ARN of the key that encrypts the fleet's agent secrets (fleet.yaml secrets.kmsKeyId); null when they use the account's aws/ssm key."
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN or null."
  }
}

variable "image_owners" {
  type        = list(string)
  description = "Owners whose AMIs agents may boot from (the ec2:Owner condition): \"amazon\" covers the Amazon Linux public parameters; add an account id for your own images."
  default     = ["amazon"]

  validation {
    condition     = length(var.image_owners) > 0 && alltrue([for o in var.image_owners : can(regex("^(amazon|aws-marketplace|[0-9]{12})$", o))])
    error_message = "image_owners must list \"amazon\", \"aws-marketplace\" or 12-digit account ids."
  }
}

variable "trusted_principal_arns" {
  type        = list(string)
  description = "Principals (the Jenkins controller's role, an operator role) allowed to assume a role that carries the policy; empty: only the managed policy is made, for you to attach."
  default     = []

  validation {
    condition     = alltrue([for p in var.trusted_principal_arns : can(regex("^arn:aws[a-z-]*:(iam|sts)::[0-9]+:", p))])
    error_message = "trusted_principal_arns must be IAM or STS principal ARNs."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}

variable "interruption_queue_arns" {
  type        = list(string)
  description = "ARNs of the SQS queues of EC2's interruption notices (terraform/modules/interruption-queue), one per region with Spot pools: `watch` receives and deletes their messages, nothing more. null: no right on any queue."
  default     = null

  validation {
    condition     = var.interruption_queue_arns == null || (try(length(var.interruption_queue_arns), 0) > 0 && alltrue([for arn in coalesce(var.interruption_queue_arns, []) : can(regex("^arn:aws[a-z-]*:sqs:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,80}$", arn))]))
    error_message = "interruption_queue_arns must list SQS queue ARNs (arn:aws:sqs:REGION:ACCOUNT:NAME), at least one, or be null."
  }
}

variable "lock_table_arn" {
  type        = string
  description = "ARN of the DynamoDB table of the run lock (terraform/jenkins creates it): the provisioner reads and writes only its own fleet's item there."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[A-Za-z0-9_.-]{3,255}$", var.lock_table_arn))
    error_message = "lock_table_arn must be a DynamoDB table ARN (arn:aws:dynamodb:REGION:ACCOUNT:table/NAME)."
  }
}
