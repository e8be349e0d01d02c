# Root configuration of the banking app in two regions: a network and an app-region module in
# each, one MySQL database in the primary region with a cross-region read replica in the
# secondary, the database credentials and Flask secret key in Secrets Manager (replicated to the
# secondary region), and Route 53 failover between the two load balancers.

# --- Networks ---------------------------------------------------------------------------------

module "network_primary" {
  source    = "../modules/network"
  providers = { aws = aws.primary }

  name       = "${var.name}-primary"
  cidr_block = var.primary_vpc_cidr_block
}

module "network_secondary" {
  source    = "../modules/network"
  providers = { aws = aws.secondary }

  name       = "${var.name}-secondary"
  cidr_block = var.secondary_vpc_cidr_block
}

# --- Keys and secrets -------------------------------------------------------------------------

# One multi-region key, replicated: the database, its replica and both copies of the secrets
# are encrypted under the same key material, usable in either region.
resource "aws_kms_key" "primary" {
  provider = aws.primary

  description             = "${var.name}: database and secrets"
  multi_region            = true
  enable_key_rotation     = true
  deletion_window_in_days = 30
}

resource "aws_kms_replica_key" "secondary" {
  provider = aws.secondary

  description             = "${var.name}: database replica and secrets (replica of the primary key)"
  primary_key_arn         = aws_kms_key.primary.arn
  deletion_window_in_days = 30
}

resource "aws_secretsmanager_secret" "db" {
  provider = aws.primary

  name                    = "${var.name}/db"
  description             = "MySQL credentials of ${var.name}: JSON {username, password}"
  kms_key_id              = aws_kms_key.primary.arn
  recovery_window_in_days = 30

  replica {
    region     = var.secondary_region
    kms_key_id = aws_kms_replica_key.secondary.arn
  }
}

resource "aws_secretsmanager_secret" "secret_key" {
  provider = aws.primary

  name                    = "${var.name}/secret-key"
  description             = "Flask SECRET_KEY of ${var.name}"
  kms_key_id              = aws_kms_key.primary.arn
  recovery_window_in_days = 30

  replica {
    region     = var.secondary_region
    kms_key_id = aws_kms_replica_key.secondary.arn
  }
}

# Ephemeral: generated during the run, written only through write-only arguments (password_wo,
# secret_string_wo), never into the plan or the state. A value is sent only when its
# *_wo_version changes, so the same generated password reaches RDS and Secrets Manager together.
ephemeral "random_password" "db" {
  length = 40
  # RDS for MySQL refuses /, " and @ in a master password.
  override_special = "!#%^&*()-_=+[]{}<>:?"
}

ephemeral "random_password" "secret_key" {
  length  = 64
  special = false
}

resource "aws_secretsmanager_secret_version" "db" {
  provider = aws.primary

  secret_id                = aws_secretsmanager_secret.db.id
  secret_string_wo         = jsonencode({ username = var.db_username, password = ephemeral.random_password.db.result })
  secret_string_wo_version = var.db_password_version
}

resource "aws_secretsmanager_secret_version" "secret_key" {
  provider = aws.primary

  secret_id                = aws_secretsmanager_secret.secret_key.id
  secret_string_wo         = ephemeral.random_password.secret_key.result
  secret_string_wo_version = 1
}

locals {
  # A replica secret keeps the primary's ARN except for the region.
  db_secret_arn_secondary         = replace(aws_secretsmanager_secret.db.arn, ":${var.primary_region}:", ":${var.secondary_region}:")
  secret_key_secret_arn_secondary = replace(aws_secretsmanager_secret.secret_key.arn, ":${var.primary_region}:", ":${var.secondary_region}:")
}

# --- Database ---------------------------------------------------------------------------------

resource "aws_db_subnet_group" "primary" {
  provider = aws.primary

  name_prefix = "${var.name}-"
  description = "Private subnets of the ${var.name} database"
  subnet_ids  = module.network_primary.private_subnet_ids
}

resource "aws_db_subnet_group" "secondary" {
  provider = aws.secondary

  name_prefix = "${var.name}-"
  description = "Private subnets of the ${var.name} database replica"
  subnet_ids  = module.network_secondary.private_subnet_ids
}

resource "aws_security_group" "db_primary" {
  provider = aws.primary

  name_prefix = "${var.name}-db-"
  description = "${var.name} database: MySQL from the app's tasks only"
  vpc_id      = module.network_primary.vpc_id

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "db_primary_from_tasks" {
  provider = aws.primary

  security_group_id            = aws_security_group.db_primary.id
  description                  = "MySQL from the app's tasks"
  ip_protocol                  = "tcp"
  from_port                    = 3306
  to_port                      = 3306
  referenced_security_group_id = module.app_primary.tasks_security_group_id
}

resource "aws_security_group" "db_secondary" {
  provider = aws.secondary

  name_prefix = "${var.name}-db-"
  description = "${var.name} database replica: MySQL from the app's tasks only"
  vpc_id      = module.network_secondary.vpc_id

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "db_secondary_from_tasks" {
  provider = aws.secondary

  security_group_id            = aws_security_group.db_secondary.id
  description                  = "MySQL from the app's tasks"
  ip_protocol                  = "tcp"
  from_port                    = 3306
  to_port                      = 3306
  referenced_security_group_id = module.app_secondary.tasks_security_group_id
}

resource "aws_db_instance" "primary" {
  provider = aws.primary

  identifier            = "${var.name}-primary"
  engine                = "mysql"
  engine_version        = var.db_engine_version
  instance_class        = var.db_instance_class
  allocated_storage     = var.db_allocated_storage_gib
  max_allocated_storage = var.db_allocated_storage_gib * 10
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = aws_kms_key.primary.arn

  db_name             = var.db_name
  username            = var.db_username
  password_wo         = ephemeral.random_password.db.result
  password_wo_version = var.db_password_version

  multi_az               = true
  db_subnet_group_name   = aws_db_subnet_group.primary.name
  vpc_security_group_ids = [aws_security_group.db_primary.id]
  publicly_accessible    = false

  backup_retention_period   = var.db_backup_retention_days
  backup_window             = "03:00-04:00"
  maintenance_window        = "sun:04:30-sun:05:30"
  copy_tags_to_snapshot     = true
  deletion_protection       = true
  skip_final_snapshot       = false
  final_snapshot_identifier = "${var.name}-primary-final"

  auto_minor_version_upgrade      = true
  enabled_cloudwatch_logs_exports = ["error", "slowquery"]
}

# Promoting this replica (aws rds promote-read-replica) makes it the writable database of the
# secondary region's app after a regional failure; see README.md.
resource "aws_db_instance" "replica" {
  provider = aws.secondary

  identifier          = "${var.name}-replica"
  replicate_source_db = aws_db_instance.primary.arn
  instance_class      = var.db_instance_class
  storage_type        = "gp3"
  storage_encrypted   = true
  kms_key_id          = aws_kms_replica_key.secondary.arn

  multi_az               = var.replica_multi_az
  db_subnet_group_name   = aws_db_subnet_group.secondary.name
  vpc_security_group_ids = [aws_security_group.db_secondary.id]
  publicly_accessible    = false

  backup_retention_period   = var.db_backup_retention_days
  copy_tags_to_snapshot     = true
  deletion_protection       = true
  skip_final_snapshot       = false
  final_snapshot_identifier = "${var.name}-replica-final"

  auto_minor_version_upgrade      = true
  enabled_cloudwatch_logs_exports = ["error", "slowquery"]
}

# --- The app, once per region -----------------------------------------------------------------

module "app_primary" {
  source    = "../modules/app-region"
  providers = { aws = aws.primary }

  name               = "${var.name}-pri"
  vpc_id             = module.network_primary.vpc_id
  vpc_cidr_block     = module.network_primary.vpc_cidr_block
  public_subnet_ids  = module.network_primary.public_subnet_ids
  private_subnet_ids = module.network_primary.private_subnet_ids
  certificate_arn    = var.primary_certificate_arn
  container_image    = var.container_image
  min_tasks          = var.min_tasks
  max_tasks          = var.max_tasks

  db_host                   = aws_db_instance.primary.address
  db_name                   = var.db_name
  db_credentials_secret_arn = aws_secretsmanager_secret.db.arn
  app_secret_key_arn        = aws_secretsmanager_secret.secret_key.arn
  secrets_kms_key_arn       = aws_kms_key.primary.arn
}

module "app_secondary" {
  source    = "../modules/app-region"
  providers = { aws = aws.secondary }

  name               = "${var.name}-sec"
  vpc_id             = module.network_secondary.vpc_id
  vpc_cidr_block     = module.network_secondary.vpc_cidr_block
  public_subnet_ids  = module.network_secondary.public_subnet_ids
  private_subnet_ids = module.network_secondary.private_subnet_ids
  certificate_arn    = var.secondary_certificate_arn
  container_image    = var.container_image
  min_tasks          = var.min_tasks
  max_tasks          = var.max_tasks

  # Read-only until promoted: the standby answers /health with 200 only once it can serve.
  db_host                   = aws_db_instance.replica.address
  db_name                   = var.db_name
  db_credentials_secret_arn = local.db_secret_arn_secondary
  app_secret_key_arn        = local.secret_key_secret_arn_secondary
  secrets_kms_key_arn       = aws_kms_replica_key.secondary.arn
}

# --- DNS failover -----------------------------------------------------------------------------

# Route 53 is global; its resources go through the primary provider.
resource "aws_route53_health_check" "region" {
  for_each = {
    primary   = module.app_primary.load_balancer_dns_name
    secondary = module.app_secondary.load_balancer_dns_name
  }
  provider = aws.primary

  fqdn              = each.value
  type              = "HTTPS"
  port              = 443
  resource_path     = "/health"
  request_interval  = 30
  failure_threshold = 3
  enable_sni        = true

  tags = { Name = "${var.name}-${each.key}" }
}

resource "aws_route53_record" "primary" {
  provider = aws.primary

  zone_id         = var.hosted_zone_id
  name            = var.domain_name
  type            = "A"
  set_identifier  = "${var.name}-primary"
  health_check_id = aws_route53_health_check.region["primary"].id

  failover_routing_policy {
    type = "PRIMARY"
  }

  alias {
    name                   = module.app_primary.load_balancer_dns_name
    zone_id                = module.app_primary.load_balancer_zone_id
    evaluate_target_health = true
  }
}

resource "aws_route53_record" "secondary" {
  provider = aws.primary

  zone_id         = var.hosted_zone_id
  name            = var.domain_name
  type            = "A"
  set_identifier  = "${var.name}-secondary"
  health_check_id = aws_route53_health_check.region["secondary"].id

  failover_routing_policy {
    type = "SECONDARY"
  }

  alias {
    name                   = module.app_secondary.load_balancer_dns_name
    zone_id                = module.app_secondary.load_balancer_zone_id
    evaluate_target_health = true
  }
}
