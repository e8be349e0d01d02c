# Plans terraform/app offline with the real aws provider, once per role a region can have, and
# checks what the provider would be asked for: the database in each role (replica of the writer
# derived from the topology, TLS-only parameters, audit log, backups that outlive the region and
# the account), the containers each task starts, the fenced region's closed doors, the alarms.

provider "aws" {
  region                      = "us-west-2"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}

override_data {
  target = data.aws_caller_identity.current
  values = { account_id = "111122223333" }
}

override_data {
  target = module.data_key.data.aws_caller_identity.current
  values = { account_id = "111122223333" }
}

override_data {
  target = module.log_key.data.aws_caller_identity.current
  values = { account_id = "111122223333" }
}

override_data {
  target = module.app.module.load_balancer.data.aws_caller_identity.current
  values = { account_id = "111122223333" }
}

override_data {
  target = module.network.data.aws_availability_zones.available
  values = { names = ["us-west-2a", "us-west-2b", "us-west-2c"] }
}

override_data {
  target = data.aws_secretsmanager_secret.shared
  values = { arn = "arn:aws:secretsmanager:us-west-2:111122223333:secret:bank-app/shared-AbCdEf" }
}

override_data {
  target = data.aws_secretsmanager_secret_versions.shared
  values = { versions = [{ version_id = "v-current", version_stages = ["AWSCURRENT"], created_time = "", last_accessed_date = "" }, { version_id = "v-old", version_stages = ["AWSPREVIOUS"], created_time = "", last_accessed_date = "" }] }
}

override_data {
  target = data.aws_kms_alias.shared_secrets
  values = { target_key_arn = "arn:aws:kms:us-west-2:111122223333:key/mrk-shared" }
}

variables {
  region                = "us-west-2"
  certificate_arn       = "arn:aws:acm:us-west-2:111122223333:certificate/app"
  container_image       = "docker.io/bankco/banking-app@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
  backup_copy_vault_arn = "arn:aws:backup:us-east-2:444455556666:backup-vault:bank-app-copies"
  topology = {
    regions = {
      us-east-1 = { role = "writer", generation = 1, vpc_cidr_block = "10.50.0.0/16" }
      us-west-2 = { role = "replica", generation = 1, vpc_cidr_block = "10.60.0.0/16" }
    }
    traffic      = "us-east-1"
    secrets_home = "us-east-1"
  }
}

run "a_replica_region_replicates_the_writer_and_keeps_its_backups" {
  command = plan

  assert {
    condition     = output.role == "replica" && output.database_replicates == "arn:aws:rds:us-east-1:111122223333:db:bank-app-use1-db-g1"
    error_message = "us-west-2 replicates us-east-1's database, whose ARN both regions derive from the topology: ${coalesce(output.database_replicates, "null")}"
  }

  assert {
    condition     = module.database.backups_replicated_from == "arn:aws:rds:us-east-1:111122223333:db:bank-app-use1-db-g1"
    error_message = "The writer's automated backups are copied into the replica's region."
  }

  assert {
    condition     = output.containers == ["app"] && output.task_range == [2, 10] && output.database_admits_tasks
    error_message = "Warm standby: the app alone (no migrations, no user management on a replica)."
  }

  assert {
    condition     = output.database_identifier == "bank-app-usw2-db-g1"
    error_message = "The database is named after the app, the region and its generation."
  }
}

run "a_writer_region_migrates_and_manages_its_users_before_the_app_serves" {
  command = plan

  variables {
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
    condition     = output.role == "writer" && output.database_replicates == null && module.database.backups_replicated_from == null
    error_message = "A writer replicates nothing."
  }

  assert {
    condition     = output.containers == ["db-users", "migrate", "app"]
    error_message = "db-users, then the migrations, then the app."
  }
}

run "a_fenced_region_runs_nothing_and_its_database_admits_nobody" {
  command = plan

  variables {
    region          = "us-west-2"
    certificate_arn = "arn:aws:acm:us-west-2:111122223333:certificate/app"
    topology = {
      regions = {
        us-east-1 = { role = "writer", generation = 2, vpc_cidr_block = "10.50.0.0/16" }
        us-west-2 = { role = "fenced", generation = 1, vpc_cidr_block = "10.60.0.0/16" }
      }
      traffic      = "us-east-1"
      secrets_home = "us-east-1"
    }
  }

  assert {
    condition     = output.task_range == [0, 0] && !output.database_admits_tasks
    error_message = "Fenced: no task, and the database's security group admits nobody."
  }
}
