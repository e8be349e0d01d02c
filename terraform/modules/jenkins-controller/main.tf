# The Jenkins controller: one instance in a private subnet, managed through SSM (no SSH key, no
# port 22), reached only through an internal load balancer that terminates TLS. It runs
# the image built from jenkins/ (pinned plugins, casc.yaml), whose secrets it reads at each start
# from SecureString parameters under /jenkins-controller/<name>/. Its JENKINS_HOME lives on its
# own encrypted EBS volume, snapshotted daily, that outlives the instance: replacing the instance
# (new AMI, new type) mounts the same home again.

data "aws_partition" "current" {}

data "aws_ssm_parameter" "ami" {
  name = var.ami_parameter
}

data "aws_subnet" "controller" {
  id = var.private_subnet_id
}

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  partition = data.aws_partition.current.partition
  home_tag  = { "jenkins-controller:home" = var.name }

  # casc.yaml's secrets (JENKINS_ADMIN_PASSWORD, GITHUB_TOKEN, ...), one SecureString each.
  secrets_path = "/jenkins-controller/${var.name}"
  secrets_arn  = "arn:${local.partition}:ssm:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:parameter${local.secrets_path}"
}

# --- Identity: SSM Session Manager and Run Command instead of SSH -----------------------------

data "aws_iam_policy_document" "assume_ec2" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "controller" {
  name_prefix        = "${var.name}-"
  description        = "Jenkins controller ${var.name}"
  assume_role_policy = data.aws_iam_policy_document.assume_ec2.json

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "ssm_core" {
  role       = aws_iam_role.controller.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

# --- What the controller pulls from ECR: its own image, nothing else ---------------------------
#
# The one image this instance pulls is controller_image: user-data.sh.tftpl logs docker in to the
# image's registry (aws ecr get-login-password) and `docker run` pulls it. Builds never run here
# (jenkins/casc.yaml: numExecutors 0), so no pipeline step pulls or lists images with this role;
# the agents pull with their own roles (modules/agent-iam). Not AmazonEC2ContainerRegistryReadOnly:
# that managed policy (v3, AWS Managed Policy Reference,
# https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonEC2ContainerRegistryReadOnly.html)
# allows pulling every repository of the account, and DescribeRepositories, DescribeImages,
# ListImages, GetRepositoryPolicy, GetLifecyclePolicy(Preview), ListTagsForResource and
# DescribeImageScanFindings, all on "*". BatchCheckLayerAvailability is left out too: it asks
# whether layers are already in the registry, which only a push needs (as in modules/fleet-watch).

locals {
  # ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY[:TAG][@DIGEST], the registry host the user data
  # logs in to, and the repository its ARN is made of. null for any other registry (docker.io,
  # public.ecr.aws: public images, pulled with no AWS permission). variables.tf refuses an AWS
  # registry named in any other shape, which the user data would not log in to.
  controller_ecr_image = try(regex("^(?P<account>[0-9]{12})\\.dkr\\.ecr\\.(?P<region>[a-z0-9-]+)\\.amazonaws\\.com/(?P<repository>[a-z0-9._/-]+)(?::[A-Za-z0-9._-]+)?(?:@sha256:[0-9a-f]{64})?$", var.controller_image), null)
}

data "aws_iam_policy_document" "controller_image_pull" {
  count = local.controller_ecr_image == null ? 0 : 1

  # GetAuthorizationToken has no resource type in the ECR actions table (Service Authorization
  # Reference, "Actions, resources, and condition keys for Amazon Elastic Container Registry",
  # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerregistry.html),
  # so IAM accepts it only on "*". It is the registry login and opens no repository by itself.
  statement {
    sid       = "RegistryLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "PullTheControllerImage"
    actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    resources = ["arn:${local.partition}:ecr:${local.controller_ecr_image.region}:${local.controller_ecr_image.account}:repository/${local.controller_ecr_image.repository}"]
  }
}

resource "aws_iam_role_policy" "controller_image_pull" {
  count = local.controller_ecr_image == null ? 0 : 1

  name   = "pull-controller-image"
  role   = aws_iam_role.controller.id
  policy = data.aws_iam_policy_document.controller_image_pull[0].json
}

data "aws_iam_policy_document" "controller_secrets" {
  statement {
    sid       = "ReadOwnSecrets"
    actions   = ["ssm:GetParametersByPath", "ssm:GetParameter", "ssm:GetParameters"]
    resources = [local.secrets_arn, "${local.secrets_arn}/*"]
  }
}

resource "aws_cloudwatch_log_group" "controller" {
  name              = "/jenkins-controller/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn

  tags = var.tags
}

data "aws_iam_policy_document" "controller_logs" {
  statement {
    sid       = "WriteOwnLog"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.controller.arn}:*"]
  }

  # Session Manager writes each session's log as the instance's role (terraform/account's group).
  statement {
    sid       = "WriteSessionLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["arn:${local.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:${var.session_log_group_name}:*"]
  }

  statement {
    sid       = "SeeLogGroupsEncryption"
    actions   = ["logs:DescribeLogGroups"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "controller_logs" {
  name   = "write-controller-log"
  role   = aws_iam_role.controller.id
  policy = data.aws_iam_policy_document.controller_logs.json
}

resource "aws_iam_role_policy" "controller_secrets" {
  name   = "read-controller-secrets"
  role   = aws_iam_role.controller.id
  policy = data.aws_iam_policy_document.controller_secrets.json
}

# The AWS Credentials plugin (iamRoleArn, no keys) assumes the pipeline's roles from this role.
data "aws_iam_policy_document" "controller_assume" {
  count = length(var.assumable_role_arns) > 0 ? 1 : 0

  statement {
    sid       = "AssumePipelineRoles"
    actions   = ["sts:AssumeRole"]
    resources = var.assumable_role_arns
  }
}

resource "aws_iam_role_policy" "controller_assume" {
  count = length(var.assumable_role_arns) > 0 ? 1 : 0

  name   = "assume-pipeline-roles"
  role   = aws_iam_role.controller.id
  policy = data.aws_iam_policy_document.controller_assume[0].json
}

resource "aws_iam_instance_profile" "controller" {
  name_prefix = "${var.name}-"
  role        = aws_iam_role.controller.name

  tags = var.tags
}

# --- Network: only the bank's networks reach the load balancer; only it reaches Jenkins -------

# Internal: Jenkins holds the deploy credentials and runs code, so it is not on the internet.
# People reach it over the bank's private network (allowed_cidrs), agents from their security
# group; GitHub cannot deliver webhooks, so branches and pull requests are found by scanning.
module "load_balancer" {
  source = "../https-alb"

  name                       = var.name
  vpc_id                     = var.vpc_id
  subnet_ids                 = var.load_balancer_subnet_ids
  internal                   = true
  ingress_cidrs              = var.allowed_cidrs
  ingress_security_group_ids = var.allowed_security_group_ids
  certificate_arn            = var.certificate_arn
  target_group_name          = "${var.name}-8080"
  target_type                = "instance"
  target_port                = 8080
  target_security_group_id   = aws_security_group.controller.id
  log_kms_key_arn            = var.log_kms_key_arn

  health_check = {
    path                = "/login"
    matcher             = "200"
    interval            = 30
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 5
  }

  # Jenkins' own forms post job configurations and scripts that the common rule set would take
  # for attacks; these two groups and the rate limit fit a controller.
  waf_managed_rule_groups      = ["AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesLinuxRuleSet"]
  waf_rate_limit_per_5_minutes = 5000

  tags = var.tags
}

resource "aws_security_group" "controller" {
  name_prefix = "${var.name}-controller-"
  description = "Jenkins controller: HTTP 8080 from its load balancer only"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-controller" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "controller_from_alb" {
  security_group_id            = aws_security_group.controller.id
  description                  = "Jenkins HTTP from the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = 8080
  to_port                      = 8080
  referenced_security_group_id = module.load_balancer.security_group_id
}

# SSM, plugin and package downloads go out over HTTPS; HTTP for mirrors that still use it.
resource "aws_vpc_security_group_egress_rule" "controller_http" {
  security_group_id = aws_security_group.controller.id
  description       = "outbound TCP 80"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "controller_https" {
  security_group_id = aws_security_group.controller.id
  description       = "outbound TCP 443"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_lb_target_group_attachment" "controller" {
  target_group_arn = module.load_balancer.target_group_arn
  target_id        = aws_instance.controller.id
  port             = 8080
}

moved {
  from = aws_security_group.alb
  to   = module.load_balancer.aws_security_group.alb
}

moved {
  from = aws_vpc_security_group_egress_rule.alb_to_jenkins
  to   = module.load_balancer.aws_vpc_security_group_egress_rule.to_targets
}

moved {
  from = aws_lb_target_group.jenkins
  to   = module.load_balancer.aws_lb_target_group.this
}

resource "aws_route53_record" "jenkins" {
  count = var.hosted_zone_id == null ? 0 : 1

  zone_id = var.hosted_zone_id
  name    = var.domain_name
  type    = "A"

  alias {
    name                   = module.load_balancer.dns_name
    zone_id                = module.load_balancer.zone_id
    evaluate_target_health = true
  }
}

# --- The instance and its home ----------------------------------------------------------------

resource "aws_ebs_volume" "home" {
  availability_zone = data.aws_subnet.controller.availability_zone
  size              = var.home_volume_gib
  type              = "gp3"
  encrypted         = true
  kms_key_id        = var.kms_key_arn
  final_snapshot    = true

  tags = merge(var.tags, local.home_tag, { Name = "${var.name}-jenkins-home" })

  # The home is the controller's state (jobs, build history, credentials store): Terraform must
  # never delete it, whatever the plan says.
  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_instance" "controller" {
  ami                    = data.aws_ssm_parameter.ami.insecure_value
  instance_type          = var.instance_type
  subnet_id              = var.private_subnet_id
  vpc_security_group_ids = [aws_security_group.controller.id]
  iam_instance_profile   = aws_iam_instance_profile.controller.name
  monitoring             = true
  ebs_optimized          = true

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  root_block_device {
    volume_type           = "gp3"
    volume_size           = var.root_volume_gib
    encrypted             = true
    kms_key_id            = var.kms_key_arn
    delete_on_termination = true
  }

  user_data = templatefile("${path.module}/user-data.sh.tftpl", {
    # Nitro instances show an EBS volume as an NVMe device whose serial is the volume id.
    home_device       = "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${replace(aws_ebs_volume.home.id, "-", "")}"
    home_mount        = "/var/lib/jenkins"
    image             = var.controller_image
    secrets_path      = local.secrets_path
    jenkins_url       = "https://${var.domain_name}/"
    github_owner      = var.github_owner
    github_repository = var.github_repository
    log_group         = aws_cloudwatch_log_group.controller.name
    region            = data.aws_region.current.name
  })
  user_data_replace_on_change = true

  tags = merge(var.tags, { Name = var.name })

  lifecycle {
    # A new AMI is published every few weeks; replace the controller when you choose to
    # (terraform apply -replace=...), not on whichever apply happens to run next.
    ignore_changes = [ami]
  }
}

resource "aws_volume_attachment" "home" {
  device_name = "/dev/sdf"
  volume_id   = aws_ebs_volume.home.id
  instance_id = aws_instance.controller.id

  # Stop Jenkins' instance before detaching so the file system is clean for the next one.
  stop_instance_before_detaching = true
}

# --- Daily snapshots of the home --------------------------------------------------------------

data "aws_iam_policy_document" "assume_dlm" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["dlm.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "snapshots" {
  name_prefix        = "${var.name}-dlm-"
  description        = "Snapshots the JENKINS_HOME volume of ${var.name}"
  assume_role_policy = data.aws_iam_policy_document.assume_dlm.json

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "snapshots" {
  role       = aws_iam_role.snapshots.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole"
}

resource "aws_dlm_lifecycle_policy" "home" {
  description        = "Daily snapshots of ${var.name} JENKINS_HOME"
  execution_role_arn = aws_iam_role.snapshots.arn
  state              = "ENABLED"

  policy_details {
    resource_types = ["VOLUME"]
    target_tags    = local.home_tag

    schedule {
      name      = "daily"
      copy_tags = true

      create_rule {
        interval      = 24
        interval_unit = "HOURS"
        times         = ["03:00"]
      }

      retain_rule {
        count = var.home_snapshot_retention
      }
    }
  }

  tags = var.tags
}
