# terraform/modules/fleet-watch as it was before modules/ecs-workload (moved.check.ts lays it out
# under before/) is applied with a mocked provider, then today's module is planned on that state:
# its `moved` blocks must carry the cluster, the log group and both roles over as they are.

mock_provider "aws" {
  # The provider still validates the arguments it is given: policies must be JSON objects.
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }

  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
}

variables {
  name                                       = "bank-ci-fleet-watch"
  image                                      = "111122223333.dkr.ecr.us-east-1.amazonaws.com/bank-ci/fleet-watch:2026.11.28"
  token_secret_arn                           = "arn:aws:secretsmanager:us-east-1:111122223333:secret:bank-ci/jenkins-fleet-token-AbCdEf"
  token_kms_key_arn                          = "arn:aws:kms:us-east-1:111122223333:key/token"
  provisioner_policy_arn                     = "arn:aws:iam::111122223333:policy/bank-ci-provisioner"
  region                                     = "us-east-1"
  vpc_id                                     = "vpc-0aaa"
  subnet_ids                                 = ["subnet-0b1", "subnet-0b2"]
  controller_load_balancer_security_group_id = "sg-0alb"
  endpoint_security_group_id                 = "sg-0endpoints"
  gateway_prefix_list_ids                    = { s3 = "pl-63a5400a", dynamodb = "pl-02cd2c6b" }
  log_kms_key_arn                            = "arn:aws:kms:us-east-1:111122223333:key/log-key"
  iam_permissions_boundary_arn               = "arn:aws:iam::111122223333:policy/bank-ci-boundary"
}

run "before" {
  command   = apply
  state_key = "estate"

  module {
    source = "../../../before/terraform/modules/fleet-watch"
  }

  # A role's id is its name in AWS, and its ARN has the shape the task definition checks.
  override_resource {
    target = aws_iam_role.task
    values = { id = "bank-ci-fleet-watch-task-0001", name = "bank-ci-fleet-watch-task-0001", arn = "arn:aws:iam::111122223333:role/bank-ci-fleet-watch-task-0001" }
  }

  override_resource {
    target = aws_iam_role.execution
    values = { id = "bank-ci-fleet-watch-exec-0001", name = "bank-ci-fleet-watch-exec-0001", arn = "arn:aws:iam::111122223333:role/bank-ci-fleet-watch-exec-0001" }
  }
}

run "after" {
  command   = plan
  state_key = "estate"

  assert {
    condition     = [module.ecs.cluster_arn, module.ecs.task_role_arn, module.ecs.execution_role_arn] == [run.before.cluster_arn, run.before.task_role_arn, run.before.execution_role_arn]
    error_message = "The cluster and the roles are the ones the estate has, not new ones."
  }
}
