variable "name" {
  type        = string
  description = "Prefix of this region's resources, e.g. \"bank-app-use1\"."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.name))
    error_message = "name must be 3-20 lower-case letters, digits and hyphens (it prefixes 32-character load balancer and target group names)."
  }
}

variable "vpc_id" {
  type        = string
  description = "VPC of this region's app."

  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "vpc_id must look like vpc-0123abcd."
  }
}

variable "public_subnet_ids" {
  type        = list(string)
  description = "Public subnets (two zones) of the load balancer."

  validation {
    condition     = length(var.public_subnet_ids) >= 2 && alltrue([for s in var.public_subnet_ids : can(regex("^subnet-[0-9a-f]+$", s))])
    error_message = "public_subnet_ids must list at least two subnet ids."
  }
}

variable "public_subnet_cidr_blocks" {
  type        = list(string)
  description = "IPv4 ranges of the public subnets, where the load balancer's nodes live: gunicorn trusts forwarded headers from them only (FORWARDED_ALLOW_IPS)."

  validation {
    condition     = length(var.public_subnet_cidr_blocks) >= 1 && alltrue([for c in var.public_subnet_cidr_blocks : can(cidrhost(c, 0))])
    error_message = "public_subnet_cidr_blocks must list IPv4 CIDR blocks such as 10.50.0.0/20."
  }
}

variable "private_subnet_ids" {
  type        = list(string)
  description = "Private subnets (two zones) of the Fargate tasks."

  validation {
    condition     = length(var.private_subnet_ids) >= 2 && alltrue([for s in var.private_subnet_ids : can(regex("^subnet-[0-9a-f]+$", s))])
    error_message = "private_subnet_ids must list at least two subnet ids."
  }
}

variable "certificate_arn" {
  type        = string
  description = "ACM certificate in this region for the app's domain name, presented by the load balancer."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]+:certificate/", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN."
  }
}

variable "container_image" {
  type        = string
  description = "The app's image, by tag or digest (what the pipeline's dockerPush pushed), e.g. docker.io/bankco/banking-app@sha256:... (a public image: Fargate pulls it with no AWS permission), or ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY:TAG in this account and region (the execution role may pull that one repository)."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9./_-]*(:[A-Za-z0-9._-]+)?(@sha256:[0-9a-f]{64})?$", var.container_image))
    error_message = "container_image must be an image reference such as registry/repo:tag or registry/repo@sha256:<64 hex>."
  }

  # The execution role's ECR pull is granted on the repository read off this reference (main.tf,
  # local.ecr_image): an AWS registry named any other way would leave the tasks unable to pull.
  validation {
    condition     = !can(regex("^[^/]*\\.(amazonaws\\.com|amazonaws\\.com\\.cn|on\\.aws)/", var.container_image)) || can(regex("^[0-9]{12}\\.dkr\\.ecr\\.[a-z0-9-]+\\.amazonaws\\.com(\\.cn)?/[a-z0-9._/-]+(:[A-Za-z0-9._-]+)?(@sha256:[0-9a-f]{64})?$", var.container_image))
    error_message = "container_image names an AWS registry but not as ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY:TAG (or @sha256:<64 hex>), the one form whose repository the execution role can be allowed to pull (a 12-digit account, no FIPS or dual-stack host)."
  }
}

variable "container_port" {
  type        = number
  description = "Port gunicorn listens on inside the container."
  default     = 8000

  validation {
    condition     = var.container_port > 1024 && var.container_port < 65536
    error_message = "container_port must be an unprivileged port (1025-65535)."
  }
}

variable "task_cpu" {
  type        = number
  description = "Fargate CPU units of one task (256 = 0.25 vCPU)."
  default     = 512

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.task_cpu)
    error_message = "task_cpu must be one of Fargate's sizes: 256, 512, 1024, 2048, 4096, 8192, 16384."
  }
}

variable "task_memory" {
  type        = number
  description = "Memory of one task in MiB; must be a combination Fargate accepts for task_cpu."
  default     = 1024

  validation {
    condition     = var.task_memory >= 512 && var.task_memory <= 122880
    error_message = "task_memory must be between 512 and 122880 MiB."
  }
}

variable "min_tasks" {
  type        = number
  description = "Fewest running tasks (also the service's starting count)."
  default     = 2

  validation {
    condition     = var.min_tasks >= 1
    error_message = "min_tasks must be at least 1."
  }
}

variable "max_tasks" {
  type        = number
  description = "Most running tasks autoscaling may reach."
  default     = 10

  validation {
    condition     = var.max_tasks >= 1 && var.max_tasks <= 1000
    error_message = "max_tasks must be between 1 and 1000."
  }
}

variable "cpu_target_percent" {
  type        = number
  description = "Average CPU utilisation the service scales to keep."
  default     = 60

  validation {
    condition     = var.cpu_target_percent >= 10 && var.cpu_target_percent <= 90
    error_message = "cpu_target_percent must be between 10 and 90."
  }
}

variable "requests_per_task" {
  type        = number
  description = "Load balancer requests per task (per minute) the service scales to keep."
  default     = 500

  validation {
    condition     = var.requests_per_task >= 10
    error_message = "requests_per_task must be at least 10."
  }
}

variable "role" {
  type        = string
  description = "This region's role in the app's topology: writer (migrates and serves), replica (serves reads, standby) or fenced (runs nothing, its database admits nobody)."

  validation {
    condition     = contains(["writer", "replica", "fenced"], var.role)
    error_message = "role must be writer, replica or fenced."
  }
}

variable "db_host" {
  type        = string
  description = "Address of the MySQL database this region's tasks use (the primary, or in the second region the replica, which becomes writable when promoted)."

  validation {
    condition     = length(var.db_host) > 0
    error_message = "db_host must not be empty."
  }
}

variable "db_name" {
  type        = string
  description = "Name of the app's MySQL database."

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9_]{0,63}$", var.db_name))
    error_message = "db_name must be a MySQL identifier (letter, then letters, digits, underscores)."
  }
}

variable "db_app_secret_arn" {
  type        = string
  description = "Secrets Manager secret in this region with JSON {\"username\", \"password\"} of the app's own MySQL user (DML only, never the master user)."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:secretsmanager:", var.db_app_secret_arn))
    error_message = "db_app_secret_arn must be a Secrets Manager secret ARN."
  }
}

variable "db_migrator_secret_arn" {
  type        = string
  description = "Secrets Manager secret in this region with JSON {\"username\", \"password\"} of the MySQL user migrations run as."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:secretsmanager:", var.db_migrator_secret_arn))
    error_message = "db_migrator_secret_arn must be a Secrets Manager secret ARN."
  }
}

variable "secret_key_arn" {
  type        = string
  description = "Secrets Manager secret in this region holding the Flask SECRET_KEY (a plain string)."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:secretsmanager:", var.secret_key_arn))
    error_message = "secret_key_arn must be a Secrets Manager secret ARN."
  }
}

variable "shared_secrets_kms_key_arn" {
  type        = string
  description = "KMS key in this region that encrypts those three secrets (the shared multi-region key's copy here)."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.shared_secrets_kms_key_arn))
    error_message = "shared_secrets_kms_key_arn must be a KMS key ARN."
  }
}

variable "master_user_secret_arn" {
  type        = string
  description = "The secret RDS manages for this region's database master user; a writer's db-users container logs in with it. Null for a replica or a fenced region."
  default     = null

  validation {
    condition     = var.master_user_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:", var.master_user_secret_arn))
    error_message = "master_user_secret_arn must be a Secrets Manager secret ARN or null."
  }
}

variable "master_user_secret_kms_key_arn" {
  type        = string
  description = "KMS key of the master user's secret (null with master_user_secret_arn)."
  default     = null

  validation {
    condition     = var.master_user_secret_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.master_user_secret_kms_key_arn))
    error_message = "master_user_secret_kms_key_arn must be a KMS key ARN or null."
  }
}

variable "credentials_version" {
  type        = string
  description = "The current versions of the secrets the tasks read, passed to them as DB_CREDENTIALS_VERSION: when a secret is rotated the task definition changes and the tasks roll."

  validation {
    condition     = length(var.credentials_version) > 0
    error_message = "credentials_version must not be empty."
  }
}

variable "db_ssl_ca" {
  type        = string
  description = "Where the app's image keeps the CA bundle that signs the database's certificate (DB_SSL_CA of every container; app/README.md)."
  default     = "/etc/bank/db-ca.pem"

  validation {
    condition     = startswith(var.db_ssl_ca, "/")
    error_message = "db_ssl_ca must be an absolute path inside the app's image, such as /etc/bank/db-ca.pem."
  }
}

variable "db_users_command" {
  type        = list(string)
  description = "The app image's command that makes the app's and the migrator's MySQL users as the master user (app/README.md)."
  default     = ["python", "-m", "bank.db_users"]

  validation {
    condition     = length(var.db_users_command) >= 1
    error_message = "db_users_command must not be empty."
  }
}

variable "migrate_command" {
  type        = list(string)
  description = "The app image's command that runs the release's migrations (app/README.md)."
  default     = ["flask", "--app", "bank", "migrate"]

  validation {
    condition     = length(var.migrate_command) >= 1
    error_message = "migrate_command must not be empty."
  }
}

variable "log_kms_key_arn" {
  type        = string
  description = "Customer-managed KMS key in this region that encrypts the app's and the WAF's log groups."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.log_kms_key_arn))
    error_message = "log_kms_key_arn must be a KMS key ARN."
  }
}

variable "waf_rate_limit_per_5_minutes" {
  type        = number
  description = "Requests one client address may make in any 5 minutes before the WAF blocks it."
  default     = 2000

  validation {
    condition     = var.waf_rate_limit_per_5_minutes >= 100
    error_message = "waf_rate_limit_per_5_minutes must be at least 100."
  }
}

variable "max_request_body_bytes" {
  type        = number
  description = "The WAF refuses requests with a larger body (403) before they reach the app; the app's own limit (MAX_CONTENT_LENGTH) stands behind it."
  default     = 8192

  validation {
    condition     = var.max_request_body_bytes >= 1024 && var.max_request_body_bytes <= 8192
    error_message = "max_request_body_bytes must be between 1024 and 8192 (the load balancer shows WAF at most 8 KiB of a body)."
  }
}

variable "permissions_boundary_arn" {
  type        = string
  description = "Permissions boundary of the tasks' roles (the pipeline roles' boundary, which the deploy role must put on every role it creates)."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]+:policy/", var.permissions_boundary_arn))
    error_message = "permissions_boundary_arn must be an IAM policy ARN."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Days CloudWatch keeps the app's logs."
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ... 3653)."
  }
}

variable "deletion_protection" {
  type        = bool
  description = "Protect the load balancer from deletion (turn off only to tear the region down)."
  default     = true
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
