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
    condition     = toset(output.vpc_endpoints) == toset(["ec2", "ec2messages", "ecr.api", "ecr.dkr", "kms", "logs", "ssm", "ssmmessages", "sts"])
    error_message = "The agents', the controller's and the provisioner's AWS calls stay inside the VPC."
  }
}
