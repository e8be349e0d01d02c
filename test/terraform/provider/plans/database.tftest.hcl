# Plans terraform/modules/database offline with the real aws provider in each role and checks
# what RDS and AWS Backup would be asked for.

provider "aws" {
  region                      = "us-west-2"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}

variables {
  name                     = "bank-app-usw2-db"
  role                     = "writer"
  generation               = 1
  instance_class           = "db.m7g.large"
  engine_version           = "8.4"
  allocated_storage_gib    = 100
  db_name                  = "bank"
  master_username          = "bank_admin"
  kms_key_arn              = "arn:aws:kms:us-west-2:111122223333:key/data"
  log_kms_key_arn          = "arn:aws:kms:us-west-2:111122223333:key/logs"
  subnet_group_name        = "bank-app-usw2-db"
  security_group_id        = "sg-0db"
  backup_retention_days    = 14
  backup_copy_vault_arn    = "arn:aws:backup:us-east-2:444455556666:backup-vault:bank-app-copies"
  permissions_boundary_arn = "arn:aws:iam::111122223333:policy/bank-app-deploy-boundary"
}

run "every_role_requires_tls_and_exports_its_audit_log" {
  command = plan

  assert {
    condition     = { for p in aws_db_parameter_group.this.parameter : p.name => p.value } == { require_secure_transport = "1", tls_version = "TLSv1.2,TLSv1.3" } && aws_db_parameter_group.this.family == "mysql8.4"
    error_message = "Connections without TLS are refused; TLS 1.2 and 1.3 only."
  }

  assert {
    condition     = one(aws_db_option_group.this.option).option_name == "MARIADB_AUDIT_PLUGIN" && { for s in one(aws_db_option_group.this.option).option_settings : s.name => s.value }["SERVER_AUDIT_EVENTS"] == "CONNECT,QUERY_DDL,QUERY_DCL"
    error_message = "Connections and schema and privilege changes are audited."
  }

  assert {
    condition     = toset(aws_db_instance.this.enabled_cloudwatch_logs_exports) == toset(["audit", "error", "slowquery"]) && alltrue([for g in aws_cloudwatch_log_group.exports : g.kms_key_id == "arn:aws:kms:us-west-2:111122223333:key/logs"]) && aws_cloudwatch_log_group.exports["audit"].name == "/aws/rds/instance/bank-app-usw2-db-g1/audit"
    error_message = "The audit, error and slow-query logs go to log groups made first, under the log key."
  }

  assert {
    condition     = aws_db_instance.this.ca_cert_identifier == "rds-ca-rsa2048-g1" && aws_db_instance.this.storage_encrypted && aws_db_instance.this.publicly_accessible == false
    error_message = "A known CA for clients to verify; encrypted; private."
  }
}

run "a_writer_is_multi_az_with_a_managed_master_password_and_copies_its_backups_to_another_account" {
  command = plan

  assert {
    condition     = aws_db_instance.this.multi_az && aws_db_instance.this.manage_master_user_password && aws_db_instance.this.password == null && aws_db_instance.this.master_user_secret_kms_key_id == "arn:aws:kms:us-west-2:111122223333:key/data"
    error_message = "Multi-AZ; RDS generates, keeps and rotates the master password."
  }

  assert {
    condition     = aws_db_instance.this.deletion_protection && aws_db_instance.this.skip_final_snapshot == false && aws_db_instance.this.final_snapshot_identifier == "bank-app-usw2-db-g1-final" && aws_db_instance.this.delete_automated_backups == false
    error_message = "Protected; a final snapshot and its automated backups outlive it."
  }

  assert {
    condition     = aws_db_instance.this.max_allocated_storage == 1000 && aws_db_instance.this.replicate_source_db == null
    error_message = "Storage grows by itself up to 10 times; a writer replicates nothing."
  }

  assert {
    condition     = one(one(aws_backup_plan.this[0].rule).copy_action).destination_vault_arn == "arn:aws:backup:us-east-2:444455556666:backup-vault:bank-app-copies" && one(one(one(aws_backup_plan.this[0].rule).copy_action).lifecycle).delete_after == 400
    error_message = "Every recovery point is copied to the locked vault in the other account."
  }

  assert {
    condition     = aws_backup_vault_lock_configuration.this.min_retention_days == 7 && length(aws_db_instance_automated_backups_replication.from_writer) == 0
    error_message = "The local vault is locked; a writer has no source to copy backups from."
  }

  assert {
    condition     = aws_iam_role.backup.permissions_boundary == "arn:aws:iam::111122223333:policy/bank-app-deploy-boundary"
    error_message = "AWS Backup's role carries the pipeline's boundary."
  }
}

run "a_replica_follows_the_writer_keeps_its_backups_here_and_can_be_replaced" {
  command = plan

  variables {
    role       = "replica"
    source_arn = "arn:aws:rds:us-east-1:111122223333:db:bank-app-use1-db-g1"
  }

  assert {
    condition     = aws_db_instance.this.replicate_source_db == "arn:aws:rds:us-east-1:111122223333:db:bank-app-use1-db-g1" && aws_db_instance.this.manage_master_user_password == null
    error_message = "A replica replicates the writer; its master password is the source's."
  }

  assert {
    condition     = aws_db_instance.this.skip_final_snapshot && aws_db_instance.this.final_snapshot_identifier == null
    error_message = "RDS refuses a final snapshot of a replica: replacing one must not ask for it."
  }

  assert {
    condition     = aws_db_instance_automated_backups_replication.from_writer[0].source_db_instance_arn == "arn:aws:rds:us-east-1:111122223333:db:bank-app-use1-db-g1" && aws_db_instance_automated_backups_replication.from_writer[0].kms_key_id == "arn:aws:kms:us-west-2:111122223333:key/data"
    error_message = "The writer's automated backups are copied into this region, under this region's key."
  }

  assert {
    condition     = aws_db_instance.this.max_allocated_storage == 1000 && aws_db_instance.this.backup_retention_period == 14 && length(aws_backup_plan.this) == 0
    error_message = "The replica grows like the writer and keeps backups of its own; only the writer is in AWS Backup."
  }
}

run "a_fenced_former_writer_stays_but_can_be_replaced" {
  command = plan

  variables {
    role = "fenced"
  }

  assert {
    condition     = aws_db_instance.this.deletion_protection == false && aws_db_instance.this.skip_final_snapshot == false && length(aws_backup_plan.this) == 0
    error_message = "No deletion protection (the next generation replaces it), a final snapshot when it goes, no backup plan."
  }
}

run "a_replica_without_its_source_is_refused" {
  command = plan

  variables {
    role = "replica"
  }

  expect_failures = [aws_db_instance.this]
}
