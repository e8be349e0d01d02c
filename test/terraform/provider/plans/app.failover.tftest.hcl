# The failover runbook of terraform/README.md, walked through on terraform/app: each step is
# planned (and its plan checked) in the region the runbook applies it in, then applied, so the
# next step starts from the state the previous one left. One state per region (state_key), as in
# production. AWS is mocked: what is checked is what Terraform would do in what order (which
# database is promoted in place, which is replaced), not what AWS answers. Moving traffic is
# terraform/app-traffic's step: app-traffic.failover.tftest.hcl.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "111122223333" }
  }

  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }

  mock_data "aws_secretsmanager_secret_versions" {
    defaults = { versions = [{ version_id = "v1", version_stages = ["AWSCURRENT"], created_time = "", last_accessed_date = "" }] }
  }

  mock_data "aws_secretsmanager_secret" {
    defaults = { arn = "arn:aws:secretsmanager:us-east-1:111122223333:secret:bank-app/shared-AbCdEf" }
  }

  mock_data "aws_kms_alias" {
    defaults = { target_key_arn = "arn:aws:kms:us-east-1:111122223333:key/mrk-shared" }
  }

  # The provider still validates the arguments it is given: policies must be JSON objects.
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }

  mock_data "aws_availability_zones" {
    defaults = { names = ["a", "b"] }
  }

  # Ids in the shapes the modules' input validations check (every instance of a type gets the
  # same; the databases' ARNs stay generated, so a replacement shows as a new ARN).
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:us-east-1:111122223333:key/mock" }
  }

  mock_resource "aws_vpc" {
    defaults = { id = "vpc-0abc" }
  }

  mock_resource "aws_subnet" {
    defaults = { id = "subnet-0abc" }
  }

  mock_resource "aws_security_group" {
    defaults = { id = "sg-0abc" }
  }

  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::111122223333:role/mock" }
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

  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:us-east-1:111122223333:mock" }
  }

  mock_resource "aws_ecs_task_definition" {
    defaults = { arn = "arn:aws:ecs:us-east-1:111122223333:task-definition/mock:1" }
  }

  mock_resource "aws_ecs_cluster" {
    defaults = { arn = "arn:aws:ecs:us-east-1:111122223333:cluster/mock" }
  }

  mock_resource "aws_backup_vault" {
    defaults = { arn = "arn:aws:backup:us-east-1:111122223333:backup-vault:mock" }
  }

  mock_resource "aws_db_instance" {
    defaults = { master_user_secret = [{ secret_arn = "arn:aws:secretsmanager:us-east-1:111122223333:secret:rds!db-1", kms_key_id = "k", secret_status = "active" }] }
  }
}

variables {
  certificate_arn       = "arn:aws:acm:us-east-1:111122223333:certificate/app"
  container_image       = "docker.io/bankco/banking-app:1.0.0"
  backup_copy_vault_arn = "arn:aws:backup:us-east-2:444455556666:backup-vault:bank-app-copies"

  # Before: us-east-1 writes and serves, us-west-2 replicates it.
  topology = {
    regions = {
      us-east-1 = { role = "writer", generation = 1, vpc_cidr_block = "10.50.0.0/16" }
      us-west-2 = { role = "replica", generation = 1, vpc_cidr_block = "10.60.0.0/16" }
    }
    traffic      = "us-east-1"
    secrets_home = "us-east-1"
  }
}

run "before_us_east_1_writes" {
  state_key = "us-east-1"
  variables {
    region = "us-east-1"
  }

  assert {
    condition     = output.role == "writer" && output.database_identifier == "bank-app-use1-db-g1" && output.containers == ["db-users", "migrate", "app"]
    error_message = "us-east-1 holds the writer and migrates before it serves."
  }
}

run "before_us_west_2_replicates" {
  state_key = "us-west-2"
  variables {
    region = "us-west-2"
  }

  assert {
    condition     = output.database_replicates == "arn:aws:rds:us-east-1:111122223333:db:bank-app-use1-db-g1" && output.containers == ["app"]
    error_message = "us-west-2 replicates us-east-1's database and keeps warm app tasks."
  }
}

# The topology after the failover decision, committed (or applied from the break-glass checkout)
# as one change: us-west-2 writes, us-east-1 is fenced, customers go to us-west-2.
run "step_1_promote_us_west_2_plan" {
  command   = plan
  state_key = "us-west-2"
  variables {
    region = "us-west-2"
    topology = {
      regions = {
        us-east-1 = { role = "fenced", generation = 1, vpc_cidr_block = "10.50.0.0/16" }
        us-west-2 = { role = "writer", generation = 1, vpc_cidr_block = "10.60.0.0/16" }
      }
      traffic      = "us-west-2"
      secrets_home = "us-east-1"
    }
  }

  assert {
    condition     = output.database_replicates == null && output.database_identifier == "bank-app-usw2-db-g1"
    error_message = "Promotion: the same database stops replicating (replicate_source_db dropped), nothing new is built."
  }

  assert {
    condition     = output.containers == ["db-users", "migrate", "app"] && output.task_range == [2, 10] && output.database_admits_tasks
    error_message = "The promoted region's tasks roll into writer tasks: users, migrations, then the app."
  }
}

run "step_1_promote_us_west_2" {
  state_key = "us-west-2"
  variables {
    region = "us-west-2"
    topology = {
      regions = {
        us-east-1 = { role = "fenced", generation = 1, vpc_cidr_block = "10.50.0.0/16" }
        us-west-2 = { role = "writer", generation = 1, vpc_cidr_block = "10.60.0.0/16" }
      }
      traffic      = "us-west-2"
      secrets_home = "us-east-1"
    }
  }

  assert {
    condition     = output.database_arn == run.before_us_west_2_replicates.database_arn
    error_message = "The replica was promoted in place, not replaced: its data is the ledger now."
  }
}

run "step_2_fence_us_east_1_plan" {
  command   = plan
  state_key = "us-east-1"
  variables {
    region = "us-east-1"
    topology = {
      regions = {
        us-east-1 = { role = "fenced", generation = 1, vpc_cidr_block = "10.50.0.0/16" }
        us-west-2 = { role = "writer", generation = 1, vpc_cidr_block = "10.60.0.0/16" }
      }
      traffic      = "us-west-2"
      secrets_home = "us-east-1"
    }
  }

  assert {
    condition     = output.role == "fenced" && output.task_range == [0, 0] && !output.database_admits_tasks
    error_message = "Fencing: no task runs in us-east-1 and its database admits no connection, whatever comes back there."
  }

  assert {
    condition     = output.database_identifier == "bank-app-use1-db-g1"
    error_message = "The fenced database is kept as it was (its last writes may need reconciling), not deleted yet."
  }
}

run "step_2_fence_us_east_1" {
  state_key = "us-east-1"
  variables {
    region = "us-east-1"
    topology = {
      regions = {
        us-east-1 = { role = "fenced", generation = 1, vpc_cidr_block = "10.50.0.0/16" }
        us-west-2 = { role = "writer", generation = 1, vpc_cidr_block = "10.60.0.0/16" }
      }
      traffic      = "us-west-2"
      secrets_home = "us-east-1"
    }
  }

  assert {
    condition     = output.database_arn == run.before_us_east_1_writes.database_arn
    error_message = "Fencing keeps the old writer's database."
  }
}

# Step 3, moving traffic, is terraform/app-traffic's (app-traffic.failover.tftest.hcl).

run "step_4_reattach_us_east_1_as_a_new_replica_plan" {
  command   = plan
  state_key = "us-east-1"
  variables {
    region = "us-east-1"
    topology = {
      regions = {
        us-east-1 = { role = "replica", generation = 2, vpc_cidr_block = "10.50.0.0/16" }
        us-west-2 = { role = "writer", generation = 1, vpc_cidr_block = "10.60.0.0/16" }
      }
      traffic      = "us-west-2"
      secrets_home = "us-east-1"
    }
  }

  assert {
    condition     = output.database_identifier == "bank-app-use1-db-g2" && output.database_replicates == "arn:aws:rds:us-west-2:111122223333:db:bank-app-usw2-db-g1"
    error_message = "A new generation: a new database replicating the new writer in us-west-2."
  }

  assert {
    condition     = output.containers == ["app"] && output.task_range == [2, 10] && output.database_admits_tasks
    error_message = "us-east-1 becomes the warm standby again."
  }
}

run "step_4_reattach_us_east_1_as_a_new_replica" {
  state_key = "us-east-1"
  variables {
    region = "us-east-1"
    topology = {
      regions = {
        us-east-1 = { role = "replica", generation = 2, vpc_cidr_block = "10.50.0.0/16" }
        us-west-2 = { role = "writer", generation = 1, vpc_cidr_block = "10.60.0.0/16" }
      }
      traffic      = "us-west-2"
      secrets_home = "us-east-1"
    }
  }

  assert {
    condition     = output.database_arn != run.step_2_fence_us_east_1.database_arn
    error_message = "The fenced database was replaced (final snapshot first), not turned into a replica, which RDS cannot do."
  }
}

run "after_us_west_2_writes_and_nothing_changes_there" {
  state_key = "us-west-2"
  variables {
    region = "us-west-2"
    topology = {
      regions = {
        us-east-1 = { role = "replica", generation = 2, vpc_cidr_block = "10.50.0.0/16" }
        us-west-2 = { role = "writer", generation = 1, vpc_cidr_block = "10.60.0.0/16" }
      }
      traffic      = "us-west-2"
      secrets_home = "us-east-1"
    }
  }

  assert {
    condition     = output.database_arn == run.step_1_promote_us_west_2.database_arn && output.role == "writer"
    error_message = "The writer in us-west-2 is untouched by the reattachment."
  }
}
