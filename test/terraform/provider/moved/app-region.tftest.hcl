# terraform/modules/app-region as it was before modules/ecs-workload (moved.check.ts lays it out
# under before/) is applied with a mocked provider, then today's module is planned on that state:
# its `moved` blocks must carry the cluster, the log group and both roles over as they are.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "111122223333" }
  }

  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }

  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }

  # The provider still validates the arguments it is given: policies must be JSON objects.
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }

  # Ids and ARNs in the shapes the modules' input validations check.
  mock_resource "aws_security_group" {
    defaults = { id = "sg-0abc" }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:us-east-1:111122223333:log-group:mock" }
  }

  mock_resource "aws_wafv2_web_acl" {
    defaults = { arn = "arn:aws:wafv2:us-east-1:111122223333:regional/webacl/mock/1" }
  }

  mock_resource "aws_lb" {
    defaults = { arn = "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/mock/1" }
  }

  mock_resource "aws_lb_target_group" {
    defaults = { arn = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/mock/1" }
  }

  mock_resource "aws_lb_listener" {
    defaults = { arn = "arn:aws:elasticloadbalancing:us-east-1:111122223333:listener/app/mock/1/1" }
  }

  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::mock" }
  }
}

variables {
  name                           = "bank-app-pri"
  vpc_id                         = "vpc-0aaa"
  public_subnet_ids              = ["subnet-0a1", "subnet-0a2"]
  public_subnet_cidr_blocks      = ["10.50.0.0/20", "10.50.16.0/20"]
  private_subnet_ids             = ["subnet-0b1", "subnet-0b2"]
  certificate_arn                = "arn:aws:acm:us-east-1:111122223333:certificate/app"
  container_image                = "docker.io/bankco/banking-app:1.0.0"
  db_host                        = "bank-app-primary.example.us-east-1.rds.amazonaws.com"
  db_name                        = "bank"
  role                           = "writer"
  db_app_secret_arn              = "arn:aws:secretsmanager:us-east-1:111122223333:secret:bank-app/db-app-AbCdEf"
  db_migrator_secret_arn         = "arn:aws:secretsmanager:us-east-1:111122223333:secret:bank-app/db-migrator-MnOpQr"
  secret_key_arn                 = "arn:aws:secretsmanager:us-east-1:111122223333:secret:bank-app/secret-key-GhIjKl"
  shared_secrets_kms_key_arn     = "arn:aws:kms:us-east-1:111122223333:key/mrk-shared"
  master_user_secret_arn         = "arn:aws:secretsmanager:us-east-1:111122223333:secret:rds!db-1234"
  master_user_secret_kms_key_arn = "arn:aws:kms:us-east-1:111122223333:key/data"
  credentials_version            = "db-app=v2,db-migrator=v2,secret-key=v1"
  log_kms_key_arn                = "arn:aws:kms:us-east-1:111122223333:key/log-key"
  permissions_boundary_arn       = "arn:aws:iam::111122223333:policy/bank-app-deploy-boundary"
}

run "before" {
  command   = apply
  state_key = "estate"

  module {
    source = "../../../before/terraform/modules/app-region"
  }

  # A role's id is its name in AWS, and its ARN has the shape the task definition checks.
  override_resource {
    target = aws_iam_role.task
    values = { id = "bank-app-pri-task-0001", name = "bank-app-pri-task-0001", arn = "arn:aws:iam::111122223333:role/bank-app-pri-task-0001" }
  }

  override_resource {
    target = aws_iam_role.execution
    values = { id = "bank-app-pri-exec-0001", name = "bank-app-pri-exec-0001", arn = "arn:aws:iam::111122223333:role/bank-app-pri-exec-0001" }
  }
}

run "after" {
  command   = plan
  state_key = "estate"

  assert {
    condition     = module.ecs.cluster_name == run.before.cluster_name && module.ecs.log_group_name == run.before.log_group_name && module.ecs.task_role_arn == "arn:aws:iam::111122223333:role/bank-app-pri-task-0001" && module.ecs.execution_role_arn == "arn:aws:iam::111122223333:role/bank-app-pri-exec-0001"
    error_message = "The cluster, the log group and the roles are the ones the estate has, not new ones."
  }
}
