# `provisioner watch` as an ECS service (Fargate, two tasks: one leads, one follows) in the
# controller's private subnets.
# The task role carries the provisioner's policy (terraform/modules/provisioner-iam) and nothing
# else; the execution role pulls the image, writes the log and reads the one token secret, which
# ECS injects as JENKINS_API_TOKEN (never in the task definition). fleet.yaml is baked into the
# image: a fleet change is a reviewed commit and a new image tag (see terraform/README.md).

data "aws_partition" "current" {}

locals {
  # ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY[:TAG|@DIGEST] -> the repository's ARN.
  image_parts    = regex("^([0-9]{12})\\.dkr\\.ecr\\.([a-z0-9-]+)\\.amazonaws\\.com/([^:@]+)", var.image)
  repository_arn = "arn:${data.aws_partition.current.partition}:ecr:${local.image_parts[1]}:${local.image_parts[0]}:repository/${local.image_parts[2]}"

  watch_container = {
    name      = "watch"
    image     = var.image
    essential = true
    # node and the CLI by their absolute paths: the image's entry point is not trusted to be ours.
    command = concat([
      "node", "/opt/jenkins-fleet/bin/provisioner.mjs", "--config", var.fleet_file, "watch",
      "--tick", var.tick, "--json",
    ], var.lease == null ? [] : ["--lease", var.lease])
    readonlyRootFilesystem = true
    user                   = "1000:1000"
    environment = [
      { name = "AWS_REGION", value = var.region },
      { name = "NODE_ENV", value = "production" },
    ]
    secrets = [
      { name = "JENKINS_API_TOKEN", valueFrom = var.token_secret_arn },
    ]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = module.ecs.log_group_name
        awslogs-region        = var.region
        awslogs-stream-prefix = "watch"
      }
    }
    # SIGTERM stops the ticks; what was under way is finished by the next task, as after a crash.
    stopTimeout = 30
  }
}

# The cluster, the log group and the two roles, as every Fargate workload of the estate has them.
module "ecs" {
  source = "../ecs-workload"

  name                     = var.name
  log_kms_key_arn          = var.log_kms_key_arn
  log_retention_days       = var.log_retention_days
  permissions_boundary_arn = var.iam_permissions_boundary_arn

  tags = var.tags
}

moved {
  from = aws_ecs_cluster.this
  to   = module.ecs.aws_ecs_cluster.this
}

moved {
  from = aws_cloudwatch_log_group.watch
  to   = module.ecs.aws_cloudwatch_log_group.this
}

moved {
  from = aws_iam_role.task
  to   = module.ecs.aws_iam_role.task
}

moved {
  from = aws_iam_role.execution
  to   = module.ecs.aws_iam_role.execution
}

# --- What the roles may do (modules/ecs-workload makes them with no permission) ------------------

# What `watch` may do in AWS: exactly the provisioner's policy, attached, never copied.
resource "aws_iam_role_policy_attachment" "task_provisioner" {
  role       = module.ecs.task_role_name
  policy_arn = var.provisioner_policy_arn
}

data "aws_iam_policy_document" "execution" {
  # GetAuthorizationToken has no resource-level permission: it only opens the registry login.
  statement {
    sid       = "RegistryLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "PullTheWatchImage"
    actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    resources = [local.repository_arn]
  }

  statement {
    sid       = "WriteItsLog"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${module.ecs.log_group_arn}:*"]
  }

  statement {
    sid       = "ReadTheJenkinsToken"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [var.token_secret_arn]
  }

  dynamic "statement" {
    for_each = var.token_kms_key_arn == null ? [] : [var.token_kms_key_arn]

    content {
      sid       = "DecryptTheJenkinsToken"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${var.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "pull-log-token"
  role   = module.ecs.execution_role_name
  policy = data.aws_iam_policy_document.execution.json
}

# --- Network: HTTPS to Jenkins' internal load balancer, the interface endpoints and the gateway
# endpoints (S3 for image layers, DynamoDB for the run lock); nothing else, no ingress.

resource "aws_security_group" "watch" {
  name_prefix = "${var.name}-"
  description = "${var.name}: provisioner watch task, HTTPS to Jenkins and the VPC endpoints only"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = var.name })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_egress_rule" "jenkins" {
  security_group_id            = aws_security_group.watch.id
  description                  = "Jenkins through its internal load balancer"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = var.controller_load_balancer_security_group_id
}

resource "aws_vpc_security_group_egress_rule" "endpoints" {
  security_group_id            = aws_security_group.watch.id
  description                  = "EC2, SSM, logs, ECR, Secrets Manager, STS through the interface endpoints"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = var.endpoint_security_group_id
}

resource "aws_vpc_security_group_egress_rule" "gateways" {
  for_each = var.gateway_prefix_list_ids

  security_group_id = aws_security_group.watch.id
  description       = "${each.key} through its gateway endpoint"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = each.value
}

# --- The task and its service ---------------------------------------------------------------------

resource "aws_ecs_task_definition" "watch" {
  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  task_role_arn            = module.ecs.task_role_arn
  execution_role_arn       = module.ecs.execution_role_arn
  container_definitions    = jsonencode([local.watch_container])

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  tags = var.tags
}

# Two tasks by default: the one holding the fleet's lease acts, the other follows and takes over
# within the lease time plus one tick if the leader dies, without waiting for ECS to start a new
# one. A deployment starts the new tasks as followers before stopping the old (maximum 200 %); a
# stopped leader lets the lease go and a follower leads at its next tick; two never act at once.
resource "aws_ecs_service" "watch" {
  name                               = var.name
  cluster                            = module.ecs.cluster_id
  task_definition                    = aws_ecs_task_definition.watch.arn
  desired_count                      = var.desired_count
  launch_type                        = "FARGATE"
  deployment_minimum_healthy_percent = var.desired_count > 1 ? 50 : 0
  deployment_maximum_percent         = 200
  enable_execute_command             = false
  propagate_tags                     = "SERVICE"

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [aws_security_group.watch.id]
    assign_public_ip = false
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  tags = var.tags
}
