# Plans terraform/modules/provisioner-iam offline with the real aws provider and checks the policy
# document as the provider renders it: exact ARNs, condition keys and values for fleet bank-ci.

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

variables {
  fleet                      = "bank-ci"
  regions                    = ["us-east-1"]
  agent_role_arn             = "arn:aws:iam::111122223333:role/jenkins-fleet-bank-ci-agent"
  agent_instance_profile_arn = "arn:aws:iam::111122223333:instance-profile/jenkins-fleet-bank-ci-agent"
  agent_subnet_ids           = ["subnet-0aaa", "subnet-0bbb"]
  agent_security_group_id    = "sg-0ccc"
  kms_key_arn                = "arn:aws:kms:us-east-1:111122223333:key/fleet-key"
  lock_table_arn             = "arn:aws:dynamodb:us-east-1:111122223333:table/jenkins-fleet-bank-ci-locks"
}

run "the_run_lock_is_read_and_updated_only_on_the_fleets_own_item" {
  command = plan

  assert {
    condition = [for s in jsondecode(output.policy_json).Statement : [s.Effect, toset(s.Action), s.Resource, s.Condition] if s.Sid == "HoldOwnFleetRunLock"] == [[
      "Allow",
      toset(["dynamodb:GetItem", "dynamodb:UpdateItem"]),
      "arn:aws:dynamodb:us-east-1:111122223333:table/jenkins-fleet-bank-ci-locks",
      { "ForAllValues:StringEquals" = { "dynamodb:LeadingKeys" = "fleet/bank-ci" } },
    ]]
    error_message = "The run lock: GetItem and UpdateItem on the lock table, item fleet/bank-ci only: ${jsonencode([for s in jsondecode(output.policy_json).Statement : s if s.Sid == "HoldOwnFleetRunLock"])}"
  }
}

run "launch_is_conditioned_on_the_fleet_tag_imdsv2_and_the_agent_profile" {
  command = plan

  assert {
    condition = [for s in jsondecode(output.policy_json).Statement : s if s.Sid == "LaunchOnlyTaggedHardenedAgents"] == [{
      Sid      = "LaunchOnlyTaggedHardenedAgents"
      Effect   = "Allow"
      Action   = "ec2:RunInstances"
      Resource = "arn:aws:ec2:*:111122223333:instance/*"
      Condition = {
        StringEquals = { "aws:RequestTag/jenkins-fleet:fleet" = "bank-ci", "ec2:MetadataHttpTokens" = "required" }
        ArnEquals    = { "ec2:InstanceProfile" = "arn:aws:iam::111122223333:instance-profile/jenkins-fleet-bank-ci-agent" }
      }
    }]
    error_message = "RunInstances on instances must require the fleet tag, IMDSv2 and the agent profile: ${jsonencode([for s in jsondecode(output.policy_json).Statement : s if s.Sid == "LaunchOnlyTaggedHardenedAgents"])}"
  }

  assert {
    condition = one([for s in jsondecode(output.policy_json).Statement : s if s.Sid == "LaunchOnlyTaggedVolumes"]).Condition == {
      StringEquals = { "aws:RequestTag/jenkins-fleet:fleet" = "bank-ci" }
    }
    error_message = "RunInstances on volumes must require the fleet tag."
  }

  assert {
    condition = toset(flatten([one([for s in jsondecode(output.policy_json).Statement : s if s.Sid == "LaunchIntoAgentNetworkOnly"]).Resource])) == toset([
      "arn:aws:ec2:*:111122223333:subnet/subnet-0aaa",
      "arn:aws:ec2:*:111122223333:subnet/subnet-0bbb",
      "arn:aws:ec2:*:111122223333:security-group/sg-0ccc",
    ])
    error_message = "Launches may use only the agent subnets and security group."
  }

  assert {
    condition     = toset(flatten([one([for s in jsondecode(output.policy_json).Statement : s if s.Sid == "LaunchInterfacesInAgentSubnetsOnly"]).Condition.ArnEquals["ec2:Subnet"]])) == toset(["arn:aws:ec2:*:111122223333:subnet/subnet-0aaa", "arn:aws:ec2:*:111122223333:subnet/subnet-0bbb"])
    error_message = "Network interfaces may be made only in the agent subnets."
  }

  assert {
    condition     = one([for s in jsondecode(output.policy_json).Statement : s if s.Sid == "BootTrustedImagesOnly"]).Resource == "arn:aws:ec2:*::image/*"
    error_message = "Image ARNs have no account."
  }

  assert {
    condition = [for s in jsondecode(output.policy_json).Statement : [s.Effect, toset(s.Action), s.Resource, s.Condition] if s.Sid == "StayInFleetRegions"] == [[
      "Deny", toset(["ec2:*", "ssm:*"]), "*", { StringNotEquals = { "aws:RequestedRegion" = "us-east-1" } },
    ]]
    error_message = "EC2 and SSM calls outside the fleet's regions must be denied."
  }
}

run "every_region_of_the_fleet_is_allowed_and_its_endpoints_may_use_the_keys" {
  command = plan

  variables {
    regions         = ["us-east-1", "us-west-2"]
    ebs_kms_key_arn = "arn:aws:kms:us-east-1:111122223333:key/ebs-key"
  }

  assert {
    condition     = toset(flatten([one([for s in jsondecode(output.policy_json).Statement : s if s.Sid == "StayInFleetRegions"]).Condition.StringNotEquals["aws:RequestedRegion"]])) == toset(["us-east-1", "us-west-2"])
    error_message = "Both regions must be allowed."
  }

  assert {
    condition     = toset(flatten([one([for s in jsondecode(output.policy_json).Statement : s if s.Sid == "UseFleetKeyThroughSsmOnly"]).Condition.StringEquals["kms:ViaService"]])) == toset(["ssm.us-east-1.amazonaws.com", "ssm.us-west-2.amazonaws.com"])
    error_message = "The fleet key may be used through SSM in every region of the fleet."
  }

  assert {
    condition = [for s in jsondecode(output.policy_json).Statement : [toset(flatten([s.Action])), s.Resource, toset(flatten([s.Condition.StringEquals["kms:ViaService"]]))] if s.Sid == "UseEbsKeyThroughEc2Only"] == [[
      toset(["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo"]),
      "arn:aws:kms:us-east-1:111122223333:key/ebs-key",
      toset(["ec2.us-east-1.amazonaws.com", "ec2.us-west-2.amazonaws.com"]),
    ]]
    error_message = "EBS may use the volume key only through EC2."
  }

  assert {
    condition = [for s in jsondecode(output.policy_json).Statement : [s.Action, s.Resource, s.Condition.Bool] if s.Sid == "GrantEbsKeyToVolumesOnly"] == [[
      "kms:CreateGrant", "arn:aws:kms:us-east-1:111122223333:key/ebs-key", { "kms:GrantIsForAWSResource" = "true" },
    ]]
    error_message = "Grants on the volume key only for AWS resources (EBS), through EC2."
  }
}

run "tags_terminate_commands_parameters_and_passrole_stay_within_the_fleet" {
  command = plan

  assert {
    condition = [for s in jsondecode(output.policy_json).Statement : [keys(s.Condition), keys(s.Condition.StringEquals), toset(s.Condition.StringEquals["ec2:CreateAction"]), s.Condition.StringEquals["aws:RequestTag/jenkins-fleet:fleet"]] if s.Sid == "TagOnlyAtLaunch"] == [[
      ["StringEquals"], ["aws:RequestTag/jenkins-fleet:fleet", "ec2:CreateAction"], toset(["RunInstances", "CreateFleet", "CreateLaunchTemplate"]), "bank-ci",
    ]]
    error_message = "CreateTags must be allowed only as part of RunInstances, CreateFleet or CreateLaunchTemplate, with the fleet tag."
  }

  assert {
    condition = [for s in jsondecode(output.policy_json).Statement : [s.Resource, s.Condition] if s.Sid == "MarkOwnInstancesBootstrapped"] == [[
      "arn:aws:ec2:*:111122223333:instance/*",
      {
        StringEquals                = { "ec2:ResourceTag/jenkins-fleet:fleet" = "bank-ci" }
        "ForAllValues:StringEquals" = { "aws:TagKeys" = "jenkins-fleet:bootstrapped" }
      },
    ]]
    error_message = "Later tags: only jenkins-fleet:bootstrapped, only on the fleet's instances."
  }

  assert {
    condition = [for s in jsondecode(output.policy_json).Statement : [s.Action, s.Resource, s.Condition] if s.Sid == "RecordOwnInstancesIdleness"] == [[
      "ec2:CreateTags",
      "arn:aws:ec2:*:111122223333:instance/*",
      {
        StringEquals                = { "ec2:ResourceTag/jenkins-fleet:fleet" = "bank-ci" }
        "ForAllValues:StringEquals" = { "aws:TagKeys" = "jenkins-fleet:idle-since" }
      },
    ]]
    error_message = "watch's idleness record: only jenkins-fleet:idle-since, only on the fleet's instances."
  }

  assert {
    condition = one([for s in jsondecode(output.policy_json).Statement : s if s.Sid == "TerminateOwnFleetOnly"]).Condition == {
      StringEquals = { "ec2:ResourceTag/jenkins-fleet:fleet" = "bank-ci" }
    }
    error_message = "TerminateInstances must require the fleet tag on the instance."
  }

  assert {
    condition = one([for s in jsondecode(output.policy_json).Statement : s if s.Sid == "RunCommandsOnOwnFleetOnly"]).Condition == {
      StringEquals = { "ssm:resourceTag/jenkins-fleet:fleet" = "bank-ci" }
    }
    error_message = "SendCommand must require the fleet tag on the instance."
  }

  assert {
    condition = [for s in jsondecode(output.policy_json).Statement : [s.Action, s.Resource, s.Condition] if s.Sid == "TagSecretsWithTheirReader"] == [[
      "ssm:AddTagsToResource",
      "arn:aws:ssm:*:111122223333:parameter/jenkins-fleet/bank-ci/agents/*",
      {
        "ForAllValues:StringEquals" = { "aws:TagKeys" = "jenkins-fleet:instance" }
        ArnLike                     = { "aws:RequestTag/jenkins-fleet:instance" = "arn:aws:ec2:*:111122223333:instance/*" }
      },
    ]]
    error_message = "Secrets may be tagged only with their reader's instance ARN, under jenkins-fleet:instance."
  }

  assert {
    condition     = one([for s in jsondecode(output.policy_json).Statement : s if s.Sid == "RunShellScriptDocumentOnly"]).Resource == "arn:aws:ssm:*::document/AWS-RunShellScript"
    error_message = "SendCommand may use only the AWS-RunShellScript document."
  }

  assert {
    condition     = one([for s in jsondecode(output.policy_json).Statement : s if s.Sid == "FleetParametersOnly"]).Resource == "arn:aws:ssm:*:111122223333:parameter/jenkins-fleet/bank-ci/*"
    error_message = "Parameters must stay under /jenkins-fleet/bank-ci/."
  }

  assert {
    condition = [for s in jsondecode(output.policy_json).Statement : [s.Resource, s.Condition] if s.Sid == "PassAgentRoleOnly"] == [[
      "arn:aws:iam::111122223333:role/jenkins-fleet-bank-ci-agent",
      { StringEquals = { "iam:PassedToService" = "ec2.amazonaws.com" } },
    ]]
    error_message = "PassRole must name only the agent role, only for EC2."
  }

  assert {
    condition = [for s in jsondecode(output.policy_json).Statement : [s.Resource, s.Condition] if s.Sid == "UseFleetKeyThroughSsmOnly"] == [[
      "arn:aws:kms:us-east-1:111122223333:key/fleet-key",
      { StringEquals = { "kms:ViaService" = "ssm.us-east-1.amazonaws.com" } },
    ]]
    error_message = "The fleet key may be used only through SSM."
  }

  assert {
    condition     = alltrue([for s in jsondecode(output.policy_json).Statement : s.Sid == "DescribeAndFollowCommands" || s.Effect == "Deny" || !contains(flatten([s.Resource]), "*")])
    error_message = "Only the Describe/List statement may allow every resource."
  }
}

run "without_a_customer_key_no_kms_permission_is_granted" {
  command = plan

  variables {
    kms_key_arn = null
  }

  assert {
    condition     = length([for s in jsondecode(output.policy_json).Statement : s if startswith(jsonencode(s.Action), "\"kms:") || strcontains(jsonencode(s.Action), "\"kms:")]) == 0
    error_message = "With the aws/ssm key the provisioner needs no KMS permission."
  }
}

run "spot_fleets_launch_only_tagged_agents_from_the_fleets_own_templates" {
  command = plan

  assert {
    condition = [for s in jsondecode(output.policy_json).Statement : [s.Action, s.Resource, s.Condition] if s.Sid == "CreateFleetsOfTaggedAgents"] == [[
      "ec2:CreateFleet", "arn:aws:ec2:*:111122223333:fleet/*",
      { StringEquals = { "aws:RequestTag/jenkins-fleet:fleet" = "bank-ci" } },
    ]]
    error_message = "CreateFleet must tag its fleet with the fleet tag."
  }

  assert {
    condition = [for s in jsondecode(output.policy_json).Statement : [s.Resource, s.Condition] if s.Sid == "CreateFleetInstancesTaggedWithAgentProfile"] == [[
      "arn:aws:ec2:*:111122223333:instance/*",
      {
        StringEquals = { "aws:RequestTag/jenkins-fleet:fleet" = "bank-ci" }
        ArnEquals    = { "ec2:InstanceProfile" = "arn:aws:iam::111122223333:instance-profile/jenkins-fleet-bank-ci-agent" }
      },
    ]]
    error_message = "CreateFleet's instances must carry the fleet tag and the agent profile."
  }

  assert {
    condition = alltrue([for sid in ["CreateFleetsFromFleetTemplates", "KeepOwnLaunchTemplates", "LaunchFromFleetTemplatesOnly"] :
      one([for s in jsondecode(output.policy_json).Statement : s if s.Sid == sid]).Condition == { StringEquals = { "ec2:ResourceTag/jenkins-fleet:fleet" = "bank-ci" } }
    ])
    error_message = "Launch templates may be used, changed and deleted only when tagged with the fleet."
  }

  assert {
    condition     = one([for s in jsondecode(output.policy_json).Statement : s if s.Sid == "CreateTaggedLaunchTemplates"]).Condition == { StringEquals = { "aws:RequestTag/jenkins-fleet:fleet" = "bank-ci" } }
    error_message = "Launch templates must be created tagged with the fleet."
  }

  assert {
    condition     = toset(flatten([one([for s in jsondecode(output.policy_json).Statement : s if s.Sid == "CreateFleetsInAgentSubnetsOnly"]).Resource])) == toset(["arn:aws:ec2:*:111122223333:subnet/subnet-0aaa", "arn:aws:ec2:*:111122223333:subnet/subnet-0bbb"])
    error_message = "CreateFleet may name only the agent subnets."
  }
}

run "the_interruption_queue_is_only_received_from_and_deleted_in" {
  command = plan

  assert {
    condition     = length([for s in jsondecode(output.policy_json).Statement : s if can(regex("sqs:", jsonencode(s.Action)))]) == 0
    error_message = "Without interruption_queue_arns, no right on any queue."
  }
}

run "with_the_queue_receive_and_delete_on_it_alone" {
  command = plan

  variables {
    interruption_queue_arns = ["arn:aws:sqs:us-east-1:111122223333:jenkins-fleet-bank-ci-interruptions"]
  }

  assert {
    condition = [for s in jsondecode(output.policy_json).Statement : [s.Effect, toset(s.Action), s.Resource] if can(regex("sqs:", jsonencode(s.Action)))] == [[
      "Allow",
      toset(["sqs:DeleteMessage", "sqs:ReceiveMessage"]),
      "arn:aws:sqs:us-east-1:111122223333:jenkins-fleet-bank-ci-interruptions",
    ]]
    error_message = "sqs:ReceiveMessage and sqs:DeleteMessage on the fleet's queue, nothing else of SQS: ${output.policy_json}"
  }
}

run "with_a_queue_per_region_receive_and_delete_on_those_alone_in_one_statement" {
  command = plan

  variables {
    interruption_queue_arns = ["arn:aws:sqs:us-east-1:111122223333:jenkins-fleet-bank-ci-interruptions", "arn:aws:sqs:us-west-2:111122223333:jenkins-fleet-bank-ci-interruptions"]
  }

  assert {
    condition = [for s in jsondecode(output.policy_json).Statement : [s.Sid, toset(s.Action), toset(s.Resource)] if can(regex("sqs:", jsonencode(s.Action)))] == [[
      "ReadOwnInterruptionNotices",
      toset(["sqs:DeleteMessage", "sqs:ReceiveMessage"]),
      toset(["arn:aws:sqs:us-east-1:111122223333:jenkins-fleet-bank-ci-interruptions", "arn:aws:sqs:us-west-2:111122223333:jenkins-fleet-bank-ci-interruptions"]),
    ]]
    error_message = "One statement, both regions' queues, nothing else of SQS: ${output.policy_json}"
  }
}

run "an_empty_list_of_queues_is_refused" {
  command = plan

  variables {
    interruption_queue_arns = []
  }

  expect_failures = [var.interruption_queue_arns]
}

run "the_pull_request_agents_own_profile_group_and_role_are_allowed_beside_the_deploy_agents" {
  command = plan

  variables {
    review_agent_role_arn             = "arn:aws:iam::111122223333:role/jenkins-fleet-bank-ci-review-agent"
    review_agent_instance_profile_arn = "arn:aws:iam::111122223333:instance-profile/jenkins-fleet-bank-ci-review-agent"
    review_agent_security_group_id    = "sg-0ddd"
  }

  assert {
    condition = toset(flatten([one([for s in jsondecode(output.policy_json).Statement : s if s.Sid == "LaunchOnlyTaggedHardenedAgents"]).Condition.ArnEquals["ec2:InstanceProfile"]])) == toset([
      "arn:aws:iam::111122223333:instance-profile/jenkins-fleet-bank-ci-agent",
      "arn:aws:iam::111122223333:instance-profile/jenkins-fleet-bank-ci-review-agent",
    ])
    error_message = "Launches may use the deploy agents' or the pull-request agents' profile, no other."
  }

  assert {
    condition = toset(flatten([one([for s in jsondecode(output.policy_json).Statement : s if s.Sid == "LaunchIntoAgentNetworkOnly"]).Resource])) == toset([
      "arn:aws:ec2:*:111122223333:subnet/subnet-0aaa",
      "arn:aws:ec2:*:111122223333:subnet/subnet-0bbb",
      "arn:aws:ec2:*:111122223333:security-group/sg-0ccc",
      "arn:aws:ec2:*:111122223333:security-group/sg-0ddd",
    ])
    error_message = "Launches may use the agent subnets and the two agent security groups only."
  }

  assert {
    condition = toset(flatten([one([for s in jsondecode(output.policy_json).Statement : s if s.Sid == "PassAgentRoleOnly"]).Resource])) == toset([
      "arn:aws:iam::111122223333:role/jenkins-fleet-bank-ci-agent",
      "arn:aws:iam::111122223333:role/jenkins-fleet-bank-ci-review-agent",
    ])
    error_message = "The provisioner may pass the two agent roles only."
  }
}
