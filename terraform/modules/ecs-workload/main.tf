# What every Fargate workload of the estate has alike, whatever it runs: its ECS cluster (Container
# Insights on), its log group under a customer-managed key, and its two identities, both assumed
# by ECS tasks and both under the caller's permissions boundary: the execution role (ECS's own,
# at task start: pull the image, write the log, read the secrets it injects) and the task role
# (the running containers').
#
# Neither role is granted anything here. What each may do is the caller's decision and stays
# written beside the caller's containers, so that each workload's least privilege can be read (and
# checked, test/terraform/policy.ts) in one place: `provisioner watch` attaches the provisioner's
# policy to its task role, the app's task role has none. The task definition and the service stay
# with the caller too: their containers, scaling and deployment rules mean different things for
# each workload.

resource "aws_ecs_cluster" "this" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  tags = var.tags
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/ecs/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn

  tags = var.tags
}

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

# IAM allows 38 characters of name prefix; the role's own word and the random suffix follow.
resource "aws_iam_role" "execution" {
  name_prefix          = "${substr(var.name, 0, 24)}-exec-"
  description          = var.execution_role_description
  assume_role_policy   = data.aws_iam_policy_document.ecs_tasks_assume.json
  permissions_boundary = var.permissions_boundary_arn

  tags = var.tags
}

resource "aws_iam_role" "task" {
  name_prefix          = "${substr(var.name, 0, 24)}-task-"
  description          = var.task_role_description
  assume_role_policy   = data.aws_iam_policy_document.ecs_tasks_assume.json
  permissions_boundary = var.permissions_boundary_arn

  tags = var.tags
}
