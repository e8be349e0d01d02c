# One region of the banking app: an ECS cluster whose Fargate service runs the app in private
# subnets behind an HTTPS load balancer (modules/https-alb: WAF, access logs, HSTS), scaling on
# CPU and on requests per task, logging to CloudWatch under a customer-managed key, and reading
# its credentials and Flask SECRET_KEY from Secrets Manager at task start. It also owns the
# network path to this region's database: the database's security group and subnet group, which
# admit MySQL from the app's tasks only.
#
# What a task runs depends on the region's role. A writer's task starts three containers of the
# app's image in turn: db-users (`python -m bank.db_users`: the app's and the migrator's MySQL users,
# as the master user), migrate (`flask --app bank migrate`: the release's Alembic migrations, as the
# migrator, under the app's database lock), then the app itself (the image's own command), as its
# own DML-only user. A replica's task runs the app alone (reads; its users and schema come by
# replication). A fenced region runs no task and its database admits nobody. Every container
# connects over TLS and verifies the database's certificate against the RDS CA bundle the image
# carries (DB_SSL_CA; app/README.md).

data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.name
  writer    = var.role == "writer"
  fenced    = var.role == "fenced"
}

# --- Load balancer ----------------------------------------------------------------------------

module "load_balancer" {
  source = "../https-alb"

  name                     = var.name
  vpc_id                   = var.vpc_id
  subnet_ids               = var.public_subnet_ids
  internal                 = false
  certificate_arn          = var.certificate_arn
  target_group_name        = "${var.name}-app"
  target_type              = "ip"
  target_port              = var.container_port
  target_security_group_id = aws_security_group.tasks.id
  deletion_protection      = var.deletion_protection
  log_kms_key_arn          = var.log_kms_key_arn

  # Liveness, not readiness: /health/live answers 200 while a gunicorn worker answers, without
  # touching the database. During the 60-120 s of a Multi-AZ database failover the database-deep
  # /health answers 503, or not within this check's 5 s while connections to the old endpoint
  # hang (PyMySQL waits 10 s for a server); replacing every task then would only add a cold start
  # to the outage. Whether the region can serve (the database answers) is the Route 53 health
  # check's question (terraform/app-traffic, /health).
  health_check = {
    path                = "/health/live"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  waf_managed_rule_groups = [
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
  ]
  waf_rate_limit_per_5_minutes = var.waf_rate_limit_per_5_minutes
  max_request_body_bytes       = var.max_request_body_bytes

  tags = var.tags
}

moved {
  from = aws_security_group.alb
  to   = module.load_balancer.aws_security_group.alb
}

moved {
  from = aws_vpc_security_group_ingress_rule.alb_http
  to   = module.load_balancer.aws_vpc_security_group_ingress_rule.world_http[0]
}

moved {
  from = aws_vpc_security_group_ingress_rule.alb_https
  to   = module.load_balancer.aws_vpc_security_group_ingress_rule.world_https[0]
}

moved {
  from = aws_vpc_security_group_egress_rule.alb_to_tasks
  to   = module.load_balancer.aws_vpc_security_group_egress_rule.to_targets
}

moved {
  from = aws_lb.this
  to   = module.load_balancer.aws_lb.this
}

moved {
  from = aws_lb_target_group.app
  to   = module.load_balancer.aws_lb_target_group.this
}

moved {
  from = aws_lb_listener.https
  to   = module.load_balancer.aws_lb_listener.https
}

moved {
  from = aws_lb_listener.http
  to   = module.load_balancer.aws_lb_listener.http[0]
}

# --- Network path of the tasks and the database -----------------------------------------------

resource "aws_security_group" "tasks" {
  name_prefix = "${var.name}-tasks-"
  description = "App tasks: the app port from the load balancer only"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-tasks" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "tasks_from_alb" {
  security_group_id            = aws_security_group.tasks.id
  description                  = "the app's port from the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = var.container_port
  to_port                      = var.container_port
  referenced_security_group_id = module.load_balancer.security_group_id
}

# Image pulls, Secrets Manager and CloudWatch Logs (through the VPC's endpoints or NAT gateways).
resource "aws_vpc_security_group_egress_rule" "tasks_https" {
  security_group_id = aws_security_group.tasks.id
  description       = "HTTPS to AWS APIs and the image registry"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "tasks_to_database" {
  security_group_id            = aws_security_group.tasks.id
  description                  = "MySQL to this region's database only"
  ip_protocol                  = "tcp"
  from_port                    = 3306
  to_port                      = 3306
  referenced_security_group_id = aws_security_group.database.id
}

resource "aws_security_group" "database" {
  name_prefix = "${var.name}-db-"
  description = "${var.name} database: MySQL from the app's tasks only"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-db" })

  lifecycle {
    create_before_destroy = true
  }
}

# Fencing a former writer closes its database to everyone: whatever still runs there cannot write.
resource "aws_vpc_security_group_ingress_rule" "database_from_tasks" {
  count = local.fenced ? 0 : 1

  security_group_id            = aws_security_group.database.id
  description                  = "MySQL from the app's tasks"
  ip_protocol                  = "tcp"
  from_port                    = 3306
  to_port                      = 3306
  referenced_security_group_id = aws_security_group.tasks.id
}

resource "aws_db_subnet_group" "database" {
  name_prefix = "${var.name}-"
  description = "Private subnets of the ${var.name} database"
  subnet_ids  = var.private_subnet_ids

  tags = var.tags
}

# --- Tasks ------------------------------------------------------------------------------------

# The cluster, the log group and the two roles, as every Fargate workload of the estate has them.
module "ecs" {
  source = "../ecs-workload"

  name                       = var.name
  log_kms_key_arn            = var.log_kms_key_arn
  log_retention_days         = var.log_retention_days
  permissions_boundary_arn   = var.permissions_boundary_arn
  execution_role_description = "Starts the ${var.name} app tasks"
  task_role_description      = "The ${var.name} app itself (no AWS permissions)"

  tags = var.tags
}

moved {
  from = aws_ecs_cluster.this
  to   = module.ecs.aws_ecs_cluster.this
}

moved {
  from = aws_cloudwatch_log_group.app
  to   = module.ecs.aws_cloudwatch_log_group.this
}

moved {
  from = aws_iam_role.execution
  to   = module.ecs.aws_iam_role.execution
}

moved {
  from = aws_iam_role.task
  to   = module.ecs.aws_iam_role.task
}

# --- What the execution role may do (modules/ecs-workload makes it with no permission) --------
#
# The execution role is ECS's, at task start: pull the image, write the containers' log, read the
# secrets it injects. Not AmazonECSTaskExecutionRolePolicy: that managed policy allows
# ecr:GetAuthorizationToken, ecr:BatchCheckLayerAvailability, ecr:GetDownloadUrlForLayer,
# ecr:BatchGetImage, logs:CreateLogStream and logs:PutLogEvents on "*" (the ECS developer guide,
# "Amazon ECS task execution IAM role",
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html): any
# image of any repository the account can read, any log group of the account. These tasks need
# one repository at most and one log group. The guide's Fargate cases are the ones here: an image
# from an ECR private repository, the awslogs driver, secrets from Secrets Manager.
# BatchCheckLayerAvailability is left out: it asks whether layers are already in the registry,
# which only a push needs (modules/fleet-watch pulls without it too).

locals {
  # ACCOUNT.dkr.ecr.REGION.amazonaws.com[.cn]/REPOSITORY[:TAG][@DIGEST]: an ECR private image, and the
  # repository its ARN is made of. null for any other registry (docker.io by default: the bank's
  # dockerPush pushes there; public.ecr.aws too), whose public images Fargate pulls with no AWS
  # permission at all. variables.tf refuses a reference to an AWS registry in any other shape.
  ecr_image = try(regex("^(?P<account>[0-9]{12})\\.dkr\\.ecr\\.(?P<region>[a-z0-9-]+)\\.amazonaws\\.com(?:\\.cn)?/(?P<repository>[a-z0-9._/-]+)(?::[A-Za-z0-9._-]+)?(?:@sha256:[0-9a-f]{64})?$", var.container_image), null)
}

# The account is asked only when an ECR image has to be compared with it.
data "aws_caller_identity" "current" {
  count = local.ecr_image == null ? 0 : 1
}

data "aws_iam_policy_document" "pull_and_log" {
  dynamic "statement" {
    for_each = local.ecr_image == null ? [] : [local.ecr_image]

    content {
      # GetAuthorizationToken has no resource type in the ECR actions table (Service Authorization
      # Reference, "Actions, resources, and condition keys for Amazon Elastic Container Registry",
      # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerregistry.html),
      # so IAM accepts it only on "*". It is the registry login and opens no repository by itself:
      # the image's layers still need the statement below.
      sid       = "RegistryLogin"
      actions   = ["ecr:GetAuthorizationToken"]
      resources = ["*"]
    }
  }

  dynamic "statement" {
    for_each = local.ecr_image == null ? [] : [local.ecr_image]

    content {
      sid       = "PullTheAppImage"
      actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
      resources = ["arn:${local.partition}:ecr:${statement.value.region}:${statement.value.account}:repository/${statement.value.repository}"]
    }
  }

  # The awslogs driver makes one stream per container and writes to it: in this log group only.
  statement {
    sid       = "WriteItsLog"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${module.ecs.log_group_arn}:*"]
  }
}

resource "aws_iam_role_policy" "execution_pull_and_log" {
  name   = "pull-image-write-log"
  role   = module.ecs.execution_role_name
  policy = data.aws_iam_policy_document.pull_and_log.json

  lifecycle {
    # The standby region must start its tasks while the other region is down, through its own VPC
    # endpoints: its image is in its own region's registry (ECR replication puts it there).
    precondition {
      condition     = local.ecr_image == null || try(local.ecr_image.region == local.region && local.ecr_image.account == data.aws_caller_identity.current[0].account_id, false)
      error_message = "container_image ${var.container_image} is in the ECR registry of account ${try(local.ecr_image.account, "")} in ${try(local.ecr_image.region, "")}; the tasks of ${var.name} pull only from their own account's registry in their own region (${local.region}): replicate the repository here and name this region's copy."
    }
  }
}

locals {
  # "<secret arn>:<json key>::" selects one key of a JSON secret.
  shared = {
    app_user          = "${var.db_app_secret_arn}:username::"
    app_password      = "${var.db_app_secret_arn}:password::"
    migrator_user     = "${var.db_migrator_secret_arn}:username::"
    migrator_password = "${var.db_migrator_secret_arn}:password::"
    secret_key        = var.secret_key_arn
  }

  read_secrets = compact([var.db_app_secret_arn, var.db_migrator_secret_arn, var.secret_key_arn, local.writer ? var.master_user_secret_arn : null])
}

data "aws_iam_policy_document" "read_secrets" {
  statement {
    actions   = ["secretsmanager:GetSecretValue"]
    resources = local.read_secrets
  }

  statement {
    actions   = ["kms:Decrypt"]
    resources = compact([var.shared_secrets_kms_key_arn, local.writer ? var.master_user_secret_kms_key_arn : null])

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "execution_secrets" {
  name   = "read-app-secrets"
  role   = module.ecs.execution_role_name
  policy = data.aws_iam_policy_document.read_secrets.json
}

# The task role (module.ecs.task_role_arn) is the app's own identity: it calls no AWS API, so it is
# given no permission.

locals {
  # The database requires TLS (modules/database); every container verifies its certificate and name.
  database_environment = [
    { name = "DB_HOST", value = var.db_host },
    { name = "DB_PORT", value = "3306" },
    { name = "DB_NAME", value = var.db_name },
    { name = "DB_SSL_CA", value = var.db_ssl_ca },
  ]

  logs = {
    logDriver = "awslogs"
    options = {
      awslogs-group         = module.ecs.log_group_name
      awslogs-region        = local.region
      awslogs-stream-prefix = "app"
    }
  }

  # The app: the image's own command (gunicorn), as the DML-only user. It does not migrate: in a
  # writer's task the migrate container has done it, under the lock, before the app starts.
  app_container = {
    name      = "app"
    image     = var.container_image
    essential = true

    portMappings = [{ containerPort = var.container_port, protocol = "tcp" }]

    environment = concat(local.database_environment, [
      # Where gunicorn listens: the port the load balancer and the security group send to.
      { name = "BANK_BIND", value = "0.0.0.0:${var.container_port}" },
      # gunicorn takes the scheme (X-Forwarded-Proto) only from the load balancer's subnets.
      { name = "FORWARDED_ALLOW_IPS", value = join(",", var.public_subnet_cidr_blocks) },
      # The client's address is the one the load balancer appended to X-Forwarded-For: without this
      # every client looks like the load balancer to the login limits and session binding.
      { name = "BANK_PROXY_HOPS", value = "1" },
      { name = "BANK_MIGRATE_ON_START", value = "0" },
      # The secrets' current versions: a rotation changes the task definition, which rolls the tasks.
      { name = "DB_CREDENTIALS_VERSION", value = var.credentials_version },
    ])

    secrets = [
      { name = "DB_USER", valueFrom = local.shared.app_user },
      { name = "DB_PASSWORD", valueFrom = local.shared.app_password },
      { name = "SECRET_KEY", valueFrom = local.shared.secret_key },
    ]

    dependsOn = [for c in ["migrate"] : { containerName = c, condition = "SUCCESS" } if local.writer]

    logConfiguration = local.logs
    linuxParameters  = { initProcessEnabled = true }
  }

  # The release's migrations, once per task start under the app's database lock (the first task
  # migrates, the others find nothing to do), as the migrator.
  migrate_container = {
    name      = "migrate"
    image     = var.container_image
    essential = false
    command   = var.migrate_command

    environment = local.database_environment
    secrets = [
      { name = "DB_USER", valueFrom = local.shared.migrator_user },
      { name = "DB_PASSWORD", valueFrom = local.shared.migrator_password },
      { name = "SECRET_KEY", valueFrom = local.shared.secret_key },
    ]

    dependsOn        = [{ containerName = "db-users", condition = "SUCCESS" }]
    logConfiguration = merge(local.logs, { options = merge(local.logs.options, { awslogs-stream-prefix = "migrate" }) })
  }

  # The app's and the migrator's MySQL users, as the master user (app/bank/db_users.py).
  db_users_container = {
    name      = "db-users"
    image     = var.container_image
    essential = false
    command   = var.db_users_command

    environment = concat(local.database_environment, [
      { name = "DB_CREDENTIALS_VERSION", value = var.credentials_version },
    ])
    secrets = [for name, from in {
      MASTER_USERNAME      = "${coalesce(var.master_user_secret_arn, "unset")}:username::"
      MASTER_PASSWORD      = "${coalesce(var.master_user_secret_arn, "unset")}:password::"
      APP_DB_USER          = local.shared.app_user
      APP_DB_PASSWORD      = local.shared.app_password
      MIGRATOR_DB_USER     = local.shared.migrator_user
      MIGRATOR_DB_PASSWORD = local.shared.migrator_password
    } : { name = name, valueFrom = from }]

    logConfiguration = merge(local.logs, { options = merge(local.logs.options, { awslogs-stream-prefix = "db-users" }) })
  }

  # The app alone outside a writer.
  containers = slice([local.db_users_container, local.migrate_container, local.app_container], local.writer ? 0 : 2, 3)
}

resource "aws_ecs_task_definition" "app" {
  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.task_cpu
  memory                   = var.task_memory
  execution_role_arn       = module.ecs.execution_role_arn
  task_role_arn            = module.ecs.task_role_arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  container_definitions = jsonencode(local.containers)

  tags = var.tags

  lifecycle {
    precondition {
      condition     = !local.writer || var.master_user_secret_arn != null
      error_message = "A writer's task needs master_user_secret_arn (its database's managed master secret) for the db-users container."
    }
  }
}

resource "aws_ecs_service" "app" {
  name                              = "app"
  cluster                           = module.ecs.cluster_id
  task_definition                   = aws_ecs_task_definition.app.arn
  launch_type                       = "FARGATE"
  platform_version                  = "LATEST"
  desired_count                     = var.min_tasks
  health_check_grace_period_seconds = 60
  propagate_tags                    = "SERVICE"

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = module.load_balancer.target_group_arn
    container_name   = "app"
    container_port   = var.container_port
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  tags = var.tags

  lifecycle {
    # Autoscaling owns the count once the service runs.
    ignore_changes = [desired_count]
  }

  depends_on = [module.load_balancer]
}

# --- Autoscaling ------------------------------------------------------------------------------

resource "aws_appautoscaling_target" "app" {
  service_namespace  = "ecs"
  resource_id        = "service/${module.ecs.cluster_name}/${aws_ecs_service.app.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  # A fenced region runs nothing: scaling to zero stops its tasks and keeps them stopped.
  min_capacity = local.fenced ? 0 : var.min_tasks
  max_capacity = local.fenced ? 0 : var.max_tasks
}

resource "aws_appautoscaling_policy" "cpu" {
  name               = "${var.name}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.app.service_namespace
  resource_id        = aws_appautoscaling_target.app.resource_id
  scalable_dimension = aws_appautoscaling_target.app.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.cpu_target_percent
    scale_in_cooldown  = 300
    scale_out_cooldown = 60

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

resource "aws_appautoscaling_policy" "requests" {
  name               = "${var.name}-requests"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.app.service_namespace
  resource_id        = aws_appautoscaling_target.app.resource_id
  scalable_dimension = aws_appautoscaling_target.app.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.requests_per_task
    scale_in_cooldown  = 300
    scale_out_cooldown = 60

    predefined_metric_specification {
      predefined_metric_type = "ALBRequestCountPerTarget"
      resource_label         = "${module.load_balancer.arn_suffix}/${module.load_balancer.target_group_arn_suffix}"
    }
  }
}
