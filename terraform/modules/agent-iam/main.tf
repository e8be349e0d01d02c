# What a build agent of one fleet may do: its instance profile (SSM management, read of its own
# fleet's parameters, decryption with the fleet's key), the key itself, and the agents' security
# group, which accepts no inbound connection (agents dial out to the controller over WebSocket).
# Two kinds of agents get a role, instance profile and security group each: the deploy pools'
# (`deploy`) and the pull-request pool's (`review`), which runs unmerged code from branches. They
# hold the same rights today; being apart, what is granted to or opened for the deploy agents (a
# role's policy, an ingress rule naming their group) never reaches the agents of unmerged code.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  partition = data.aws_partition.current.partition
  account   = data.aws_caller_identity.current.account_id
  region    = data.aws_region.current.name

  # Every agent secret lives under this path: /jenkins-fleet/<fleet>/agents/<instance-id>/secret.
  parameter_path_arn = "arn:${local.partition}:ssm:${local.region}:${local.account}:parameter/jenkins-fleet/${var.fleet}/*"
  agent_secrets_arn  = "arn:${local.partition}:ssm:${local.region}:${local.account}:parameter/jenkins-fleet/${var.fleet}/agents/*"
  # The provisioner tags each agent's secret with the ARN of the instance it is for.
  reader_tag = "jenkins-fleet:instance"
  name       = "jenkins-fleet-${var.fleet}-agent"

  kinds = {
    deploy = { name = local.name, who = "Build agents", group = "agents" }
    review = { name = "jenkins-fleet-${var.fleet}-review-agent", who = "Pull-request agents (unmerged code)", group = "pull-request agents" }
  }
}

module "key" {
  source = "../kms-key"

  alias                = "jenkins-fleet/${var.fleet}"
  description          = "Encrypts the agent secrets of Jenkins fleet ${var.fleet} in Parameter Store"
  deletion_window_days = var.kms_deletion_window_days

  tags = merge(var.tags, { JenkinsFleet = var.fleet })
}

moved {
  from = aws_kms_key.agent_secrets
  to   = module.key.aws_kms_key.this
}

moved {
  from = aws_kms_alias.agent_secrets
  to   = module.key.aws_kms_alias.this
}

data "aws_iam_policy_document" "assume_ec2" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "agent" {
  for_each = local.kinds

  name               = each.value.name
  description        = "${each.value.who} of Jenkins fleet ${var.fleet}"
  assume_role_policy = data.aws_iam_policy_document.assume_ec2.json

  tags = merge(var.tags, { JenkinsFleet = var.fleet })
}

resource "aws_iam_role_policy_attachment" "ssm_core" {
  for_each = local.kinds

  role       = aws_iam_role.agent[each.key].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

data "aws_iam_policy_document" "agent" {
  # An agent reads its own secret only: the provisioner tags each secret with the ARN of the one
  # instance it is for, and instance role credentials carry that instance's ARN.
  statement {
    sid       = "ReadOwnSecretOnly"
    actions   = ["ssm:GetParameter"]
    resources = [local.agent_secrets_arn]

    condition {
      test     = "StringEquals"
      variable = "ssm:resourceTag/${local.reader_tag}"
      values   = ["$${ec2:SourceInstanceARN}"]
    }
  }

  # AmazonSSMManagedInstanceCore allows ssm:GetParameter(s) on every parameter: without these
  # denies an agent could read another agent's secret, or (with the role's keys used off the
  # instance, where no instance ARN comes along) any of them.
  statement {
    sid       = "DenyOtherAgentsSecrets"
    effect    = "Deny"
    actions   = ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath", "ssm:GetParameterHistory"]
    resources = [local.agent_secrets_arn]

    condition {
      test     = "StringNotEquals"
      variable = "ssm:resourceTag/${local.reader_tag}"
      values   = ["$${ec2:SourceInstanceARN}"]
    }
  }

  statement {
    sid       = "DenyAgentSecretsOffTheInstance"
    effect    = "Deny"
    actions   = ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath", "ssm:GetParameterHistory"]
    resources = [local.agent_secrets_arn]

    condition {
      test     = "Null"
      variable = "ec2:SourceInstanceARN"
      values   = ["true"]
    }
  }

  # AmazonSSMManagedInstanceCore allows ssm:GetParameter(s) on every parameter; without this
  # deny an agent could read another fleet's secrets that use the account's aws/ssm key.
  statement {
    sid           = "DenyOtherParameters"
    effect        = "Deny"
    actions       = ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath", "ssm:GetParameterHistory"]
    not_resources = [local.parameter_path_arn]
  }

  statement {
    sid       = "DecryptWithFleetKey"
    actions   = ["kms:Decrypt"]
    resources = [module.key.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["ssm.${local.region}.amazonaws.com"]
    }
  }
}

# Session Manager writes each session's log from the instance, as the instance's role, and checks
# the group is encrypted first.
data "aws_iam_policy_document" "session_logs" {
  statement {
    sid       = "WriteSessionLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account}:log-group:${var.session_log_group_name}:*"]
  }

  statement {
    sid       = "SeeLogGroupsEncryption"
    actions   = ["logs:DescribeLogGroups"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "session_logs" {
  for_each = local.kinds

  name   = "session-manager-logs"
  role   = aws_iam_role.agent[each.key].id
  policy = data.aws_iam_policy_document.session_logs.json
}

resource "aws_iam_role_policy" "agent" {
  for_each = local.kinds

  name   = "fleet-parameters"
  role   = aws_iam_role.agent[each.key].id
  policy = data.aws_iam_policy_document.agent.json
}

resource "aws_iam_instance_profile" "agent" {
  for_each = local.kinds

  name = each.value.name
  role = aws_iam_role.agent[each.key].name

  tags = merge(var.tags, { JenkinsFleet = var.fleet })
}

# No ingress rule at all: SSM and the Jenkins WebSocket connection are both outbound.
resource "aws_security_group" "agent" {
  for_each = local.kinds

  name_prefix = "${each.value.name}-"
  description = "Jenkins fleet ${var.fleet} ${each.value.group}: no inbound, HTTP(S) outbound"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = each.value.name, JenkinsFleet = var.fleet })

  lifecycle {
    create_before_destroy = true
  }
}

# HTTPS reaches SSM, the controller, package and tool downloads; HTTP only the distributions'
# package mirrors that still serve it.
resource "aws_vpc_security_group_egress_rule" "agent_http" {
  for_each = local.kinds

  security_group_id = aws_security_group.agent[each.key].id
  description       = "outbound TCP 80"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "agent_https" {
  for_each = local.kinds

  security_group_id = aws_security_group.agent[each.key].id
  description       = "outbound TCP 443"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

# The deploy agents' resources kept their place in the state when the pull-request agents got
# their own: an existing estate updates in place rather than replacing its agents' role and group.

moved {
  from = aws_iam_role.agent
  to   = aws_iam_role.agent["deploy"]
}

moved {
  from = aws_iam_role_policy_attachment.ssm_core
  to   = aws_iam_role_policy_attachment.ssm_core["deploy"]
}

moved {
  from = aws_iam_role_policy.session_logs
  to   = aws_iam_role_policy.session_logs["deploy"]
}

moved {
  from = aws_iam_role_policy.agent
  to   = aws_iam_role_policy.agent["deploy"]
}

moved {
  from = aws_iam_instance_profile.agent
  to   = aws_iam_instance_profile.agent["deploy"]
}

moved {
  from = aws_security_group.agent
  to   = aws_security_group.agent["deploy"]
}

moved {
  from = aws_vpc_security_group_egress_rule.agent_http
  to   = aws_vpc_security_group_egress_rule.agent_http["deploy"]
}

moved {
  from = aws_vpc_security_group_egress_rule.agent_https
  to   = aws_vpc_security_group_egress_rule.agent_https["deploy"]
}
