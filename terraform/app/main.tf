# One region of the banking app, applied once per region of terraform/app-topology.yaml into a
# state of its own, so that either region can be planned and applied while the other is down:
# its network, keys, database (writer, replica of the writer, or fenced, as the topology says),
# the app's tasks behind their load balancer, and the region's alarms. Nothing here calls another
# region: the writer's database ARN is known from the topology, and the shared secrets
# (terraform/app-secrets) are found by name in this region, where Secrets Manager replicates them.

module "topology" {
  source = "../modules/app-topology"

  topology = var.topology != null ? var.topology : yamldecode(file("${path.module}/../app-topology.yaml"))
}

data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}

data "aws_region" "current" {
  lifecycle {
    precondition {
      condition     = contains(keys(module.topology.regions), var.region)
      error_message = "region ${var.region} is not one of the app's regions in terraform/app-topology.yaml (${join(", ", keys(module.topology.regions))})."
    }
  }
}

locals {
  partition = data.aws_partition.current.partition
  account   = data.aws_caller_identity.current.account_id

  here   = module.topology.regions[var.region]
  role   = local.here.role
  prefix = "${var.name}-${module.topology.codes[var.region]}"

  # The writer's database, by the names both regions derive from the same topology.
  writer_region = module.topology.writer
  writer_db_arn = "arn:${local.partition}:rds:${local.writer_region}:${local.account}:db:${var.name}-${module.topology.codes[local.writer_region]}-db-g${module.topology.regions[local.writer_region].generation}"

  # terraform/jenkins's pipeline-roles module makes this boundary; the deploy role may create
  # roles only with it, so every role here carries it.
  permissions_boundary_arn = "arn:${local.partition}:iam::${local.account}:policy/${var.name}-deploy-boundary"
}

# --- Network and keys -------------------------------------------------------------------------

module "network" {
  source = "../modules/network"

  name                         = local.prefix
  cidr_block                   = local.here.vpc_cidr_block
  flow_log_kms_key_arn         = module.log_key.arn
  iam_permissions_boundary_arn = local.permissions_boundary_arn

  # What Fargate calls to start the tasks: the image (ECR), their secrets, their logs. Images
  # from other registries still go out through NAT.
  interface_endpoints = ["ecr.api", "ecr.dkr", "logs", "secretsmanager"]
}

# Storage, Performance Insights, the managed master password, backups.
module "data_key" {
  source = "../modules/kms-key"

  alias       = "${var.name}/data"
  description = "${var.name} in ${var.region}: database, its backups and its master password"
}

# Log groups (app, WAF, flow logs, the database's exports) and the alarm topic.
module "log_key" {
  source = "../modules/kms-key"

  alias             = "${var.name}/logs"
  description       = "${var.name} in ${var.region}: CloudWatch log groups and the alarm topic"
  cloudwatch_logs   = true
  cloudwatch_alarms = true
}

# --- The shared secrets (terraform/app-secrets), as replicated into this region ---------------

data "aws_secretsmanager_secret" "shared" {
  for_each = toset(["db-app", "db-migrator", "secret-key"])

  name = "${var.name}/${each.key}"
}

# Version ids, not values: a rotation shows here and rolls the tasks.
data "aws_secretsmanager_secret_versions" "shared" {
  for_each = data.aws_secretsmanager_secret.shared

  secret_id = each.value.arn
}

data "aws_kms_alias" "shared_secrets" {
  name = "alias/${var.name}/shared-secrets"
}

locals {
  credentials_version = join(",", [
    for name, versions in data.aws_secretsmanager_secret_versions.shared :
    "${name}=${one([for v in versions.versions : v.version_id if contains(v.version_stages, "AWSCURRENT")])}"
  ])
}

# --- Database ---------------------------------------------------------------------------------

module "database" {
  source = "../modules/database"

  name       = "${local.prefix}-db"
  role       = local.role
  generation = local.here.generation
  source_arn = local.role == "replica" ? local.writer_db_arn : null

  instance_class        = var.db_instance_class
  engine_version        = var.db_engine_version
  allocated_storage_gib = var.db_allocated_storage_gib
  db_name               = var.db_name
  master_username       = var.db_master_username
  replica_multi_az      = var.replica_multi_az
  backup_retention_days = var.db_backup_retention_days
  backup_copy_vault_arn = var.backup_copy_vault_arn

  kms_key_arn              = module.data_key.arn
  log_kms_key_arn          = module.log_key.arn
  subnet_group_name        = module.app.database_subnet_group_name
  security_group_id        = module.app.database_security_group_id
  permissions_boundary_arn = local.permissions_boundary_arn
}

# --- The app ----------------------------------------------------------------------------------

module "app" {
  source = "../modules/app-region"

  name                      = local.prefix
  role                      = local.role
  vpc_id                    = module.network.vpc_id
  public_subnet_ids         = module.network.public_subnet_ids
  public_subnet_cidr_blocks = module.network.public_subnet_cidr_blocks
  private_subnet_ids        = module.network.private_subnet_ids
  certificate_arn           = var.certificate_arn
  container_image           = var.container_image
  min_tasks                 = var.min_tasks
  max_tasks                 = var.max_tasks

  db_host                        = module.database.address
  db_name                        = var.db_name
  db_app_secret_arn              = data.aws_secretsmanager_secret.shared["db-app"].arn
  db_migrator_secret_arn         = data.aws_secretsmanager_secret.shared["db-migrator"].arn
  secret_key_arn                 = data.aws_secretsmanager_secret.shared["secret-key"].arn
  shared_secrets_kms_key_arn     = data.aws_kms_alias.shared_secrets.target_key_arn
  master_user_secret_arn         = local.role == "writer" ? module.database.master_user_secret_arn : null
  master_user_secret_kms_key_arn = local.role == "writer" ? module.data_key.arn : null
  credentials_version            = local.credentials_version

  log_kms_key_arn          = module.log_key.arn
  permissions_boundary_arn = local.permissions_boundary_arn
}
