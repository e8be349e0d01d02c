variable "region" {
  type        = string
  description = "AWS region of the controller and the agents (fleet.yaml `region:`)."
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as us-east-1."
  }
}

variable "fleet" {
  type        = string
  description = "The fleet id (fleet.yaml `fleet:`): it scopes the agents' parameters (/jenkins-fleet/<fleet>/), KMS key and the provisioner's rights."
  default     = "bank-ci"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}[a-z0-9]$", var.fleet))
    error_message = "fleet must be 2-32 lower-case letters, digits and hyphens, starting with a letter (e.g. bank-ci)."
  }
}

variable "vpc_cidr_block" {
  type        = string
  description = "IPv4 range of the CI VPC."
  default     = "10.40.0.0/16"

  validation {
    condition     = can(regex("^\\d+\\.\\d+\\.\\d+\\.\\d+/(1[6-9]|20)$", var.vpc_cidr_block)) && can(cidrhost(var.vpc_cidr_block, 0))
    error_message = "vpc_cidr_block must be an IPv4 CIDR between /16 and /20."
  }
}

variable "controller_domain_name" {
  type        = string
  description = "Host name of Jenkins, e.g. jenkins.bank.example (fleet.yaml controller.url is https://<this>/)."

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,}$", var.controller_domain_name))
    error_message = "controller_domain_name must be a lower-case DNS name such as jenkins.bank.example."
  }
}

variable "controller_certificate_arn" {
  type        = string
  description = "ACM certificate in `region` covering controller_domain_name."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]+:certificate/", var.controller_certificate_arn))
    error_message = "controller_certificate_arn must be an ACM certificate ARN."
  }
}

variable "controller_allowed_cidrs" {
  type        = list(string)
  description = "The bank's private networks (VPN, offices) from which people reach Jenkins; the agents reach it from their security group. The load balancer is internal: nothing on the internet reaches it."
  default     = []

  validation {
    condition     = alltrue([for c in var.controller_allowed_cidrs : can(cidrhost(c, 0)) && !contains(["0.0.0.0/0", "::/0"], c)])
    error_message = "controller_allowed_cidrs must be CIDR blocks narrower than the whole internet, e.g. 10.0.0.0/8."
  }
}

variable "hosted_zone_id" {
  type        = string
  description = "Route 53 zone that gets the controller's alias record; null to manage that DNS record elsewhere."
  default     = null

  validation {
    condition     = var.hosted_zone_id == null || can(regex("^Z[A-Z0-9]+$", var.hosted_zone_id))
    error_message = "hosted_zone_id must be a Route 53 zone id (Z...) or null."
  }
}

variable "controller_image" {
  type        = string
  description = "The controller image built from jenkins/Dockerfile, by tag or digest: in ECR as ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY (the controller's role may pull that one repository), or public in another registry (no ECR permission)."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9./_-]*(:[A-Za-z0-9._-]+)?(@sha256:[0-9a-f]{64})?$", var.controller_image))
    error_message = "controller_image must be an image reference such as registry/repo:tag or registry/repo@sha256:<64 hex>."
  }
}

variable "github_owner" {
  type        = string
  description = "Owner of the GitHub repository with the app, its Jenkinsfile and the library (casc.yaml GITHUB_OWNER)."

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9-]{0,38}$", var.github_owner))
    error_message = "github_owner must be a GitHub user or organisation name."
  }
}

variable "github_repository" {
  type        = string
  description = "That repository's name (casc.yaml GITHUB_REPOSITORY)."
  default     = "jenkins-fleet"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,100}$", var.github_repository))
    error_message = "github_repository must be a GitHub repository name."
  }
}

variable "controller_instance_type" {
  type        = string
  description = "EC2 instance type of the controller."
  default     = "m7i.large"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", var.controller_instance_type))
    error_message = "controller_instance_type must look like m7i.large."
  }
}

variable "controller_home_gib" {
  type        = number
  description = "Size of the JENKINS_HOME volume, GiB."
  default     = 200

  validation {
    condition     = var.controller_home_gib >= 20 && var.controller_home_gib <= 16384
    error_message = "controller_home_gib must be between 20 and 16384."
  }
}

variable "provisioner_principal_arns" {
  type        = list(string)
  description = "Principals that may assume the provisioner's role (e.g. the controller's role for a provisioning job, an operator role); empty makes only the policy."
  default     = []

  validation {
    condition     = alltrue([for p in var.provisioner_principal_arns : can(regex("^arn:aws[a-z-]*:(iam|sts)::[0-9]+:", p))])
    error_message = "provisioner_principal_arns must be IAM or STS principal ARNs."
  }
}

variable "app_name" {
  type        = string
  description = "terraform/app's `name`: the pipeline's roles are <app_name>-deploy and <app_name>-plan, their boundary <app_name>-deploy-boundary."
  default     = "bank-app"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,12}[a-z0-9]$", var.app_name))
    error_message = "app_name must be 3-14 lower-case letters, digits and hyphens (terraform/app's name)."
  }
}

variable "app_regions" {
  type        = list(string)
  description = "Regions terraform/app deploys to; the pipeline roles' boundary refuses any other."
  default     = ["us-east-1", "us-west-2"]

  validation {
    condition     = length(var.app_regions) >= 1 && alltrue([for r in var.app_regions : can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", r))])
    error_message = "app_regions must list AWS region names such as us-east-1."
  }
}

variable "app_state_bucket" {
  type        = string
  description = "S3 bucket of terraform/app's state (its -backend-config bucket): the plan role reads the state there and no other object."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.app_state_bucket))
    error_message = "app_state_bucket must be an S3 bucket name."
  }
}

variable "app_state_key_prefix" {
  type        = string
  description = "Key prefix of terraform/app's state objects in app_state_bucket."
  default     = "app/"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()/-]*$", var.app_state_key_prefix)) && !startswith(var.app_state_key_prefix, "/")
    error_message = "app_state_key_prefix must be an S3 key prefix not starting with /."
  }
}

variable "app_state_kms_key_arn" {
  type        = string
  description = "KMS key of app_state_bucket when it encrypts with SSE-KMS (the plan role may decrypt with it and no other key); null for S3-managed keys."
  default     = null

  validation {
    condition     = var.app_state_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.app_state_kms_key_arn))
    error_message = "app_state_kms_key_arn must be a KMS key ARN or null."
  }
}

variable "session_log_group_name" {
  type        = string
  description = "terraform/account's Session Manager log group in `region`: the agents and the controller may write their sessions' logs to it."
  default     = "/aws/ssm/sessions"

  validation {
    condition     = can(regex("^[A-Za-z0-9_./#-]{1,512}$", var.session_log_group_name))
    error_message = "session_log_group_name must be a CloudWatch log group name."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource (cost centre, owner)."
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.tags) : !startswith(k, "jenkins-fleet:")])
    error_message = "tags must not use the jenkins-fleet: prefix; the provisioner owns those tag keys."
  }
}

variable "lock_table_name" {
  type        = string
  description = "Name of the DynamoDB table of the provisioner's run lock (fleet.yaml lock.table); null for jenkins-fleet-<fleet>-locks."
  default     = null

  validation {
    condition     = var.lock_table_name == null || can(regex("^[A-Za-z0-9_.-]{3,255}$", var.lock_table_name))
    error_message = "lock_table_name must be a DynamoDB table name: 3 to 255 letters, digits, _, - and ., or null."
  }
}

variable "watch_image" {
  type        = string
  description = "ECR image of `provisioner watch` with the fleet file baked in (terraform/README.md, \"provisioner watch on ECS\"); null runs no watch service."
  default     = null

  validation {
    condition     = var.watch_image == null || can(regex("^[0-9]{12}\\.dkr\\.ecr\\.[a-z0-9-]+\\.amazonaws\\.com/[a-z0-9._/-]+(:[A-Za-z0-9._-]+|@sha256:[0-9a-f]{64})$", var.watch_image))
    error_message = "watch_image must be an ECR image with a tag or digest (ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY:TAG), or null."
  }
}

variable "watch_token_secret_arn" {
  type        = string
  description = "Secrets Manager secret holding the Jenkins service account's API token for the watch service (JENKINS_API_TOKEN); required with watch_image."
  default     = null

  validation {
    condition     = var.watch_token_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+$", var.watch_token_secret_arn))
    error_message = "watch_token_secret_arn must be a Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-abcdef)."
  }

  # That it is given whenever watch_image is, is checked by modules/fleet-watch (its token_secret_arn
  # may not be null): a validation here that read var.watch_image would be skipped whenever
  # watch_image itself is wrong, hiding a wrong token ARN in the same run.
}

variable "watch_token_kms_key_arn" {
  type        = string
  description = "Customer managed KMS key the watch token secret is encrypted with; null when it uses aws/secretsmanager."
  default     = null

  validation {
    condition     = var.watch_token_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/", var.watch_token_kms_key_arn))
    error_message = "watch_token_kms_key_arn must be a KMS key ARN, or null."
  }
}

variable "spot_regions" {
  type        = list(string)
  description = "Further regions with Spot pools of the fleet (fleet.yaml pools[].region), each with its interruption queue made by terraform/interruptions there: the provisioner may receive from and delete in those queues too. EC2 sends a Spot instance's notices to EventBridge in the instance's own region, so each region needs its own queue. This root's region has its queue already."
  default     = []

  validation {
    condition     = alltrue([for r in var.spot_regions : can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", r))]) && length(distinct(var.spot_regions)) == length(var.spot_regions)
    error_message = "spot_regions must list AWS region names such as us-west-2, each once."
  }
}
