variable "name" {
  type        = string
  description = "Name prefix of the cluster, service, roles, log group and security group (e.g. bank-ci-fleet-watch)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}$", var.name))
    error_message = "name must be 2-41 lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "image" {
  type        = string
  description = "The watch image in ECR (REGISTRY/REPOSITORY:TAG or @sha256:...): provisioner/Dockerfile built from this repository (its runtime packages and the fleet file at fleet_file), pushed by the operator."

  validation {
    condition     = can(regex("^[0-9]{12}\\.dkr\\.ecr\\.[a-z0-9-]+\\.amazonaws\\.com/[a-z0-9._/-]+(:[A-Za-z0-9._-]+|@sha256:[0-9a-f]{64})$", var.image))
    error_message = "image must be an ECR image with a tag or digest (ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY:TAG)."
  }
}

variable "fleet_file" {
  type        = string
  description = "Path of fleet.yaml inside the image."
  default     = "/opt/jenkins-fleet/fleet.yaml"

  validation {
    condition     = can(regex("^/[A-Za-z0-9._/-]+\\.ya?ml$", var.fleet_file))
    error_message = "fleet_file must be an absolute path to a .yaml file."
  }
}

variable "token_secret_arn" {
  type        = string
  description = "ARN of the Secrets Manager secret holding the Jenkins service account's API token (injected as JENKINS_API_TOKEN by ECS, never in the task definition)."
  nullable    = false

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+$", var.token_secret_arn))
    error_message = "token_secret_arn must be a Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-abcdef)."
  }
}

variable "token_kms_key_arn" {
  type        = string
  description = "ARN of the customer managed key the token secret is encrypted with; null when it uses aws/secretsmanager."
  default     = null

  validation {
    condition     = var.token_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/", var.token_kms_key_arn))
    error_message = "token_kms_key_arn must be a KMS key ARN or null."
  }
}

variable "provisioner_policy_arn" {
  type        = string
  description = "The provisioner's managed policy (terraform/modules/provisioner-iam policy_arn): the task role's only permissions."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:policy/", var.provisioner_policy_arn))
    error_message = "provisioner_policy_arn must be an IAM policy ARN."
  }
}

variable "region" {
  type        = string
  description = "Region of the task (AWS_REGION for the provisioner, and the log driver's)."
}

variable "vpc_id" {
  type        = string
  description = "The CI VPC."
}

variable "subnet_ids" {
  type        = list(string)
  description = "The controller's private subnets: the task runs there, without a public address."
}

variable "controller_load_balancer_security_group_id" {
  type        = string
  description = "Security group of the controller's internal load balancer: the task's only way to Jenkins (HTTPS)."
}

variable "endpoint_security_group_id" {
  type        = string
  description = "Security group of the VPC's interface endpoints (EC2, SSM, logs, ECR, Secrets Manager, STS)."
}

variable "gateway_prefix_list_ids" {
  type        = map(string)
  description = "Prefix lists of the VPC's gateway endpoints the task reaches, by service (s3 for image layers, dynamodb for the run lock)."
}

variable "log_kms_key_arn" {
  type        = string
  description = "KMS key the log group is encrypted with (the estate's log key)."
}

variable "log_retention_days" {
  type        = number
  description = "How long the task's log is kept."
  default     = 365
}

variable "tick" {
  type        = string
  description = "`provisioner watch --tick`."
  default     = "5s"
}

variable "lease" {
  type        = string
  description = "`provisioner watch --lease`: how long the leading task's lease lasts without renewal (a follower takes over this long plus a tick after the leader dies); null for fleet.yaml's lock.expireAfter."
  default     = null

  validation {
    condition     = var.lease == null || can(regex("^[1-9][0-9]*(s|m|h)$", var.lease))
    error_message = "lease must be a duration such as 30s or 2m (10s to 1h, at least three ticks), or null for fleet.yaml's lock.expireAfter."
  }
}

variable "desired_count" {
  type        = number
  description = "How many `provisioner watch` tasks run: one leads through the fleet's lease, the others follow and take over if it dies. 1 leaves the fleet without a watch until ECS has started a new task."
  default     = 2

  validation {
    condition     = var.desired_count >= 1 && var.desired_count <= 3 && floor(var.desired_count) == var.desired_count
    error_message = "desired_count must be 1, 2 or 3 (more followers add DynamoDB reads, not availability)."
  }
}

variable "iam_permissions_boundary_arn" {
  type        = string
  description = "Permissions boundary set on both roles; null for none."
  default     = null
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
