# Plans terraform/modules/ecs-workload offline with the real aws provider: both roles are ECS
# tasks' alone, under the boundary, and the log group is the workload's, under the key.

provider "aws" {
  region                      = "us-east-1"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}

variables {
  name                     = "bank-ci-fleet-watch-in-a-long-name"
  log_kms_key_arn          = "arn:aws:kms:us-east-1:111122223333:key/log-key"
  log_retention_days       = 365
  permissions_boundary_arn = "arn:aws:iam::111122223333:policy/boundary"
}

run "both_roles_are_ecs_tasks_alone_under_the_boundary" {
  command = plan

  assert {
    condition = jsondecode(data.aws_iam_policy_document.ecs_tasks_assume.json).Statement == [{
      Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "ecs-tasks.amazonaws.com" }
    }]
    error_message = "Only ECS tasks assume the roles: ${data.aws_iam_policy_document.ecs_tasks_assume.json}"
  }

  assert {
    condition     = [for r in [aws_iam_role.execution, aws_iam_role.task] : jsondecode(r.assume_role_policy)] == [for r in ["execution", "task"] : jsondecode(data.aws_iam_policy_document.ecs_tasks_assume.json)]
    error_message = "Both roles trust ECS tasks alone."
  }

  assert {
    condition     = output.role_permissions_boundaries == { execution = "arn:aws:iam::111122223333:policy/boundary", task = "arn:aws:iam::111122223333:policy/boundary" }
    error_message = "Both roles carry the boundary."
  }

  assert {
    condition     = [aws_iam_role.execution.name_prefix, aws_iam_role.task.name_prefix] == ["bank-ci-fleet-watch-in-a-exec-", "bank-ci-fleet-watch-in-a-task-"]
    error_message = "A long name is cut to 24 characters so the prefix stays within IAM's 38."
  }

  assert {
    condition     = aws_cloudwatch_log_group.this.name == "/ecs/bank-ci-fleet-watch-in-a-long-name" && output.log_group_kms_key_id == "arn:aws:kms:us-east-1:111122223333:key/log-key" && aws_cloudwatch_log_group.this.retention_in_days == 365
    error_message = "The workload's log group, under the key."
  }

  assert {
    condition     = aws_ecs_cluster.this.name == "bank-ci-fleet-watch-in-a-long-name" && one(aws_ecs_cluster.this.setting).value == "enabled"
    error_message = "The cluster is the workload's, with Container Insights."
  }
}
