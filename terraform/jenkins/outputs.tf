# Everything fleet.yaml needs, named after the placeholders in examples/fleet.yaml.

output "fleet" {
  description = "fleet.yaml `fleet:`."
  value       = var.fleet
}

output "region" {
  description = "fleet.yaml `region:`."
  value       = var.region
}

output "controller_url" {
  description = "fleet.yaml controller.url."
  value       = module.controller.url
}

output "agent_subnet_ids" {
  description = "fleet.yaml pools[].subnets: the two private subnets, one per availability zone."
  value       = module.network.private_subnet_ids
}

output "agent_security_group_id" {
  description = "fleet.yaml pools[].securityGroups of every pool but the pull-request one: the deploy agents' group, which has no inbound rule."
  value       = module.agent_iam.security_group_id
}

output "agent_instance_profile" {
  description = "fleet.yaml pools[].instanceProfile of every pool but the pull-request one."
  value       = module.agent_iam.instance_profile_name
}

output "review_agent_security_group_id" {
  description = "fleet.yaml pools[].securityGroups of the pool carrying library.pullRequestLabel: the pull-request agents' own group (no inbound rule), which nothing opened to the deploy agents names."
  value       = module.agent_iam.review_security_group_id
}

output "review_agent_instance_profile" {
  description = "fleet.yaml pools[].instanceProfile of the pool carrying library.pullRequestLabel: a role of its own, without what the deploy agents' role is given."
  value       = module.agent_iam.review_instance_profile_name
}

output "agent_kms_key_alias" {
  description = "fleet.yaml secrets.kmsKeyId: the alias of the key that encrypts agent secrets."
  value       = module.agent_iam.kms_alias_name
}

output "agent_kms_key_id" {
  description = "Id of the same key (secrets.kmsKeyId accepts either)."
  value       = module.agent_iam.kms_key_id
}

output "interruption_queue_url" {
  description = "fleet.yaml interruptions.queue: the SQS queue EventBridge puts EC2's Spot interruption warnings and rebalance recommendations in, for provisioner watch."
  value       = module.interruption_queue.queue_url
}

output "lock_table" {
  description = "fleet.yaml lock.table: the DynamoDB table of the provisioner's run lock (in `region`)."
  value       = aws_dynamodb_table.run_lock.name
}

output "provisioner_policy_arn" {
  description = "The provisioner's least-privilege policy, to attach to whatever identity runs `provisioner up`."
  value       = module.provisioner_iam.policy_arn
}

output "provisioner_role_arn" {
  description = "Role carrying that policy, when provisioner_principal_arns is set; null otherwise."
  value       = module.provisioner_iam.role_arn
}

output "controller_instance_id" {
  description = "The controller instance (aws ssm start-session --target <id>)."
  value       = module.controller.instance_id
}

output "controller_load_balancer_dns_name" {
  description = "Where controller_domain_name must point when hosted_zone_id is null."
  value       = module.controller.load_balancer_dns_name
}

output "controller_secrets_path" {
  description = "Put each secret casc.yaml reads (see jenkins/.env.example) here as a SecureString named after its variable."
  value       = module.controller.secrets_path
}

output "controller_load_balancer_internal" {
  description = "Whether the controller's load balancer is internal (reachable only from the VPC and controller_allowed_cidrs)."
  value       = module.controller.load_balancer_internal
}

output "app_deploy_role_arn" {
  description = "iamRoleArn of the Jenkins credential aws-deploy (deploy branch: terraform/app apply)."
  value       = module.app_pipeline_roles.deploy_role_arn
}

output "app_plan_role_arn" {
  description = "iamRoleArn of the Jenkins credential aws-plan (pull requests: read-only terraform/app plan with -lock=false)."
  value       = module.app_pipeline_roles.plan_role_arn
}

output "app_permissions_boundary_arn" {
  description = "The boundary every role terraform/app creates carries."
  value       = module.app_pipeline_roles.boundary_policy_arn
}

output "vpc_endpoints" {
  description = "AWS services reached through interface endpoints in the CI VPC (S3 through a gateway endpoint besides)."
  value       = module.network.interface_endpoints
}

output "watch_service" {
  description = "The `provisioner watch` ECS service (cluster ARN, service name, log group, task role ARN), when watch_image is set; null otherwise."
  value = length(module.fleet_watch) == 0 ? null : {
    cluster_arn    = module.fleet_watch[0].cluster_arn
    service_name   = module.fleet_watch[0].service_name
    log_group_name = module.fleet_watch[0].log_group_name
    task_role_arn  = module.fleet_watch[0].task_role_arn
  }
}
