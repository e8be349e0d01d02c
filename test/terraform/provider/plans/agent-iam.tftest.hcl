# Plans terraform/modules/agent-iam offline with the real aws provider. The policy document itself
# depends on the key's ARN, known only after apply: the agent-iam rule of the HCL policy checks its
# statements; this plan checks the names and rules that are known now.

provider "aws" {
  region                      = "us-east-1"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}

override_data {
  target = data.aws_caller_identity.current
  values = { account_id = "111122223333" }
}

override_data {
  target = module.key.data.aws_caller_identity.current
  values = { account_id = "111122223333" }
}

variables {
  fleet  = "bank-ci"
  vpc_id = "vpc-0aaa"
}

run "agents_are_ssm_managed_named_after_the_fleet_and_only_go_out" {
  command = plan

  assert {
    condition     = aws_iam_role_policy_attachment.ssm_core.policy_arn == "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
    error_message = "The agent role needs AmazonSSMManagedInstanceCore to be managed through SSM."
  }

  assert {
    condition     = output.kms_alias_name == "alias/jenkins-fleet/bank-ci" && aws_iam_instance_profile.agent.name == "jenkins-fleet-bank-ci-agent"
    error_message = "The alias and the instance profile are named after the fleet."
  }

  assert {
    condition     = toset([aws_vpc_security_group_egress_rule.agent_http.from_port, aws_vpc_security_group_egress_rule.agent_https.from_port]) == toset([80, 443])
    error_message = "Agents go out on 80 and 443 only."
  }
}
