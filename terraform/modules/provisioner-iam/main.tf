# The provisioner's own permissions, least privilege: it may launch instances and volumes only if
# they carry the fleet's tag from birth, with IMDSv2, the agent profile, the agent subnets and
# security group (with RunInstances, or CreateFleet from the fleet's own launch templates); touch
# (terminate, run commands on, mark bootstrapped) only instances carrying that tag; keep parameters
# only under /jenkins-fleet/<fleet>/; pass only the agent roles; and hold only its own fleet's item
# of the run lock's table. The agents are the deploy pools' and, apart, the pull-request pool's
# (review_agent_*): each its own role, instance profile and security group.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  partition = data.aws_partition.current.partition
  account   = data.aws_caller_identity.current.account_id

  # Pools may run in several regions (fleet.yaml pools[].region): the ARNs name any region and the
  # statement StayInFleetRegions refuses every EC2 and SSM call outside var.regions.
  ec2_arn          = "arn:${local.partition}:ec2:*:${local.account}"
  subnet_arns      = [for s in var.agent_subnet_ids : "${local.ec2_arn}:subnet/${s}"]
  agent_profiles   = compact([var.agent_instance_profile_arn, var.review_agent_instance_profile_arn])
  agent_groups     = [for g in compact([var.agent_security_group_id, var.review_agent_security_group_id]) : "${local.ec2_arn}:security-group/${g}"]
  fleet_tag        = "jenkins-fleet:fleet"
  bootstrapped_tag = "jenkins-fleet:bootstrapped"
  idle_since_tag   = "jenkins-fleet:idle-since"
  reader_tag       = "jenkins-fleet:instance"
  parameter        = "arn:${local.partition}:ssm:*:${local.account}:parameter/jenkins-fleet/${var.fleet}"
  name             = "jenkins-fleet-${var.fleet}-provisioner"
  ssm_endpoints    = [for r in var.regions : "ssm.${r}.amazonaws.com"]
  ec2_endpoints    = [for r in var.regions : "ec2.${r}.amazonaws.com"]
}

data "aws_iam_policy_document" "provisioner" {
  # RunInstances is authorised once per resource it touches; each statement below covers some.

  statement {
    sid       = "LaunchOnlyTaggedHardenedAgents"
    actions   = ["ec2:RunInstances"]
    resources = ["${local.ec2_arn}:instance/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/${local.fleet_tag}"
      values   = [var.fleet]
    }
    condition {
      test     = "StringEquals"
      variable = "ec2:MetadataHttpTokens"
      values   = ["required"]
    }
    condition {
      test     = "ArnEquals"
      variable = "ec2:InstanceProfile"
      values   = local.agent_profiles
    }
  }

  statement {
    sid       = "LaunchOnlyTaggedVolumes"
    actions   = ["ec2:RunInstances"]
    resources = ["${local.ec2_arn}:volume/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/${local.fleet_tag}"
      values   = [var.fleet]
    }
  }

  statement {
    sid       = "LaunchIntoAgentNetworkOnly"
    actions   = ["ec2:RunInstances"]
    resources = concat(local.subnet_arns, local.agent_groups)
  }

  statement {
    sid       = "LaunchInterfacesInAgentSubnetsOnly"
    actions   = ["ec2:RunInstances"]
    resources = ["${local.ec2_arn}:network-interface/*"]

    condition {
      test     = "ArnEquals"
      variable = "ec2:Subnet"
      values   = local.subnet_arns
    }
  }

  statement {
    sid       = "BootTrustedImagesOnly"
    actions   = ["ec2:RunInstances"]
    resources = ["arn:${local.partition}:ec2:*::image/*"]

    condition {
      test     = "StringEquals"
      variable = "ec2:Owner"
      values   = var.image_owners
    }
  }

  # Spot pools launch through CreateFleet (type instant) from the pool's launch template: the
  # template is a resource of each launch it makes, and a Spot launch makes a Spot request.
  statement {
    sid       = "LaunchFromFleetTemplatesOnly"
    actions   = ["ec2:RunInstances"]
    resources = ["${local.ec2_arn}:launch-template/*"]

    condition {
      test     = "StringEquals"
      variable = "ec2:ResourceTag/${local.fleet_tag}"
      values   = [var.fleet]
    }
  }

  statement {
    sid       = "LaunchSpotInFleetRegions"
    actions   = ["ec2:RunInstances"]
    resources = ["${local.ec2_arn}:spot-instances-request/*"]

    condition {
      test     = "StringEquals"
      variable = "ec2:Region"
      values   = var.regions
    }
  }

  # CreateFleet is authorised on the fleet and each instance it launches (tagged with the fleet from
  # birth, with the agent profile), and on the template and subnets it names; its launches are
  # authorised as the RunInstances statements above say.
  statement {
    sid       = "CreateFleetsOfTaggedAgents"
    actions   = ["ec2:CreateFleet"]
    resources = ["${local.ec2_arn}:fleet/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/${local.fleet_tag}"
      values   = [var.fleet]
    }
  }

  statement {
    sid       = "CreateFleetInstancesTaggedWithAgentProfile"
    actions   = ["ec2:CreateFleet"]
    resources = ["${local.ec2_arn}:instance/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/${local.fleet_tag}"
      values   = [var.fleet]
    }
    condition {
      test     = "ArnEquals"
      variable = "ec2:InstanceProfile"
      values   = local.agent_profiles
    }
  }

  statement {
    sid       = "CreateFleetsFromFleetTemplates"
    actions   = ["ec2:CreateFleet"]
    resources = ["${local.ec2_arn}:launch-template/*"]

    condition {
      test     = "StringEquals"
      variable = "ec2:ResourceTag/${local.fleet_tag}"
      values   = [var.fleet]
    }
  }

  statement {
    sid       = "CreateFleetsInAgentSubnetsOnly"
    actions   = ["ec2:CreateFleet"]
    resources = local.subnet_arns
  }

  # One launch template per spot pool, made tagged with the fleet; only the fleet's templates get
  # new versions or are deleted.
  statement {
    sid       = "CreateTaggedLaunchTemplates"
    actions   = ["ec2:CreateLaunchTemplate"]
    resources = ["${local.ec2_arn}:launch-template/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/${local.fleet_tag}"
      values   = [var.fleet]
    }
  }

  statement {
    sid       = "KeepOwnLaunchTemplates"
    actions   = ["ec2:CreateLaunchTemplateVersion", "ec2:DeleteLaunchTemplate"]
    resources = ["${local.ec2_arn}:launch-template/*"]

    condition {
      test     = "StringEquals"
      variable = "ec2:ResourceTag/${local.fleet_tag}"
      values   = [var.fleet]
    }
  }

  # Tags may be written only as part of the launch (TagSpecifications): no existing instance,
  # someone else's included, can be brought under the fleet by tagging it later.
  statement {
    sid     = "TagOnlyAtLaunch"
    actions = ["ec2:CreateTags"]
    resources = [
      "${local.ec2_arn}:instance/*",
      "${local.ec2_arn}:volume/*",
      "${local.ec2_arn}:fleet/*",
      "${local.ec2_arn}:launch-template/*",
    ]

    condition {
      test     = "StringEquals"
      variable = "ec2:CreateAction"
      values   = ["RunInstances", "CreateFleet", "CreateLaunchTemplate"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/${local.fleet_tag}"
      values   = [var.fleet]
    }
  }

  # The one later tag: the provisioner records a finished bootstrap on its own instances
  # (jenkins-fleet:bootstrapped). The instance must already be the fleet's, and no other key
  # (fleet, pool) may be written this way.
  statement {
    sid       = "MarkOwnInstancesBootstrapped"
    actions   = ["ec2:CreateTags"]
    resources = ["${local.ec2_arn}:instance/*"]

    condition {
      test     = "StringEquals"
      variable = "ec2:ResourceTag/${local.fleet_tag}"
      values   = [var.fleet]
    }
    condition {
      test     = "ForAllValues:StringEquals"
      variable = "aws:TagKeys"
      values   = [local.bootstrapped_tag]
    }
  }

  # `watch` records on its own instances since when each agent is idle (jenkins-fleet:idle-since),
  # so that a later run (`watch --once` from cron) can remove one for idleness. That key only.
  statement {
    sid       = "RecordOwnInstancesIdleness"
    actions   = ["ec2:CreateTags"]
    resources = ["${local.ec2_arn}:instance/*"]

    condition {
      test     = "StringEquals"
      variable = "ec2:ResourceTag/${local.fleet_tag}"
      values   = [var.fleet]
    }
    condition {
      test     = "ForAllValues:StringEquals"
      variable = "aws:TagKeys"
      values   = [local.idle_since_tag]
    }
  }

  # SSH pools with hostKeyPolicy accept-new trust only the host keys an instance printed to its
  # console: reading it is allowed on the fleet's own instances only.
  statement {
    sid       = "ReadOwnConsoleOutput"
    actions   = ["ec2:GetConsoleOutput"]
    resources = ["${local.ec2_arn}:instance/*"]

    condition {
      test     = "StringEquals"
      variable = "ec2:ResourceTag/${local.fleet_tag}"
      values   = [var.fleet]
    }
  }

  statement {
    sid       = "TerminateOwnFleetOnly"
    actions   = ["ec2:TerminateInstances"]
    resources = ["${local.ec2_arn}:instance/*"]

    condition {
      test     = "StringEquals"
      variable = "ec2:ResourceTag/${local.fleet_tag}"
      values   = [var.fleet]
    }
  }

  statement {
    sid       = "PassAgentRoleOnly"
    actions   = ["iam:PassRole"]
    resources = compact([var.agent_role_arn, var.review_agent_role_arn])

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ec2.amazonaws.com"]
    }
  }

  # SendCommand is authorised on the instances and on the document separately.
  statement {
    sid       = "RunCommandsOnOwnFleetOnly"
    actions   = ["ssm:SendCommand"]
    resources = ["${local.ec2_arn}:instance/*"]

    condition {
      test     = "StringEquals"
      variable = "ssm:resourceTag/${local.fleet_tag}"
      values   = [var.fleet]
    }
  }

  statement {
    sid       = "RunShellScriptDocumentOnly"
    actions   = ["ssm:SendCommand"]
    resources = ["arn:${local.partition}:ssm:*::document/AWS-RunShellScript"]
  }

  statement {
    sid = "FleetParametersOnly"
    actions = [
      "ssm:PutParameter",
      "ssm:GetParameter",
      "ssm:DeleteParameter",
    ]
    resources = ["${local.parameter}/*"]
  }

  # Each agent's secret is tagged, as it is stored, with the ARN of the one instance that may read
  # it (agent-iam lets an instance read only the secret tagged with its own ARN). Storing with Tags
  # needs AddTagsToResource too; no other key, and only an instance ARN of this account.
  statement {
    sid       = "TagSecretsWithTheirReader"
    actions   = ["ssm:AddTagsToResource"]
    resources = ["${local.parameter}/agents/*"]

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "aws:TagKeys"
      values   = [local.reader_tag]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:RequestTag/${local.reader_tag}"
      values   = ["${local.ec2_arn}:instance/*"]
    }
  }

  # `image: resolve:ssm:/aws/service/...` is resolved by RunInstances with the caller's rights.
  statement {
    sid       = "ResolvePublicAmiParameters"
    actions   = ["ssm:GetParameter", "ssm:GetParameters"]
    resources = ["arn:${local.partition}:ssm:*::parameter/aws/service/*"]
  }

  # The run lock (provisioner/src/lock/, aws/lease.ts): GetItem reads it, UpdateItem takes, renews,
  # releases and breaks it, always with a condition. Only the fleet's own item (its key is
  # fleet/<fleet>), so one fleet's provisioner cannot hold or break another's lock.
  statement {
    sid       = "HoldOwnFleetRunLock"
    actions   = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    resources = [var.lock_table_arn]

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "dynamodb:LeadingKeys"
      values   = ["fleet/${var.fleet}"]
    }
  }

  # EC2's interruption notices (provisioner/src/aws/sqs.ts): ReceiveMessage and DeleteMessage on the
  # fleet's queues only (one per region with Spot pools); the adapter reads no queue attribute, and
  # sending is EventBridge's alone.
  dynamic "statement" {
    for_each = var.interruption_queue_arns == null ? [] : [var.interruption_queue_arns]
    content {
      sid       = "ReadOwnInterruptionNotices"
      actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage"]
      resources = statement.value
    }
  }

  # These calls have no resource-level permissions: they can only be granted on "*". They read,
  # never change (DescribeParameters lists names and metadata, never values: the provisioner
  # finds the secrets of instances that no longer exist with it).
  statement {
    sid = "DescribeAndFollowCommands"
    actions = [
      "ec2:DescribeInstances",
      "ec2:DescribeInstanceStatus",
      "ec2:DescribeSubnets",
      "ec2:DescribeSecurityGroups",
      "ec2:DescribeImages",
      "ec2:DescribeLaunchTemplates",
      "ec2:DescribeTags",
      "ec2:DescribeAvailabilityZones",
      "ssm:DescribeInstanceInformation",
      # Lists the fleet's secret parameters (names only) to find those of instances now gone.
      "ssm:DescribeParameters",
      "ssm:GetCommandInvocation",
      "ssm:ListCommandInvocations",
      "ssm:ListCommands",
    ]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]

    content {
      sid       = "UseFleetKeyThroughSsmOnly"
      actions   = ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = local.ssm_endpoints
      }
    }
  }

  # Launching with an encrypted root volume under a customer managed key (the account's default EBS
  # key, or one the AMI's snapshot uses): EBS acts with the caller's rights through EC2, creating a
  # grant for the volume and data keys under it.
  dynamic "statement" {
    for_each = var.ebs_kms_key_arn == null ? [] : [var.ebs_kms_key_arn]

    content {
      sid       = "UseEbsKeyThroughEc2Only"
      actions   = ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = local.ec2_endpoints
      }
    }
  }

  dynamic "statement" {
    for_each = var.ebs_kms_key_arn == null ? [] : [var.ebs_kms_key_arn]

    content {
      sid       = "GrantEbsKeyToVolumesOnly"
      actions   = ["kms:CreateGrant"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = local.ec2_endpoints
      }
      condition {
        test     = "Bool"
        variable = "kms:GrantIsForAWSResource"
        values   = ["true"]
      }
    }
  }

  statement {
    sid       = "StayInFleetRegions"
    effect    = "Deny"
    actions   = ["ec2:*", "ssm:*"]
    resources = ["*"]

    condition {
      test     = "StringNotEquals"
      variable = "aws:RequestedRegion"
      values   = var.regions
    }
  }
}

resource "aws_iam_policy" "provisioner" {
  name        = local.name
  description = "Least privilege for the jenkins-fleet provisioner of fleet ${var.fleet}"
  policy      = data.aws_iam_policy_document.provisioner.json

  tags = merge(var.tags, { JenkinsFleet = var.fleet })
}

data "aws_iam_policy_document" "assume" {
  count = length(var.trusted_principal_arns) > 0 ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "AWS"
      identifiers = var.trusted_principal_arns
    }
  }
}

resource "aws_iam_role" "provisioner" {
  count = length(var.trusted_principal_arns) > 0 ? 1 : 0

  name                 = local.name
  description          = "Runs the jenkins-fleet provisioner for fleet ${var.fleet}"
  assume_role_policy   = data.aws_iam_policy_document.assume[0].json
  max_session_duration = 3600

  tags = merge(var.tags, { JenkinsFleet = var.fleet })
}

resource "aws_iam_role_policy_attachment" "provisioner" {
  count = length(var.trusted_principal_arns) > 0 ? 1 : 0

  role       = aws_iam_role.provisioner[0].name
  policy_arn = aws_iam_policy.provisioner.arn
}
