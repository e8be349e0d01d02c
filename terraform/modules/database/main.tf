# One region's MySQL database of the app, in the role the topology gives the region:
#
#   writer   Multi-AZ, its master password managed by RDS (manage_master_user_password), daily
#            AWS Backup recovery points copied to a locked vault in another account
#   replica  a cross-region read replica of the writer, which also keeps a copy of the writer's
#            automated backups here, so they outlive the writer's region
#   fenced   a former writer that lost a failover: kept as it is (nothing connects to it, see
#            app-region), its deletion protection off so the next generation can replace it
#
# A replica becomes the writer in place: dropping replicate_source_db promotes it, in the same
# apply that turns on Multi-AZ and the managed master password. A new replica is a new generation:
# raising `generation` replaces the database (a final snapshot is taken of a former writer).
# Every role: TLS required (require_secure_transport), the audit log and the error and slow-query
# logs exported to log groups under a customer-managed key, encrypted storage that grows by
# itself, automated backups kept when the database is deleted.

data "aws_partition" "current" {}

locals {
  identifier = "${var.name}-g${var.generation}"
  writer     = var.role == "writer"
  replica    = var.role == "replica"

  # MySQL 8.4 -> mysql8.4; 8.0.40 -> mysql8.0.
  major_version = join(".", slice(split(".", var.engine_version), 0, 2))

  log_exports = ["audit", "error", "slowquery"]
}

# --- Engine settings: TLS only, and an audit log ----------------------------------------------

resource "aws_db_parameter_group" "this" {
  name_prefix = "${var.name}-"
  family      = "mysql${local.major_version}"
  description = "${var.name}: TLS required"

  parameter {
    name  = "require_secure_transport"
    value = "1"
  }

  parameter {
    name  = "tls_version"
    value = "TLSv1.2,TLSv1.3"
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_db_option_group" "this" {
  name_prefix              = "${var.name}-"
  engine_name              = "mysql"
  major_engine_version     = local.major_version
  option_group_description = "${var.name}: audit log"

  # Connections, and every statement that changes a schema or a privilege.
  option {
    option_name = "MARIADB_AUDIT_PLUGIN"

    option_settings {
      name  = "SERVER_AUDIT_EVENTS"
      value = "CONNECT,QUERY_DDL,QUERY_DCL"
    }

    option_settings {
      name  = "SERVER_AUDIT_EXCL_USERS"
      value = "rdsadmin"
    }
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

# RDS would create these on first export, without a key or an end; made first, they have both.
resource "aws_cloudwatch_log_group" "exports" {
  for_each = toset(local.log_exports)

  name              = "/aws/rds/instance/${local.identifier}/${each.value}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn

  tags = var.tags
}

# --- The database -----------------------------------------------------------------------------

# Changes only when a new database must be built (a new replica after a failover).
resource "terraform_data" "generation" {
  input = var.generation
}

resource "aws_db_instance" "this" {
  identifier     = local.identifier
  instance_class = var.instance_class

  # A replica takes engine, version, user and database from its source.
  replicate_source_db         = local.replica ? var.source_arn : null
  engine                      = local.replica ? null : "mysql"
  engine_version              = local.replica ? null : var.engine_version
  db_name                     = local.replica ? null : var.db_name
  username                    = local.replica ? null : var.master_username
  manage_master_user_password = local.replica ? null : true

  master_user_secret_kms_key_id = local.replica ? null : var.kms_key_arn

  allocated_storage     = local.replica ? null : var.allocated_storage_gib
  max_allocated_storage = var.allocated_storage_gib * 10
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = var.kms_key_arn

  multi_az               = local.replica ? var.replica_multi_az : true
  db_subnet_group_name   = var.subnet_group_name
  vpc_security_group_ids = [var.security_group_id]
  publicly_accessible    = false
  parameter_group_name   = aws_db_parameter_group.this.name
  option_group_name      = aws_db_option_group.this.name
  ca_cert_identifier     = var.ca_cert_identifier

  backup_retention_period  = var.backup_retention_days
  backup_window            = "03:00-04:00"
  maintenance_window       = "sun:04:30-sun:05:30"
  copy_tags_to_snapshot    = true
  delete_automated_backups = false

  # RDS refuses a final snapshot of a read replica (its data is its source's); a writer's and a
  # fenced former writer's are kept.
  skip_final_snapshot       = local.replica
  final_snapshot_identifier = local.replica ? null : "${local.identifier}-final"
  deletion_protection       = var.role != "fenced"

  enabled_cloudwatch_logs_exports       = local.log_exports
  performance_insights_enabled          = true
  performance_insights_kms_key_id       = var.kms_key_arn
  performance_insights_retention_period = 7
  auto_minor_version_upgrade            = true

  # Promotion and the Multi-AZ it brings must not wait for the maintenance window.
  apply_immediately = true

  tags = var.tags

  lifecycle {
    replace_triggered_by = [terraform_data.generation]

    # A promoted replica reports its source's database and master user; neither ever changes.
    ignore_changes = [db_name, username]

    precondition {
      condition     = !local.replica || var.source_arn != null
      error_message = "A replica needs source_arn, the writer's database ARN."
    }
  }

  depends_on = [aws_cloudwatch_log_group.exports]
}

# --- Backups that outlive the region and the account ------------------------------------------

# In a replica's region, a copy of the writer's automated backups (point-in-time restore here if
# the writer's region is lost). Made in this region, from the writer's ARN.
resource "aws_db_instance_automated_backups_replication" "from_writer" {
  count = local.replica && var.source_arn != null ? 1 : 0

  source_db_instance_arn = var.source_arn
  kms_key_id             = var.kms_key_arn
  retention_period       = var.backup_retention_days
}

# Every region has a vault (one holding recovery points cannot be deleted); only the writer's
# database is backed up into it, and each recovery point is copied to the bank's locked vault in
# another account.
resource "aws_backup_vault" "this" {
  name        = "${var.name}-db"
  kms_key_arn = var.kms_key_arn

  tags = var.tags
}

resource "aws_backup_vault_lock_configuration" "this" {
  backup_vault_name  = aws_backup_vault.this.name
  min_retention_days = 7
  max_retention_days = var.backup_copy_retention_days
}

data "aws_iam_policy_document" "assume_backup" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["backup.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "backup" {
  name_prefix          = "${var.name}-backup-"
  description          = "AWS Backup of ${var.name}'s database"
  assume_role_policy   = data.aws_iam_policy_document.assume_backup.json
  permissions_boundary = var.permissions_boundary_arn

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "backup" {
  role       = aws_iam_role.backup.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"
}

resource "aws_backup_plan" "this" {
  count = local.writer ? 1 : 0

  name = "${var.name}-db"

  rule {
    rule_name         = "daily"
    target_vault_name = aws_backup_vault.this.name
    schedule          = "cron(30 2 * * ? *)"
    start_window      = 60
    completion_window = 360

    lifecycle {
      delete_after = var.backup_retention_days
    }

    copy_action {
      destination_vault_arn = var.backup_copy_vault_arn

      lifecycle {
        delete_after = var.backup_copy_retention_days
      }
    }
  }

  tags = var.tags
}

resource "aws_backup_selection" "this" {
  count = local.writer ? 1 : 0

  name         = "${var.name}-db"
  plan_id      = aws_backup_plan.this[0].id
  iam_role_arn = aws_iam_role.backup.arn
  resources    = [aws_db_instance.this.arn]
}
