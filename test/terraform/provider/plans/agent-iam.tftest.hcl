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
    condition     = alltrue([for kind in ["deploy", "review"] : aws_iam_role_policy_attachment.ssm_core[kind].policy_arn == "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"])
    error_message = "Both agent roles need AmazonSSMManagedInstanceCore to be managed through SSM."
  }

  assert {
    condition     = output.kms_alias_name == "alias/jenkins-fleet/bank-ci" && aws_iam_instance_profile.agent["deploy"].name == "jenkins-fleet-bank-ci-agent"
    error_message = "The alias and the deploy agents' instance profile are named after the fleet (as before the pull-request agents had their own)."
  }

  assert {
    condition     = alltrue([for kind in ["deploy", "review"] : toset([aws_vpc_security_group_egress_rule.agent_http[kind].from_port, aws_vpc_security_group_egress_rule.agent_https[kind].from_port]) == toset([80, 443])])
    error_message = "Agents of both kinds go out on 80 and 443 only."
  }
}

run "pull_request_agents_have_a_role_profile_and_group_of_their_own" {
  command = plan

  assert {
    condition     = aws_iam_role.agent["review"].name == "jenkins-fleet-bank-ci-review-agent" && aws_iam_instance_profile.agent["review"].name == "jenkins-fleet-bank-ci-review-agent" && aws_iam_instance_profile.agent["review"].role == "jenkins-fleet-bank-ci-review-agent"
    error_message = "The pull-request agents' instance profile carries their own role, not the deploy agents'."
  }

  assert {
    condition     = aws_security_group.agent["review"].name_prefix == "jenkins-fleet-bank-ci-review-agent-" && aws_security_group.agent["deploy"].name_prefix == "jenkins-fleet-bank-ci-agent-"
    error_message = "The pull-request agents have a security group apart from the deploy agents'."
  }

  assert {
    condition     = aws_security_group.agent["deploy"].description == "Jenkins fleet bank-ci agents: no inbound, HTTP(S) outbound"
    error_message = "The deploy agents' group keeps its description: a new one would replace the group of an existing estate."
  }
}
