# Root configuration of the CI estate: the network, the Jenkins controller, the agents' IAM and
# security group, and the provisioner's least-privilege policy. Its outputs fill fleet.yaml.

module "network" {
  source = "../modules/network"

  name                 = "${var.fleet}-ci"
  cidr_block           = var.vpc_cidr_block
  flow_log_kms_key_arn = module.log_key.arn

  # What the agents (SSM, their secrets through SSM), the controller (SSM, logs, its image, the
  # roles it assumes) and the provisioner (EC2, SSM, SQS for the interruption notices; the watch
  # task's token from Secrets Manager) call.
  interface_endpoints = ["ec2", "ec2messages", "ecr.api", "ecr.dkr", "kms", "logs", "secretsmanager", "sqs", "ssm", "ssmmessages", "sts"]
}

# The controller's, the WAF's and the flow logs' log groups are encrypted under this key.
module "log_key" {
  source = "../modules/kms-key"

  alias           = "${var.fleet}-ci/logs"
  description     = "${var.fleet} CI estate: CloudWatch log groups"
  cloudwatch_logs = true
}

module "agent_iam" {
  source = "../modules/agent-iam"

  fleet                  = var.fleet
  vpc_id                 = module.network.vpc_id
  session_log_group_name = var.session_log_group_name
}

module "controller" {
  source = "../modules/jenkins-controller"

  name              = "${var.fleet}-jenkins"
  vpc_id            = module.network.vpc_id
  private_subnet_id = module.network.private_subnet_ids[0]

  load_balancer_subnet_ids   = module.network.private_subnet_ids
  allowed_cidrs              = var.controller_allowed_cidrs
  allowed_security_group_ids = { agents = module.agent_iam.security_group_id, pull_request_agents = module.agent_iam.review_security_group_id }
  log_kms_key_arn            = module.log_key.arn
  session_log_group_name     = var.session_log_group_name

  domain_name       = var.controller_domain_name
  hosted_zone_id    = var.hosted_zone_id
  certificate_arn   = var.controller_certificate_arn
  instance_type     = var.controller_instance_type
  home_volume_gib   = var.controller_home_gib
  controller_image  = var.controller_image
  github_owner      = var.github_owner
  github_repository = var.github_repository

  # The AWS Credentials plugin assumes these from the controller's own role: no static key.
  assumable_role_arns = [module.app_pipeline_roles.deploy_role_arn, module.app_pipeline_roles.plan_role_arn]
}

# The roles the pipeline deploys terraform/app with (deploy branch) and plans it with (pull
# requests); the Jenkins credentials aws-deploy and aws-plan name them (see README.md).
module "app_pipeline_roles" {
  source = "../modules/pipeline-roles"

  name              = var.app_name
  trusted_role_arns = [module.controller.role_arn]
  regions           = var.app_regions
  state_bucket      = var.app_state_bucket
  state_key_prefix  = var.app_state_key_prefix
  state_kms_key_arn = var.app_state_kms_key_arn
}

# The provisioner's run lock (provisioner/src/lock/, fleet.yaml `lock:`): one item per fleet, taken
# and renewed with conditional writes so that two `up`/`down`/`watch` runs never act at once. The
# items name who holds the lock and since when, never a secret: encrypted under the AWS managed key
# aws/dynamodb (KMS-logged in CloudTrail, and the provisioner needs no right on a key of ours).
resource "aws_dynamodb_table" "run_lock" {
  name                        = coalesce(var.lock_table_name, "jenkins-fleet-${var.fleet}-locks")
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "lease"
  deletion_protection_enabled = true

  attribute {
    name = "lease"
    type = "S"
  }

  # Set only on a lock nobody holds, 90 days out: a retired fleet's item goes away by itself.
  ttl {
    attribute_name = "expireItemAt"
    enabled        = true
  }

  server_side_encryption {
    enabled = true
  }

  point_in_time_recovery {
    enabled = true
  }
}

# EC2's Spot interruption notices for `watch` (fleet.yaml interruptions.queue). Made whether or not
# watch runs on ECS here: a watch on a host (systemd) reads it with the same provisioner policy.
module "interruption_queue" {
  source = "../modules/interruption-queue"

  fleet = var.fleet
  tags  = var.tags
}

# The queues terraform/interruptions makes in spot_regions have this queue's name: the same ARN in
# another region.
locals {
  interruption_queue_arns = concat(
    [module.interruption_queue.queue_arn],
    [for r in var.spot_regions : replace(module.interruption_queue.queue_arn, ":sqs:${var.region}:", ":sqs:${r}:")],
  )
}

module "provisioner_iam" {
  source = "../modules/provisioner-iam"

  lock_table_arn             = aws_dynamodb_table.run_lock.arn
  interruption_queue_arns    = local.interruption_queue_arns
  fleet                      = var.fleet
  regions                    = [var.region]
  agent_role_arn             = module.agent_iam.role_arn
  agent_instance_profile_arn = module.agent_iam.instance_profile_arn
  agent_subnet_ids           = module.network.private_subnet_ids
  agent_security_group_id    = module.agent_iam.security_group_id
  kms_key_arn                = module.agent_iam.kms_key_arn

  review_agent_role_arn             = module.agent_iam.review_role_arn
  review_agent_instance_profile_arn = module.agent_iam.review_instance_profile_arn
  review_agent_security_group_id    = module.agent_iam.review_security_group_id
  trusted_principal_arns            = var.provisioner_principal_arns
}

# `provisioner watch` as an ECS service (Fargate, one task) beside the controller, when an image is
# given: its task role has exactly the provisioner's policy above, its token comes from Secrets
# Manager, and it reaches only Jenkins' internal load balancer and the VPC endpoints.
module "fleet_watch" {
  source = "../modules/fleet-watch"
  count  = var.watch_image == null ? 0 : 1

  name                                       = "${var.fleet}-fleet-watch"
  image                                      = var.watch_image
  token_secret_arn                           = var.watch_token_secret_arn
  token_kms_key_arn                          = var.watch_token_kms_key_arn
  provisioner_policy_arn                     = module.provisioner_iam.policy_arn
  region                                     = var.region
  vpc_id                                     = module.network.vpc_id
  subnet_ids                                 = module.network.private_subnet_ids
  controller_load_balancer_security_group_id = module.controller.load_balancer_security_group_id
  endpoint_security_group_id                 = module.network.endpoint_security_group_id
  gateway_prefix_list_ids                    = module.network.gateway_prefix_list_ids
  log_kms_key_arn                            = module.log_key.arn
  tags                                       = var.tags
}

# EBS encryption by default is an account setting: terraform/account owns it now. Forgotten here
# without being destroyed, which would switch it off for the whole account.
removed {
  from = aws_ebs_encryption_by_default.this

  lifecycle {
    destroy = false
  }
}
