# Plans the whole terraform/jenkins root offline with the real aws provider (only the data sources
# that would call AWS are overridden): every module's expressions evaluate, and the outputs that
# fleet.yaml takes have the expected shape.

provider "aws" {
  region                      = "us-east-1"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}

override_data {
  target = module.network.data.aws_availability_zones.available
  values = { names = ["us-east-1a", "us-east-1b", "us-east-1c"] }
}

override_data {
  target = module.agent_iam.data.aws_caller_identity.current
  values = { account_id = "111122223333" }
}

override_data {
  target = module.provisioner_iam.data.aws_caller_identity.current
  values = { account_id = "111122223333" }
}

override_data {
  target = module.controller.data.aws_caller_identity.current
  values = { account_id = "111122223333" }
}

override_data {
  target = module.controller.module.load_balancer.data.aws_caller_identity.current
  values = { account_id = "111122223333" }
}

override_data {
  target = module.agent_iam.module.key.data.aws_caller_identity.current
  values = { account_id = "111122223333" }
}

override_data {
  target = module.app_pipeline_roles.data.aws_caller_identity.current
  values = { account_id = "111122223333" }
}

override_data {
  target = module.log_key.data.aws_caller_identity.current
  values = { account_id = "111122223333" }
}

override_data {
  target = module.interruption_queue.data.aws_caller_identity.current
  values = { account_id = "111122223333" }
}

override_data {
  target = module.controller.data.aws_ssm_parameter.ami
  values = { insecure_value = "ami-00000000000000000", value = "ami-00000000000000000" }
}

override_data {
  target = module.controller.data.aws_subnet.controller
  values = { availability_zone = "us-east-1a" }
}

variables {
  controller_domain_name     = "jenkins.bank.example"
  controller_certificate_arn = "arn:aws:acm:us-east-1:111122223333:certificate/jenkins"
  hosted_zone_id             = "Z0123456789ABC"
  controller_image           = "111122223333.dkr.ecr.us-east-1.amazonaws.com/bank-ci/jenkins:2.580.1"
  github_owner               = "bank-example"
  app_state_bucket           = "bank-tfstate-prod"
}

run "the_ci_estate_plans_and_outputs_what_fleet_yaml_needs" {
  command = plan

  assert {
    condition     = output.fleet == "bank-ci" && output.region == "us-east-1"
    error_message = "fleet and region come from the inputs."
  }

  assert {
    condition     = output.controller_url == "https://jenkins.bank.example/"
    error_message = "controller.url is the controller's HTTPS name."
  }

  assert {
    condition     = length(output.agent_subnet_ids) == 2
    error_message = "Agents get the two private subnets."
  }

  assert {
    condition     = output.agent_instance_profile == "jenkins-fleet-bank-ci-agent" && output.agent_kms_key_alias == "alias/jenkins-fleet/bank-ci"
    error_message = "The profile and key alias are named after the fleet."
  }

  assert {
    condition     = output.review_agent_instance_profile == "jenkins-fleet-bank-ci-review-agent"
    error_message = "The pull-request pool gets an instance profile of its own, not the deploy agents'."
  }

  assert {
    condition     = output.controller_secrets_path == "/jenkins-controller/bank-ci-jenkins"
    error_message = "The controller reads its secrets under its own path."
  }

  assert {
    condition     = length(module.controller.assumable_role_arns) == 2
    error_message = "The controller may assume the pipeline's deploy and plan roles."
  }

  assert {
    condition     = output.controller_load_balancer_internal
    error_message = "Jenkins is behind an internal load balancer: nothing on the internet reaches it."
  }

  assert {
    condition     = output.lock_table == "jenkins-fleet-bank-ci-locks" && aws_dynamodb_table.run_lock.billing_mode == "PAY_PER_REQUEST" && aws_dynamodb_table.run_lock.hash_key == "lease"
    error_message = "The run lock's table is named after the fleet, on-demand, keyed by lease (fleet.yaml lock.table)."
  }

  assert {
    condition     = one(aws_dynamodb_table.run_lock.ttl).attribute_name == "expireItemAt" && one(aws_dynamodb_table.run_lock.point_in_time_recovery).enabled && one(aws_dynamodb_table.run_lock.server_side_encryption).enabled && aws_dynamodb_table.run_lock.deletion_protection_enabled
    error_message = "The run lock's table has TTL on expireItemAt, point-in-time recovery, encryption and deletion protection."
  }

  assert {
    condition     = module.interruption_queue.queue_name == "jenkins-fleet-bank-ci-interruptions"
    error_message = "The fleet's interruption queue is made, under the name provisioner sandbox gives its stand-in (provisioner-iam's plan checks the right to read it)."
  }

  assert {
    condition     = toset(output.vpc_endpoints) == toset(["ec2", "ec2messages", "ecr.api", "ecr.dkr", "kms", "logs", "secretsmanager", "sqs", "ssm", "ssmmessages", "sts"])
    error_message = "The agents', the controller's and the provisioner's AWS calls stay inside the VPC."
  }
}

run "no_watch_service_without_an_image" {
  command = plan

  assert {
    condition     = output.watch_service == null && length(module.fleet_watch) == 0
    error_message = "Without watch_image no ECS service is planned."
  }
}

# The provisioner's policy ARN is only known after apply: given here so that the task role's
# attachment can be compared with it.
override_resource {
  target          = module.provisioner_iam.aws_iam_policy.provisioner
  values          = { arn = "arn:aws:iam::111122223333:policy/bank-ci-provisioner" }
  override_during = plan
}

run "provisioner_watch_runs_as_a_fargate_service_with_the_provisioners_policy_alone" {
  command = plan

  variables {
    watch_image            = "111122223333.dkr.ecr.us-east-1.amazonaws.com/bank-ci/fleet-watch:2026.11.28"
    watch_token_secret_arn = "arn:aws:secretsmanager:us-east-1:111122223333:secret:bank-ci/jenkins-fleet-token-AbCdEf"
  }

  assert {
    condition     = module.fleet_watch[0].task_role_policy_arns == ["arn:aws:iam::111122223333:policy/bank-ci-provisioner"]
    error_message = "The task role carries the provisioner's managed policy and nothing else."
  }

  assert {
    condition     = module.fleet_watch[0].container.secrets == [{ name = "JENKINS_API_TOKEN", valueFrom = "arn:aws:secretsmanager:us-east-1:111122223333:secret:bank-ci/jenkins-fleet-token-AbCdEf" }]
    error_message = "The Jenkins token is injected by ECS from the secret (valueFrom)."
  }

  assert {
    condition     = alltrue([for e in module.fleet_watch[0].container.environment : !can(regex("(?i)token|secret|password", e.name))])
    error_message = "No token, secret or password is in the task definition's plain environment."
  }

  assert {
    condition     = join(" ", module.fleet_watch[0].container.command) == "node /opt/jenkins-fleet/bin/provisioner.mjs --config /opt/jenkins-fleet/fleet.yaml watch --tick 5s --json"
    error_message = "The task runs `provisioner watch` on the baked-in fleet file (its lease time from the file's lock.expireAfter)."
  }

  assert {
    condition     = join(",", module.fleet_watch[0].egress_ports) == "tcp/443-443"
    error_message = "The task's only egress is HTTPS (Jenkins' load balancer, the VPC endpoints)."
  }

  assert {
    condition     = output.watch_service.service_name == "bank-ci-fleet-watch" && output.watch_service.log_group_name == "/ecs/bank-ci-fleet-watch"
    error_message = "The service and its log group are named after the fleet."
  }
}
