import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkTree, loadTree, rule, RULES, treeFromSources, type Finding, type RuleId } from './policy.ts';

const repoRoot = new URL('../..', import.meta.url).pathname;

/** Runs one rule over snippets; a snippet's key is its path, so root vs module placement matters. */
async function findings(id: RuleId, sources: Record<string, string>): Promise<Finding[]> {
  return checkTree(await treeFromSources(sources), [rule(id)]);
}

const MODULE = 'terraform/modules/sample/main.tf';
const ROOT = 'terraform/sample/main.tf';

const lbWith = (ingress: string) => `
resource "aws_security_group" "alb" {
  vpc_id = var.vpc_id
  ${ingress}
}
resource "aws_lb" "app" {
  security_groups = [aws_security_group.alb.id]
  subnets         = var.public_subnet_ids
}`;

describe('open-ingress', () => {
  it('rejects ingress from the internet to a security group that is not a load balancer\'s', async () => {
    const out = await findings('open-ingress', {
      [MODULE]: `resource "aws_security_group" "jenkins" {
        ingress {
          from_port   = 8080
          to_port     = 8080
          protocol    = "tcp"
          cidr_blocks = ["0.0.0.0/0"]
        }
      }`,
    });
    expect(out.map((f) => f.where)).toEqual([`${MODULE}: aws_security_group.jenkins`]);
    expect(out[0]?.message).toMatch(/not a load balancer/);
  });

  it('rejects IPv6-wide ingress written as a separate rule resource', async () => {
    const out = await findings('open-ingress', {
      [MODULE]: `resource "aws_vpc_security_group_ingress_rule" "app" {
        security_group_id = aws_security_group.app.id
        ip_protocol       = "tcp"
        from_port         = 8000
        to_port           = 8000
        cidr_ipv6         = "::/0"
      }`,
    });
    expect(out).toHaveLength(1);
  });

  it('rejects a world-open CIDR hidden in a variable default', async () => {
    const out = await findings('open-ingress', {
      [MODULE]: `variable "allowed" {
        type        = list(string)
        description = "who may connect"
        default     = ["10.0.0.0/8", "0.0.0.0/0"]
      }
      resource "aws_security_group_rule" "app" {
        type              = "ingress"
        security_group_id = aws_security_group.app.id
        protocol          = "tcp"
        from_port         = 8000
        to_port           = 8000
        cidr_blocks       = var.allowed
      }`,
    });
    expect(out).toHaveLength(1);
  });

  it('rejects ingress CIDRs it cannot see', async () => {
    const out = await findings('open-ingress', {
      [MODULE]: `resource "aws_security_group" "app" {
        dynamic "ingress" {
          for_each = local.rules
          content {
            from_port   = 8000
            to_port     = 8000
            protocol    = "tcp"
            cidr_blocks = local.cidrs
          }
        }
      }`,
    });
    expect(out[0]?.message).toMatch(/cannot resolve/);
  });

  it('rejects a load balancer open to the internet on a port other than 80 and 443', async () => {
    const out = await findings('open-ingress', {
      [MODULE]: lbWith(`ingress {
        from_port   = 8080
        to_port     = 8080
        protocol    = "tcp"
        cidr_blocks = ["0.0.0.0/0"]
      }`),
    });
    expect(out[0]?.message).toMatch(/only TCP 80 and 443/);
  });

  it('accepts a load balancer open on 443 and an app reachable only from it', async () => {
    const out = await findings('open-ingress', {
      [MODULE]: `${lbWith(`ingress {
        from_port        = 443
        to_port          = 443
        protocol         = "tcp"
        cidr_blocks      = ["0.0.0.0/0"]
        ipv6_cidr_blocks = ["::/0"]
      }`)}
      resource "aws_vpc_security_group_ingress_rule" "app" {
        security_group_id            = aws_security_group.app.id
        referenced_security_group_id = aws_security_group.alb.id
        ip_protocol                  = "tcp"
        from_port                    = 8000
        to_port                      = 8000
      }`,
    });
    expect(out).toEqual([]);
  });
});

describe('ssh', () => {
  it('rejects any rule on port 22, even from inside the VPC', async () => {
    const out = await findings('ssh', {
      [MODULE]: `resource "aws_vpc_security_group_ingress_rule" "ssh" {
        security_group_id = aws_security_group.app.id
        ip_protocol       = "tcp"
        from_port         = 22
        to_port           = 22
        cidr_ipv4         = "10.0.0.0/16"
      }`,
    });
    expect(out.map((f) => f.message)).toEqual([expect.stringMatching(/covers port 22/)]);
  });

  it('rejects a port range and an all-protocol rule that include 22', async () => {
    const out = await findings('ssh', {
      [MODULE]: `resource "aws_security_group" "wide" {
        ingress {
          from_port   = 0
          to_port     = 1024
          protocol    = "tcp"
          cidr_blocks = ["10.0.0.0/8"]
        }
        egress {
          from_port   = 0
          to_port     = 0
          protocol    = "-1"
          cidr_blocks = ["0.0.0.0/0"]
        }
      }`,
    });
    expect(out).toHaveLength(2);
  });

  it('rejects a rule whose ports it cannot see', async () => {
    const out = await findings('ssh', {
      [MODULE]: `resource "aws_vpc_security_group_egress_rule" "out" {
        for_each          = toset(["22", "443"])
        security_group_id = aws_security_group.app.id
        ip_protocol       = "tcp"
        from_port         = tonumber(each.key)
        to_port           = tonumber(each.key)
        cidr_ipv4         = "0.0.0.0/0"
      }`,
    });
    expect(out[0]?.message).toMatch(/cannot resolve/);
  });

  it('rejects an instance with an SSH key pair', async () => {
    const out = await findings('ssh', {
      [MODULE]: `resource "aws_instance" "jenkins" {
        ami      = data.aws_ssm_parameter.ami.value
        key_name = "ops"
      }`,
    });
    expect(out[0]?.message).toMatch(/key_name/);
  });

  it('accepts HTTPS egress', async () => {
    const out = await findings('ssh', {
      [MODULE]: `resource "aws_vpc_security_group_egress_rule" "https" {
        security_group_id = aws_security_group.app.id
        ip_protocol       = "tcp"
        from_port         = 443
        to_port           = 443
        cidr_ipv4         = "0.0.0.0/0"
      }`,
    });
    expect(out).toEqual([]);
  });
});

describe('database', () => {
  it('rejects a public, unencrypted database without backups, naming each fault', async () => {
    const out = await findings('database', {
      [MODULE]: `resource "aws_db_instance" "bank" {
        engine              = "mysql"
        publicly_accessible = true
      }`,
    });
    expect(out.map((f) => f.message)).toEqual([
      expect.stringMatching(/publicly_accessible/),
      expect.stringMatching(/storage_encrypted/),
      expect.stringMatching(/backup_retention_period/),
    ]);
  });

  it('rejects zero-day backups taken from a variable default', async () => {
    const out = await findings('database', {
      [MODULE]: `variable "days" {
        type        = number
        description = "backup days"
        default     = 0
      }
      resource "aws_db_instance" "bank" {
        storage_encrypted       = true
        backup_retention_period = var.days
      }`,
    });
    expect(out.map((f) => f.message)).toEqual([expect.stringMatching(/backup_retention_period/)]);
  });

  it('accepts a private, encrypted, backed-up database', async () => {
    const out = await findings('database', {
      [MODULE]: `resource "aws_db_instance" "bank" {
        publicly_accessible     = false
        storage_encrypted       = true
        backup_retention_period = 7
      }`,
    });
    expect(out).toEqual([]);
  });
});

describe('imdsv2', () => {
  it('rejects an instance without metadata options and a launch template with optional tokens', async () => {
    const out = await findings('imdsv2', {
      [MODULE]: `resource "aws_instance" "a" {
        ami = data.aws_ssm_parameter.ami.value
      }
      resource "aws_launch_template" "b" {
        metadata_options {
          http_tokens = "optional"
        }
      }`,
    });
    expect(out.map((f) => f.where)).toEqual([`${MODULE}: aws_instance.a`, `${MODULE}: aws_launch_template.b`]);
  });

  it('accepts http_tokens = "required"', async () => {
    const out = await findings('imdsv2', {
      [MODULE]: `resource "aws_instance" "a" {
        metadata_options {
          http_endpoint = "enabled"
          http_tokens   = "required"
        }
      }`,
    });
    expect(out).toEqual([]);
  });
});

describe('encrypted-volumes', () => {
  it('rejects an unencrypted EBS volume, an instance without a declared root device and an unencrypted launch template device', async () => {
    const out = await findings('encrypted-volumes', {
      [MODULE]: `resource "aws_ebs_volume" "home" {
        availability_zone = "x"
        size              = 100
      }
      resource "aws_instance" "a" {
        ami = data.aws_ssm_parameter.ami.value
      }
      resource "aws_launch_template" "b" {
        block_device_mappings {
          device_name = "/dev/xvda"
          ebs {
            encrypted = false
          }
        }
      }`,
    });
    expect(out.map((f) => f.where)).toEqual([
      `${MODULE}: aws_ebs_volume.home`,
      `${MODULE}: aws_instance.a`,
      `${MODULE}: aws_launch_template.b`,
    ]);
  });

  it('rejects an instance whose extra EBS device is unencrypted', async () => {
    const out = await findings('encrypted-volumes', {
      [MODULE]: `resource "aws_instance" "a" {
        root_block_device {
          encrypted = true
        }
        ebs_block_device {
          device_name = "/dev/sdf"
        }
      }`,
    });
    expect(out[0]?.message).toMatch(/\/dev\/sdf/);
  });

  it('accepts encrypted volumes', async () => {
    const out = await findings('encrypted-volumes', {
      [MODULE]: `resource "aws_ebs_volume" "home" {
        encrypted = true
      }
      resource "aws_instance" "a" {
        root_block_device {
          encrypted = true
        }
      }`,
    });
    expect(out).toEqual([]);
  });
});

describe('public-ip', () => {
  it('rejects an ECS service that gives its tasks public IPs', async () => {
    const out = await findings('public-ip', {
      [MODULE]: `resource "aws_ecs_service" "app" {
        network_configuration {
          subnets          = var.private_subnet_ids
          assign_public_ip = true
        }
      }`,
    });
    expect(out.map((f) => f.where)).toEqual([`${MODULE}: aws_ecs_service.app`]);
  });

  it('rejects an instance with a public IP', async () => {
    const out = await findings('public-ip', {
      [MODULE]: `resource "aws_instance" "a" {
        associate_public_ip_address = true
      }`,
    });
    expect(out).toHaveLength(1);
  });

  it('accepts tasks in private subnets without public IPs', async () => {
    const out = await findings('public-ip', {
      [MODULE]: `resource "aws_ecs_service" "app" {
        network_configuration {
          subnets          = var.private_subnet_ids
          assign_public_ip = false
        }
      }`,
    });
    expect(out).toEqual([]);
  });
});

describe('variables', () => {
  it('rejects a variable without type or description', async () => {
    const out = await findings('variables', {
      [MODULE]: `variable "size" {
        default = 1
      }`,
    });
    expect(out.map((f) => f.message)).toEqual(['has no type', 'has no description']);
  });

  it('rejects a root input without validation', async () => {
    const out = await findings('variables', {
      [ROOT]: `variable "size" {
        type        = number
        description = "How many."
      }`,
    });
    expect(out.map((f) => f.message)).toEqual([expect.stringMatching(/no validation/)]);
  });

  it('accepts a root bool without validation', async () => {
    const out = await findings('variables', {
      [ROOT]: `variable "multi_az" {
        type        = bool
        description = "Two zones."
        default     = true
      }`,
    });
    expect(out).toEqual([]);
  });

  it('accepts a typed, described module variable', async () => {
    const out = await findings('variables', {
      [MODULE]: `variable "size" {
        type        = number
        description = "How many."
      }`,
    });
    expect(out).toEqual([]);
  });
});

describe('credentials', () => {
  it('rejects keys in the provider block and an access key id anywhere', async () => {
    const out = await findings('credentials', {
      [ROOT]: `provider "aws" {
        region     = var.region
        access_key = "AKIAIOSFODNN7EXAMPLE"
        secret_key = var.secret_key
      }`,
    });
    const messages = out.map((f) => f.message);
    expect(messages).toContain('contains an AWS access key id');
    expect(messages).toContain('sets access_key: credentials come from the environment (role, profile, OIDC), never from the configuration');
    expect(messages).toContain('sets secret_key: credentials come from the environment (role, profile, OIDC), never from the configuration');
  });

  it('rejects a literal database password, one inside jsonencode, and a secret variable with a default', async () => {
    const out = await findings('credentials', {
      [MODULE]: `resource "aws_db_instance" "bank" {
        password = "hunter2hunter2"
      }
      resource "aws_ecs_task_definition" "app" {
        container_definitions = jsonencode([{ environment = [{ name = "X", password = "hunter2" }] }])
      }
      variable "db_password" {
        type        = string
        description = "The password."
        default     = "changeme"
      }`,
    });
    expect(out.map((f) => f.where)).toEqual([
      `${MODULE}: resource.aws_db_instance.bank.password`,
      `${MODULE}: resource.aws_ecs_task_definition.app.container_definitions`,
      `${MODULE}: variable.db_password`,
    ]);
  });

  it('accepts a password taken from Secrets Manager', async () => {
    const out = await findings('credentials', {
      [MODULE]: `resource "aws_ecs_task_definition" "app" {
        container_definitions = jsonencode([{ secrets = [{ name = "DB_PASSWORD", valueFrom = var.secret_arn }] }])
      }
      variable "db_password_secret_arn" {
        type        = string
        description = "ARN of the secret."
      }
      variable "db_password_version" {
        type        = number
        description = "Generation of the password."
        default     = 1
      }`,
    });
    expect(out).toEqual([]);
  });
});

describe('hard-coded-ids', () => {
  it('rejects an AMI id and an account id in an ARN', async () => {
    const out = await findings('hard-coded-ids', {
      [MODULE]: `resource "aws_instance" "a" {
        ami = "ami-0abcdef1234567890"
      }
      data "aws_iam_policy_document" "p" {
        statement {
          resources = ["arn:aws:ssm:\${var.region}:123456789012:parameter/x"]
        }
      }`,
    });
    expect(out).toHaveLength(2);
  });

  it('accepts an AMI from an SSM public parameter and the caller\'s account', async () => {
    const out = await findings('hard-coded-ids', {
      [MODULE]: `resource "aws_instance" "a" {
        ami = data.aws_ssm_parameter.ami.insecure_value
      }
      locals {
        arn = "arn:aws:ssm:\${var.region}:\${data.aws_caller_identity.current.account_id}:parameter/x"
      }`,
    });
    expect(out).toEqual([]);
  });
});

describe('region', () => {
  it('rejects a provider with a literal region and a region written into a resource', async () => {
    const out = await findings('region', {
      [ROOT]: `provider "aws" {
        region = "us-east-1"
      }
      resource "aws_ebs_volume" "v" {
        availability_zone = "us-west-2a"
      }`,
    });
    expect(out.map((f) => f.where)).toEqual([`${ROOT}: provider.aws`, `${ROOT}: resource.aws_ebs_volume.v.availability_zone`]);
  });

  it('rejects a root configuration without a provider region', async () => {
    const out = await findings('region', { [ROOT]: 'locals {\n  a = 1\n}\n' });
    expect(out[0]?.message).toMatch(/no provider "aws"/);
  });

  it('accepts a region variable with a default', async () => {
    const out = await findings('region', {
      [ROOT]: `variable "region" {
        type        = string
        description = "Region."
        default     = "us-east-1"
      }
      provider "aws" {
        region = var.region
      }`,
    });
    expect(out).toEqual([]);
  });
});

describe('app-regions', () => {
  const TOPOLOGY = 'terraform/app-topology.yaml';
  const topology = (regions: string, traffic = 'us-east-1') => `regions:\n${regions}\ntraffic: ${traffic}\nsecrets_home: us-east-1\n`;
  const bothRegions = topology('  us-east-1: { role: writer, generation: 1, vpc_cidr_block: 10.50.0.0/16 }\n  us-west-2: { role: replica, generation: 1, vpc_cidr_block: 10.60.0.0/16 }');
  const reads = 'module "topology" {\n  source = "../modules/app-topology"\n}\n';
  const roots = (app: string) => ({
    'terraform/modules/app-topology/main.tf': 'locals {\n  a = 1\n}\n',
    'terraform/modules/app-region/main.tf': 'locals {\n  a = 1\n}\n',
    'terraform/app/main.tf': `${reads}${app}`,
    'terraform/app-secrets/main.tf': reads,
    'terraform/app-traffic/main.tf': reads,
  });
  const oneRegion = 'provider "aws" {\n  region = var.region\n}\nmodule "app" {\n  source = "../modules/app-region"\n}\n';

  it('rejects the single two-region state main had (no topology, aliased providers, app-region called twice)', async () => {
    const out = await findings('app-regions', {
      'terraform/modules/app-region/main.tf': 'locals {\n  a = 1\n}\n',
      'terraform/app/main.tf': `provider "aws" {
        alias  = "primary"
        region = var.primary_region
      }
      provider "aws" {
        alias  = "secondary"
        region = var.secondary_region
      }
      module "app_primary" {
        source    = "../modules/app-region"
        providers = { aws = aws.primary }
      }
      module "app_secondary" {
        source    = "../modules/app-region"
        providers = { aws = aws.secondary }
      }`,
    });
    expect(out.map((f) => f.message)).toEqual([expect.stringMatching(/topology is missing/)]);
    const withTopology = await findings('app-regions', {
      [TOPOLOGY]: bothRegions,
      'terraform/modules/app-topology/main.tf': 'locals {\n  a = 1\n}\n',
      'terraform/modules/app-region/main.tf': 'locals {\n  a = 1\n}\n',
      'terraform/app/main.tf': `provider "aws" {
        alias  = "primary"
        region = var.primary_region
      }
      module "app_primary" {
        source = "../modules/app-region"
      }
      module "app_secondary" {
        source = "../modules/app-region"
      }`,
    });
    expect(withTopology.map((f) => [f.where, f.message])).toEqual([
      ['terraform/app', expect.stringMatching(/does not read the topology/)],
      ['terraform/app-secrets', 'the terraform/app-secrets root configuration is missing'],
      ['terraform/app-traffic', 'the terraform/app-traffic root configuration is missing'],
      ['terraform/app: provider.aws', expect.stringMatching(/exactly one aws provider, region = var.region/)],
      ['terraform/app', 'calls the app-region module 2 times; once, for var.region'],
    ]);
  });

  it('rejects a topology with two writers, or customers sent to a replica', async () => {
    const twoWriters = await findings('app-regions', {
      ...roots(oneRegion),
      [TOPOLOGY]: topology('  us-east-1: { role: writer }\n  us-west-2: { role: writer }'),
    });
    expect(twoWriters.map((f) => f.message)).toEqual(['names 2 writer regions; exactly one database takes writes']);
    const toReplica = await findings('app-regions', {
      ...roots(oneRegion),
      [TOPOLOGY]: topology('  us-east-1: { role: writer }\n  us-west-2: { role: replica }', 'us-west-2'),
    });
    expect(toReplica.map((f) => f.message)).toEqual([expect.stringMatching(/sends customers to us-west-2, not to the writer us-east-1/)]);
  });

  it('rejects an app in one region only', async () => {
    const out = await findings('app-regions', { ...roots(oneRegion), [TOPOLOGY]: topology('  us-east-1: { role: writer }') });
    expect(out.map((f) => f.message)).toEqual(['does not name us-west-2']);
  });

  it('accepts one region per state, every app root reading the two-region topology', async () => {
    expect(await findings('app-regions', { ...roots(oneRegion), [TOPOLOGY]: bothRegions })).toEqual([]);
  });
});

describe('pinned-versions', () => {
  it('rejects an unpinned provider, a missing required_version and an unpinned registry module', async () => {
    const out = await findings('pinned-versions', {
      [MODULE]: `terraform {
        required_providers {
          aws = {
            source = "hashicorp/aws"
          }
        }
      }
      module "vpc" {
        source = "terraform-aws-modules/vpc/aws"
      }`,
    });
    expect(out.map((f) => f.message)).toEqual([
      'no required_version',
      'provider aws needs both source and version',
      'source terraform-aws-modules/vpc/aws is not pinned (version, or ?ref= for git)',
    ]);
  });

  it('accepts pinned providers and local modules', async () => {
    const out = await findings('pinned-versions', {
      [MODULE]: `terraform {
        required_version = ">= 1.11.0"
        required_providers {
          aws = {
            source  = "hashicorp/aws"
            version = "~> 5.90"
          }
        }
      }
      module "network" {
        source = "../network"
      }`,
    });
    expect(out).toEqual([]);
  });
});

describe('backend', () => {
  it('rejects a root without an s3 backend and one with its bucket in code', async () => {
    expect(await findings('backend', { [ROOT]: 'locals {\n  a = 1\n}\n' })).toHaveLength(1);
    const out = await findings('backend', {
      [ROOT]: `terraform {
        backend "s3" {
          bucket       = "bank-tfstate"
          use_lockfile = true
        }
      }`,
    });
    expect(out.map((f) => f.message)).toEqual(['backend "s3" sets bucket in code; pass it with -backend-config']);
  });

  it('accepts a partial s3 backend with locking', async () => {
    const out = await findings('backend', {
      [ROOT]: `terraform {
        backend "s3" {
          encrypt      = true
          use_lockfile = true
        }
      }`,
    });
    expect(out).toEqual([]);
  });
});

describe('fleet-tags', () => {
  it('rejects a Terraform resource or default tag that claims a fleet', async () => {
    const out = await findings('fleet-tags', {
      [ROOT]: `provider "aws" {
        region = var.region
        default_tags {
          tags = {
            "jenkins-fleet:fleet" = "bank-ci"
          }
        }
      }
      resource "aws_instance" "controller" {
        tags = merge(var.tags, { "jenkins-fleet:fleet" = var.fleet })
      }`,
    });
    expect(out.map((f) => f.where).sort()).toEqual([
      `${ROOT}: provider.aws.default_tags.tags`,
      `${ROOT}: resource.aws_instance.controller.tags`,
    ]);
  });

  it('accepts the tag key as a value in an IAM condition', async () => {
    const out = await findings('fleet-tags', {
      [MODULE]: `locals {
        fleet_tag = "jenkins-fleet:fleet"
      }
      data "aws_iam_policy_document" "p" {
        statement {
          condition {
            test     = "StringEquals"
            variable = "aws:RequestTag/\${local.fleet_tag}"
            values   = [var.fleet]
          }
        }
      }`,
    });
    expect(out).toEqual([]);
  });
});

describe('iam-wildcards', () => {
  it('rejects a service wildcard and a write on every resource', async () => {
    const out = await findings('iam-wildcards', {
      [MODULE]: `data "aws_iam_policy_document" "p" {
        statement {
          sid       = "All"
          actions   = ["ec2:*"]
          resources = ["arn:aws:ec2:\${var.region}:\${local.account}:instance/*"]
        }
        statement {
          sid       = "Anywhere"
          actions   = ["ec2:DescribeInstances", "ec2:TerminateInstances"]
          resources = ["*"]
        }
      }`,
    });
    expect(out.map((f) => f.message)).toEqual(['allows ec2:*', 'allows ec2:TerminateInstances on every resource ("*")']);
  });

  it('accepts Describe calls on "*" and a deny with a wildcard', async () => {
    const out = await findings('iam-wildcards', {
      [MODULE]: `data "aws_iam_policy_document" "p" {
        statement {
          actions   = ["ec2:DescribeInstances", "ssm:ListCommands", "ssm:GetCommandInvocation"]
          resources = ["*"]
        }
        statement {
          effect    = "Deny"
          actions   = ["*"]
          resources = ["*"]
        }
      }`,
    });
    expect(out).toEqual([]);
  });
});

describe('provisioner-iam', () => {
  const PROVISIONER = 'terraform/modules/provisioner-iam/main.tf';
  const policy = (statements: string) => ({
    [PROVISIONER]: `locals {
      fleet_tag = "jenkins-fleet:fleet"
      parameter = "arn:\${local.partition}:ssm:\${local.region}:\${local.account}:parameter/jenkins-fleet/\${var.fleet}"
    }
    data "aws_iam_policy_document" "provisioner" {
      ${statements}
    }`,
  });
  const complete = `
    statement {
      sid       = "Launch"
      actions   = ["ec2:RunInstances"]
      resources = ["\${local.ec2_arn}:instance/*", "\${local.ec2_arn}:volume/*"]
      condition {
        test     = "StringEquals"
        variable = "aws:RequestTag/\${local.fleet_tag}"
        values   = [var.fleet]
      }
    }
    statement {
      sid       = "Terminate"
      actions   = ["ec2:TerminateInstances"]
      resources = ["\${local.ec2_arn}:instance/*"]
      condition {
        test     = "StringEquals"
        variable = "ec2:ResourceTag/\${local.fleet_tag}"
        values   = [var.fleet]
      }
    }
    statement {
      sid       = "Commands"
      actions   = ["ssm:SendCommand"]
      resources = ["\${local.ec2_arn}:instance/*"]
      condition {
        test     = "StringEquals"
        variable = "ssm:resourceTag/\${local.fleet_tag}"
        values   = [var.fleet]
      }
    }
    statement {
      sid       = "Document"
      actions   = ["ssm:SendCommand"]
      resources = ["arn:aws:ssm:\${local.region}::document/AWS-RunShellScript"]
    }
    statement {
      sid       = "Parameters"
      actions   = ["ssm:PutParameter", "ssm:GetParameter", "ssm:DeleteParameter"]
      resources = ["\${local.parameter}/*"]
    }
    statement {
      sid       = "ReaderTag"
      actions   = ["ssm:AddTagsToResource"]
      resources = ["\${local.parameter}/agents/*"]
      condition {
        test     = "ForAllValues:StringEquals"
        variable = "aws:TagKeys"
        values   = ["jenkins-fleet:instance"]
      }
    }
    statement {
      sid       = "Pass"
      actions   = ["iam:PassRole"]
      resources = [var.agent_role_arn]
    }
    statement {
      sid       = "RunLock"
      actions   = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
      resources = [var.lock_table_arn]
      condition {
        test     = "ForAllValues:StringEquals"
        variable = "dynamodb:LeadingKeys"
        values   = ["fleet/\${var.fleet}"]
      }
    }`;

  it('accepts a policy that scopes every action to the fleet', async () => {
    expect(await findings('provisioner-iam', policy(complete))).toEqual([]);
  });

  it('flags CreateFleet without the fleet tag on its fleet and instances, from any template, and launch templates not the fleet\'s', async () => {
    const spot = (fleetCondition: string, templateCondition: string) => `${complete}
    statement {
      sid       = "Fleet"
      actions   = ["ec2:CreateFleet"]
      resources = ["\${local.ec2_arn}:fleet/*", "\${local.ec2_arn}:instance/*"]
      ${fleetCondition}
    }
    statement {
      sid       = "FleetTemplates"
      actions   = ["ec2:CreateFleet", "ec2:CreateLaunchTemplateVersion", "ec2:DeleteLaunchTemplate"]
      resources = ["\${local.ec2_arn}:launch-template/*"]
      ${templateCondition}
    }
    statement {
      sid       = "TagTemplates"
      actions   = ["ec2:CreateTags"]
      resources = ["\${local.ec2_arn}:launch-template/*"]
      condition {
        test     = "StringEquals"
        variable = "ec2:CreateAction"
        values   = ["CreateLaunchTemplate"]
      }
      condition {
        test     = "StringEquals"
        variable = "aws:RequestTag/\${local.fleet_tag}"
        values   = [var.fleet]
      }
    }`;
    const tagged = (variable: string) => `condition {
        test     = "StringEquals"
        variable = "${variable}/\${local.fleet_tag}"
        values   = [var.fleet]
      }`;
    expect(await findings('provisioner-iam', policy(spot(tagged('aws:RequestTag'), tagged('ec2:ResourceTag'))))).toEqual([]);
    const loose = await findings('provisioner-iam', policy(spot('', '')));
    expect(loose.map((f) => f.message)).toEqual(expect.arrayContaining([
      expect.stringMatching(/CreateFleet on .*fleet\/\* without aws:RequestTag/),
      expect.stringMatching(/CreateFleet on .*instance\/\* without aws:RequestTag/),
      expect.stringMatching(/CreateFleet from any launch template/),
      expect.stringMatching(/CreateLaunchTemplateVersion on launch templates without ec2:ResourceTag/),
      expect.stringMatching(/DeleteLaunchTemplate on launch templates without ec2:ResourceTag/),
    ]));
  });

  it('rejects launching instances without the fleet tag at creation', async () => {
    const out = await findings('provisioner-iam', policy(complete.replace('aws:RequestTag/', 'aws:ResourceTag/')));
    expect(out.map((f) => f.message)).toEqual([
      expect.stringMatching(/RunInstances on .*instance\/\* without aws:RequestTag/),
      expect.stringMatching(/RunInstances on .*volume\/\* without aws:RequestTag/),
    ]);
  });

  it('rejects terminating instances of any fleet', async () => {
    const out = await findings('provisioner-iam', policy(complete.replace('ec2:ResourceTag/', 'aws:RequestTag/')));
    expect(out.map((f) => f.message)).toEqual([expect.stringMatching(/TerminateInstances on instances without ec2:ResourceTag/)]);
  });

  it('rejects SendCommand to untagged instances and with other documents', async () => {
    const out = await findings('provisioner-iam', policy(complete.replace('ssm:resourceTag/', 'aws:RequestTag/').replace('AWS-RunShellScript', 'AWS-RunPowerShellScript')));
    expect(out.map((f) => f.message)).toEqual([
      expect.stringMatching(/SendCommand to .*instance\/\* without ssm:resourceTag/),
      expect.stringMatching(/SendCommand on .*AWS-RunPowerShellScript/),
    ]);
  });

  it('rejects parameters outside the fleet path, tagging after launch and passing any role', async () => {
    const out = await findings('provisioner-iam', policy(`${complete.replace('${local.parameter}/*', 'arn:aws:ssm:*:*:parameter/*').replace('[var.agent_role_arn]', '["*"]')}
      statement {
        sid       = "Tag"
        actions   = ["ec2:CreateTags"]
        resources = ["\${local.ec2_arn}:instance/*"]
      }`));
    expect(out.map((f) => f.message)).toEqual([
      expect.stringMatching(/ssm:PutParameter on arn:aws:ssm:\*:\*:parameter\/\*/),
      expect.stringMatching(/ssm:GetParameter on/),
      expect.stringMatching(/ssm:DeleteParameter on/),
      expect.stringMatching(/PassRole on \*; only the agent role/),
      expect.stringMatching(/CreateTags other than at creation/),
    ]);
  });

  it('lets the provisioner mark its own instances bootstrapped, with that tag key only', async () => {
    const mark = (keys: string) => `${complete}
      statement {
        sid       = "Mark"
        actions   = ["ec2:CreateTags"]
        resources = ["\${local.ec2_arn}:instance/*"]
        condition {
          test     = "StringEquals"
          variable = "ec2:ResourceTag/jenkins-fleet:fleet"
          values   = [var.fleet]
        }
        condition {
          test     = "ForAllValues:StringEquals"
          variable = "aws:TagKeys"
          values   = [${keys}]
        }
      }`;
    expect(await findings('provisioner-iam', policy(mark('"jenkins-fleet:bootstrapped"')))).toEqual([]);
    expect(await findings('provisioner-iam', policy(mark('"jenkins-fleet:idle-since"')))).toEqual([]);
    expect((await findings('provisioner-iam', policy(mark('"jenkins-fleet:idle-since", "jenkins-fleet:fleet"')))).map((f) => f.message)).toEqual([expect.stringMatching(/CreateTags other than at creation/)]);
    const widened = await findings('provisioner-iam', policy(mark('"jenkins-fleet:bootstrapped", "jenkins-fleet:pool"')));
    expect(widened.map((f) => f.message)).toEqual([expect.stringMatching(/CreateTags other than at creation/)]);
  });

  it('rejects a policy that forgets what the provisioner needs', async () => {
    const out = await findings('provisioner-iam', policy(complete.replace('"iam:PassRole"', '"iam:GetRole"')));
    expect(out.map((f) => f.message)).toEqual(['the policy never grants iam:PassRole, which the provisioner needs']);
  });

  it('lets the provisioner read and update only its fleet\'s item of the run lock\'s table, with no other DynamoDB action', async () => {
    const widened = await findings('provisioner-iam', policy(complete.replace('"dynamodb:UpdateItem"]', '"dynamodb:UpdateItem", "dynamodb:Scan"]').replace('[var.lock_table_arn]', '["*"]').replace('values   = ["fleet/${var.fleet}"]', 'values   = ["fleet/*"]')));
    expect(widened.map((f) => f.message)).toEqual([
      'allows dynamodb:GetItem on *; only the run lock\'s table (var.lock_table_arn)',
      expect.stringMatching(/^allows dynamodb:GetItem on other items than the fleet's own lock/),
      'allows dynamodb:UpdateItem on *; only the run lock\'s table (var.lock_table_arn)',
      expect.stringMatching(/^allows dynamodb:UpdateItem on other items/),
      'allows dynamodb:Scan; the run lock needs only dynamodb:GetItem and dynamodb:UpdateItem',
      'allows dynamodb:Scan on *; only the run lock\'s table (var.lock_table_arn)',
      expect.stringMatching(/^allows dynamodb:Scan on other items/),
    ]);
    const forgotten = await findings('provisioner-iam', policy(complete.replace('"dynamodb:GetItem", ', '')));
    expect(forgotten.map((f) => f.message)).toEqual(['the policy never grants dynamodb:GetItem, which the provisioner needs']);
  });

  it('lets the provisioner tag secrets with their reader only, never with any key', async () => {
    const out = await findings('provisioner-iam', policy(complete.replace('values   = ["jenkins-fleet:instance"]', 'values   = ["jenkins-fleet:instance", "owner"]')));
    expect(out.map((f) => f.message)).toEqual(['allows AddTagsToResource with other keys than jenkins-fleet:instance (ForAllValues:StringEquals aws:TagKeys)']);
  });
});

describe('agent-iam', () => {
  const AGENT = 'terraform/modules/agent-iam/main.tf';
  const agent = (extra: string) => ({
    [AGENT]: `locals {
      parameter_path_arn = "arn:\${local.partition}:ssm:\${local.region}:\${local.account}:parameter/jenkins-fleet/\${var.fleet}/*"
    }
    resource "aws_iam_role_policy_attachment" "ssm_core" {
      role       = aws_iam_role.agent.name
      policy_arn = "arn:\${local.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
    }
    resource "aws_security_group" "agent" {
      vpc_id = var.vpc_id
    }
    ${extra}`,
  });
  const document = (readResource: string, decryptResource: string, deny = true, ownSecretOnly = true) => `
    data "aws_iam_policy_document" "agent" {
      statement {
        actions   = ["ssm:GetParameter"]
        resources = [${readResource}]
        ${ownSecretOnly ? `condition {
          test     = "StringEquals"
          variable = "ssm:resourceTag/jenkins-fleet:instance"
          values   = ["$\${ec2:SourceInstanceARN}"]
        }` : ''}
      }
      ${ownSecretOnly ? `statement {
        effect    = "Deny"
        actions   = ["ssm:GetParameter", "ssm:GetParameters"]
        resources = [${readResource}]
        condition {
          test     = "StringNotEquals"
          variable = "ssm:resourceTag/jenkins-fleet:instance"
          values   = ["$\${ec2:SourceInstanceARN}"]
        }
      }` : ''}
      ${deny ? `statement {
        effect        = "Deny"
        actions       = ["ssm:GetParameter", "ssm:GetParameters"]
        not_resources = [local.parameter_path_arn]
      }` : ''}
      statement {
        actions   = ["kms:Decrypt"]
        resources = [${decryptResource}]
      }
    }`;

  it('accepts reads of its own fleet, decrypt with its key, and no ingress', async () => {
    expect(await findings('agent-iam', agent(document('local.parameter_path_arn', 'aws_kms_key.agent_secrets.arn')))).toEqual([]);
  });

  it('rejects reading every parameter, decrypting with any key, and a missing deny', async () => {
    const out = await findings('agent-iam', agent(document('"*"', '"*"', false)));
    expect(out.map((f) => f.message)).toEqual([
      'allows ssm:GetParameter beyond /jenkins-fleet/<fleet>/*',
      "allows kms:Decrypt on something other than the fleet's key",
      expect.stringMatching(/no Deny of ssm:GetParameter/),
    ]);
  });

  it("rejects an agent role that may read another agent's secret (no reader tag condition, no deny)", async () => {
    const out = await findings('agent-iam', agent(document('local.parameter_path_arn', 'aws_kms_key.agent_secrets.arn', true, false)));
    expect(out.map((f) => f.message)).toEqual([
      "allows reading parameters not tagged jenkins-fleet:instance = ${ec2:SourceInstanceARN}: one agent could read another's secret",
      expect.stringMatching(/no Deny of reading a secret whose jenkins-fleet:instance tag is not the caller's instance/),
    ]);
  });

  it('rejects any ingress rule on the agents\' security group', async () => {
    const out = await findings('agent-iam', agent(`${document('local.parameter_path_arn', 'aws_kms_key.agent_secrets.arn')}
      resource "aws_vpc_security_group_ingress_rule" "jnlp" {
        security_group_id            = aws_security_group.agent.id
        ip_protocol                  = "tcp"
        from_port                    = 50000
        to_port                      = 50000
        referenced_security_group_id = var.controller_security_group_id
      }`));
    expect(out.map((f) => f.where)).toEqual([`${AGENT}: aws_vpc_security_group_ingress_rule.jnlp`]);
  });
});

describe('load-balancers', () => {
  const alb = (lb: string, extra = '') => ({
    [MODULE]: `resource "aws_lb" "app" {
      load_balancer_type = "application"
      ${lb}
    }
    ${extra}`,
  });
  const https = `resource "aws_lb_listener" "https" {
      load_balancer_arn = aws_lb.app.arn
      protocol          = "HTTPS"
      ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
      routing_http_response_strict_transport_security_header_value = "max-age=31536000; includeSubDomains"
    }`;
  const waf = `resource "aws_wafv2_web_acl_association" "app" {
      resource_arn = aws_lb.app.arn
      web_acl_arn  = aws_wafv2_web_acl.app.arn
    }
    resource "aws_wafv2_web_acl" "app" {
      rule {
        statement {
          managed_rule_group_statement {
            vendor_name = "AWS"
            name        = "AWSManagedRulesCommonRuleSet"
          }
        }
      }
      rule {
        statement {
          rate_based_statement {
            limit = 2000
          }
        }
      }
    }
    resource "aws_wafv2_web_acl_logging_configuration" "app" {
      resource_arn = aws_wafv2_web_acl.app.arn
    }`;
  const good = `drop_invalid_header_fields = true
      access_logs {
        enabled = true
        bucket  = aws_s3_bucket.logs.id
      }`;

  it('rejects a load balancer without access logs, WAF or header hygiene (as main had them)', async () => {
    const out = await findings('load-balancers', alb('', https));
    expect(out.map((f) => f.message)).toEqual([
      expect.stringMatching(/drop_invalid_header_fields/),
      expect.stringMatching(/access_logs/),
      expect.stringMatching(/no WAF/),
    ]);
  });

  it('rejects an old TLS policy, a listener without HSTS, and a plain HTTP listener that forwards', async () => {
    const out = await findings('load-balancers', alb(good, `${waf}
      resource "aws_lb_listener" "https" {
        load_balancer_arn = aws_lb.app.arn
        protocol          = "HTTPS"
        ssl_policy        = "ELBSecurityPolicy-2016-08"
      }
      resource "aws_lb_listener" "http" {
        load_balancer_arn = aws_lb.app.arn
        protocol          = "HTTP"
        default_action {
          type             = "forward"
          target_group_arn = aws_lb_target_group.app.arn
        }
      }`));
    expect(out.map((f) => [f.where, f.message])).toEqual([
      [`${MODULE}: aws_lb_listener.http`, expect.stringMatching(/only redirect to HTTPS/)],
      [`${MODULE}: aws_lb_listener.https`, expect.stringMatching(/TLS13/)],
      [`${MODULE}: aws_lb_listener.https`, expect.stringMatching(/Strict-Transport-Security/)],
    ]);
  });

  it('rejects a web ACL without managed rules, rate limit or logging', async () => {
    const out = await findings('load-balancers', { [MODULE]: 'resource "aws_wafv2_web_acl" "bare" {\n}' });
    expect(out.map((f) => f.message)).toEqual([
      'uses no managed rule group',
      expect.stringMatching(/rate-based/),
      expect.stringMatching(/logging_configuration/),
    ]);
  });

  it('accepts a logged, WAF-protected TLS 1.3 load balancer with HSTS whose HTTP only redirects', async () => {
    const out = await findings('load-balancers', alb(good, `${https}
      ${waf}
      resource "aws_lb_listener" "http" {
        load_balancer_arn = aws_lb.app.arn
        protocol          = "HTTP"
        default_action {
          type = "redirect"
          redirect {
            protocol    = "HTTPS"
            status_code = "HTTP_301"
          }
        }
      }`));
    expect(out).toEqual([]);
  });
});

describe('controller-exposure', () => {
  const CONTROLLER = 'terraform/modules/jenkins-controller/main.tf';

  it('rejects an internet-facing controller load balancer, written out or through https-alb', async () => {
    const out = await findings('controller-exposure', {
      [CONTROLLER]: `resource "aws_lb" "this" {
        internal = false
      }
      module "load_balancer" {
        source   = "../https-alb"
        internal = var.internal
      }
      variable "internal" {
        type        = bool
        description = "x"
        default     = false
      }`,
      'terraform/modules/https-alb/main.tf': 'resource "aws_lb" "this" {\n  internal = var.internal\n}',
    });
    expect(out.map((f) => f.where)).toEqual([`${CONTROLLER}: aws_lb.this`, `${CONTROLLER}: module.load_balancer`]);
  });

  it('accepts an internal one', async () => {
    const out = await findings('controller-exposure', {
      [CONTROLLER]: 'module "load_balancer" {\n  source   = "../https-alb"\n  internal = true\n}',
      'terraform/modules/https-alb/main.tf': 'resource "aws_lb" "this" {\n  internal = var.internal\n}',
    });
    expect(out).toEqual([]);
  });
});

describe('log-encryption', () => {
  it('rejects a log group without a key and one whose key variable may be null', async () => {
    const out = await findings('log-encryption', {
      [MODULE]: `resource "aws_cloudwatch_log_group" "app" {
        name = "/ecs/app"
      }
      resource "aws_cloudwatch_log_group" "flow" {
        name       = "/vpc/flow"
        kms_key_id = var.flow_log_kms_key_arn
      }
      variable "flow_log_kms_key_arn" {
        type        = string
        description = "x"
        default     = null
      }`,
    });
    expect(out.map((f) => f.where)).toEqual([`${MODULE}: aws_cloudwatch_log_group.app`, `${MODULE}: aws_cloudwatch_log_group.flow`]);
  });

  it('accepts a key the caller always passes', async () => {
    const out = await findings('log-encryption', {
      [MODULE]: `resource "aws_cloudwatch_log_group" "flow" {
        kms_key_id = var.key
      }
      variable "key" {
        type        = string
        description = "x"
        default     = null
      }`,
      [ROOT]: 'module "sample" {\n  source = "../modules/sample"\n  key    = module.log_key.arn\n}',
    });
    expect(out).toEqual([]);
  });
});

describe('kms-key-policies', () => {
  it('rejects keys left with the default key policy', async () => {
    const out = await findings('kms-key-policies', {
      [MODULE]: 'resource "aws_kms_key" "a" {\n}\nresource "aws_kms_replica_key" "b" {\n  primary_key_arn = aws_kms_key.a.arn\n}',
    });
    expect(out.map((f) => f.where)).toEqual([`${MODULE}: aws_kms_key.a`, `${MODULE}: aws_kms_replica_key.b`]);
  });

  it('accepts an explicit policy', async () => {
    const out = await findings('kms-key-policies', { [MODULE]: 'resource "aws_kms_key" "a" {\n  policy = data.aws_iam_policy_document.key.json\n}' });
    expect(out).toEqual([]);
  });
});

describe('database-network', () => {
  it('rejects MySQL egress to the VPC range (as main had it) and ingress from an address range', async () => {
    const out = await findings('database-network', {
      [MODULE]: `resource "aws_vpc_security_group_egress_rule" "tasks_mysql" {
        security_group_id = aws_security_group.tasks.id
        ip_protocol       = "tcp"
        from_port         = 3306
        to_port           = 3306
        cidr_ipv4         = var.vpc_cidr_block
      }
      resource "aws_security_group" "db" {
        ingress {
          from_port   = 3306
          to_port     = 3306
          protocol    = "tcp"
          cidr_blocks = ["10.0.0.0/8"]
        }
      }`,
    });
    expect(out.map((f) => f.where)).toEqual([`${MODULE}: aws_security_group.db`, `${MODULE}: aws_vpc_security_group_egress_rule.tasks_mysql`]);
  });

  it('accepts rules that name the other side\'s security group', async () => {
    const out = await findings('database-network', {
      [MODULE]: `resource "aws_vpc_security_group_egress_rule" "tasks_to_database" {
        security_group_id            = aws_security_group.tasks.id
        ip_protocol                  = "tcp"
        from_port                    = 3306
        to_port                      = 3306
        referenced_security_group_id = aws_security_group.database.id
      }`,
    });
    expect(out).toEqual([]);
  });
});

describe('app-container', () => {
  const APP = 'terraform/modules/app-region/main.tf';
  const task = (definition: string) => ({
    [APP]: `resource "aws_ecs_task_definition" "app" {
      container_definitions = jsonencode([${definition}])
    }`,
  });

  it('rejects the shell wrapper and environment main had', async () => {
    const out = await findings('app-container', task(`{
      name    = "app"
      command = ["sh", "-c", local.start_command]
      environment = [
        { name = "DB_HOST", value = var.db_host },
        { name = "DB_PORT", value = "3306" },
        { name = "DB_NAME", value = var.db_name },
      ]
      secrets = [
        { name = "DB_USER", valueFrom = "\${var.secret}:username::" },
        { name = "DB_PASSWORD", valueFrom = "\${var.secret}:password::" },
        { name = "SECRET_KEY", valueFrom = var.app_secret_key_arn },
      ]
    }`));
    expect(out.map((f) => f.message)).toEqual([
      expect.stringMatching(/command or entry point/),
      expect.stringMatching(/sh -c/),
      'passes no DB_SSL_CA in the environment',
      'passes no FORWARDED_ALLOW_IPS in the environment',
      'passes no BANK_PROXY_HOPS in the environment',
    ]);
  });

  it('rejects a password in the plain environment and trusting every proxy', async () => {
    const out = await findings('app-container', task(`{
      environment = [
        { name = "DB_HOST", value = var.db_host },
        { name = "DB_PORT", value = "3306" },
        { name = "DB_NAME", value = var.db_name },
        { name = "DB_USER", value = "bank" },
        { name = "DB_PASSWORD", value = var.db_password },
        { name = "DB_SSL_CA", value = "/etc/bank/db-ca.pem" },
        { name = "FORWARDED_ALLOW_IPS", value = "*" },
        { name = "BANK_PROXY_HOPS", value = "1" },
      ]
      secrets = [{ name = "SECRET_KEY", valueFrom = var.app_secret_key_arn }]
    }`));
    expect(out.map((f) => f.message)).toEqual([
      'does not inject DB_USER from a secret (valueFrom)',
      'does not inject DB_PASSWORD from a secret (valueFrom)',
      expect.stringMatching(/FORWARDED_ALLOW_IPS = "\*"/),
    ]);
  });

  it('accepts the image\'s own command with DB_* and its secrets', async () => {
    const out = await findings('app-container', task(`{
      environment = [
        { name = "DB_HOST", value = var.db_host },
        { name = "DB_PORT", value = "3306" },
        { name = "DB_NAME", value = var.db_name },
        { name = "DB_SSL_CA", value = var.db_ssl_ca },
        { name = "FORWARDED_ALLOW_IPS", value = join(",", var.public_subnet_cidr_blocks) },
        { name = "BANK_PROXY_HOPS", value = "1" },
      ]
      secrets = [
        { name = "DB_USER", valueFrom = "\${var.secret}:username::" },
        { name = "DB_PASSWORD", valueFrom = "\${var.secret}:password::" },
        { name = "SECRET_KEY", valueFrom = var.app_secret_key_arn },
      ]
    }`));
    expect(out).toEqual([]);
  });

  // What main had before: the tasks behind the ALB without BANK_PROXY_HOPS, db-users and migrate without TLS settings.
  const LOCALS = (app: string, database: string) => ({
    [APP]: `locals {
      database_environment = [${database}]
      app_container = {
        name        = "app"
        environment = concat(local.database_environment, [
          { name = "FORWARDED_ALLOW_IPS", value = join(",", var.public_subnet_cidr_blocks) },
          ${app}
        ])
        secrets = [
          { name = "DB_USER", valueFrom = local.shared.app_user },
          { name = "DB_PASSWORD", valueFrom = local.shared.app_password },
          { name = "SECRET_KEY", valueFrom = local.shared.secret_key },
        ]
      }
      migrate_container = {
        name        = "migrate"
        command     = var.migrate_command
        environment = local.database_environment
      }
      db_users_container = {
        name        = "db-users"
        command     = var.db_users_command
        environment = concat(local.database_environment, [{ name = "DB_CREDENTIALS_VERSION", value = var.credentials_version }])
      }
    }
    resource "aws_ecs_task_definition" "app" {
      container_definitions = jsonencode([local.db_users_container, local.migrate_container, local.app_container])
    }`,
  });
  const DATABASE = `{ name = "DB_HOST", value = var.db_host },
        { name = "DB_PORT", value = "3306" },
        { name = "DB_NAME", value = var.db_name },`;

  it('rejects tasks behind the load balancer without BANK_PROXY_HOPS = 1, and database containers without DB_SSL_CA', async () => {
    expect((await findings('app-container', LOCALS('', DATABASE))).map((f) => f.message)).toEqual([
      'passes no DB_SSL_CA in the environment',
      'passes no BANK_PROXY_HOPS in the environment',
      'local.db_users_container connects to the database without DB_SSL_CA: its password would cross an unverified connection',
      'local.migrate_container connects to the database without DB_SSL_CA: its password would cross an unverified connection',
    ]);
    const withCa = `${DATABASE} { name = "DB_SSL_CA", value = var.db_ssl_ca },`;
    expect((await findings('app-container', LOCALS('{ name = "BANK_PROXY_HOPS", value = "2" },', withCa))).map((f) => f.message)).toEqual([
      expect.stringMatching(/^sets BANK_PROXY_HOPS to other than "1"/),
    ]);
    expect(await findings('app-container', LOCALS('{ name = "BANK_PROXY_HOPS", value = "1" },', withCa))).toEqual([]);
  });
});

describe('pipeline-roles', () => {
  const ROLES = 'terraform/modules/pipeline-roles/main.tf';
  const roles = (extra = '') => ({
    [ROLES]: `resource "aws_iam_policy" "boundary" {
      policy = data.aws_iam_policy_document.boundary.json
    }
    data "aws_iam_policy_document" "boundary" {
      statement {
        actions   = ["*"]
        resources = ["*"]
      }
      statement {
        effect    = "Deny"
        actions   = ["iam:CreateRole", "iam:PutRolePolicy"]
        resources = ["*"]
        condition {
          test     = "StringNotEquals"
          variable = "iam:PermissionsBoundary"
          values   = [local.boundary_arn]
        }
      }
    }
    resource "aws_iam_role" "deploy" {
      name                 = "\${var.name}-deploy"
      permissions_boundary = aws_iam_policy.boundary.arn
    }
    resource "aws_iam_role" "plan" {
      name                 = "\${var.name}-plan"
      permissions_boundary = aws_iam_policy.boundary.arn
    }
    resource "aws_iam_role_policy_attachment" "plan_read" {
      role       = aws_iam_role.plan.name
      policy_arn = "arn:\${local.partition}:iam::aws:policy/ReadOnlyAccess"
    }
    data "aws_iam_policy_document" "plan_no_data" {
      statement {
        effect        = "Deny"
        actions       = ["s3:GetObject"]
        not_resources = [local.state]
      }
      statement {
        effect    = "Deny"
        actions   = ["secretsmanager:GetSecretValue", "logs:GetLogEvents", "kms:Decrypt"]
        resources = ["*"]
      }
    }
    ${extra}`,
  });

  it('rejects static keys and a tree without pipeline roles (as main had it)', async () => {
    const out = await findings('pipeline-roles', {
      [MODULE]: 'resource "aws_iam_user" "deployer" {\n  name = "deployer"\n}\nresource "aws_iam_access_key" "deployer" {\n  user = aws_iam_user.deployer.name\n}',
    });
    expect(out.map((f) => f.message)).toEqual([
      expect.stringMatching(/declares aws_iam_user/),
      expect.stringMatching(/declares aws_iam_access_key/),
      expect.stringMatching(/no <app>-deploy role/),
      expect.stringMatching(/no <app>-plan role/),
    ]);
  });

  it('accepts bounded deploy and plan roles whose plan role reads no data', async () => {
    expect(await findings('pipeline-roles', roles())).toEqual([]);
  });

  it('rejects a plan role with write policies and a role terraform/app makes without the boundary', async () => {
    const tree = roles(`resource "aws_iam_role_policy_attachment" "plan_power" {
      role       = aws_iam_role.plan.name
      policy_arn = "arn:aws:iam::aws:policy/PowerUserAccess"
    }`);
    const out = await findings('pipeline-roles', {
      ...tree,
      'terraform/app/main.tf': 'module "region" {\n  source = "../modules/app-region"\n}',
      'terraform/modules/app-region/main.tf': `resource "aws_iam_role" "task" {
        permissions_boundary = var.permissions_boundary_arn
      }
      variable "permissions_boundary_arn" {
        type        = string
        description = "x"
        default     = null
      }`,
    });
    expect(out.map((f) => [f.where, f.message])).toEqual([
      [`${ROLES}: aws_iam_role.plan`, expect.stringMatching(/other than ReadOnlyAccess/)],
      ['terraform/modules/app-region/main.tf: aws_iam_role.task', expect.stringMatching(/without the pipeline's permissions boundary/)],
    ]);
  });

  it('lets the boundary allow "*" (it grants nothing) but not an identity policy', async () => {
    const out = await findings('iam-wildcards', roles('data "aws_iam_policy_document" "deploy" {\n  statement {\n    actions   = ["*"]\n    resources = ["*"]\n  }\n}'));
    expect(out.map((f) => f.where)).toEqual([
      `${ROLES}: data.aws_iam_policy_document.deploy statement (no sid)`,
      `${ROLES}: data.aws_iam_policy_document.deploy statement (no sid)`,
    ]);
  });
});

describe('no-automatic-failover', () => {
  it('rejects the failover records main had, steered by health checks', async () => {
    const out = await findings('no-automatic-failover', {
      [ROOT]: `resource "aws_route53_record" "primary" {
        name            = var.domain_name
        health_check_id = aws_route53_health_check.region["primary"].id
        failover_routing_policy {
          type = "PRIMARY"
        }
      }`,
    });
    expect(out.map((f) => f.message)).toEqual([expect.stringMatching(/split brain/), expect.stringMatching(/steered by a health check/)]);
  });

  it('accepts one plain alias record', async () => {
    const out = await findings('no-automatic-failover', {
      [ROOT]: 'resource "aws_route53_record" "app" {\n  name = var.domain_name\n  alias {\n    name = var.target\n  }\n}',
    });
    expect(out).toEqual([]);
  });
});

describe('database-controls', () => {
  const DB = 'terraform/modules/database/main.tf';
  const controls = `resource "aws_db_parameter_group" "this" {
      parameter {
        name  = "require_secure_transport"
        value = "1"
      }
    }
    resource "aws_db_option_group" "this" {
      option {
        option_name = "MARIADB_AUDIT_PLUGIN"
      }
    }
    resource "aws_db_instance_automated_backups_replication" "from_writer" {
      source_db_instance_arn = var.source_arn
    }
    resource "aws_backup_plan" "this" {
      rule {
        copy_action {
          destination_vault_arn = var.backup_copy_vault_arn
        }
      }
    }
    resource "aws_backup_vault_lock_configuration" "this" {
      backup_vault_name = aws_backup_vault.this.name
    }`;

  it('rejects the database and replica main had, naming each missing control', async () => {
    const out = await findings('database-controls', {
      [ROOT]: `resource "aws_db_instance" "replica" {
        replicate_source_db       = aws_db_instance.primary.arn
        skip_final_snapshot       = false
        enabled_cloudwatch_logs_exports = ["error", "slowquery"]
      }
      resource "aws_db_instance" "primary" {
        password_wo                     = ephemeral.aws_secretsmanager_random_password.db.random_password
        max_allocated_storage           = 1000
        enabled_cloudwatch_logs_exports = ["error", "slowquery"]
      }`,
    });
    expect(out.filter((f) => f.where.endsWith('aws_db_instance.replica')).map((f) => f.message)).toEqual([
      expect.stringMatching(/require_secure_transport/),
      expect.stringMatching(/no audit log/),
      expect.stringMatching(/no max_allocated_storage/),
      expect.stringMatching(/deletes its automated backups/),
      expect.stringMatching(/final snapshot, which RDS refuses for a replica/),
      expect.stringMatching(/replicates no automated backups/),
      expect.stringMatching(/no AWS Backup plan/),
      expect.stringMatching(/locks no backup vault/),
    ]);
    expect(out.filter((f) => f.where.endsWith('aws_db_instance.primary')).map((f) => f.message)).toContainEqual(expect.stringMatching(/sets the master password from Terraform/));
  });

  it('accepts a database with every control, whatever its role', async () => {
    const out = await findings('database-controls', {
      [DB]: `${controls}
      resource "aws_db_instance" "this" {
        replicate_source_db             = local.replica ? var.source_arn : null
        manage_master_user_password     = local.replica ? null : true
        parameter_group_name            = aws_db_parameter_group.this.name
        option_group_name               = aws_db_option_group.this.name
        enabled_cloudwatch_logs_exports = ["audit", "error"]
        max_allocated_storage           = 1000
        delete_automated_backups        = false
        skip_final_snapshot             = local.replica
      }`,
    });
    expect(out).toEqual([]);
  });
});

describe('alarms', () => {
  it('rejects app roots without alarms (as main had them)', async () => {
    const out = await findings('alarms', { 'terraform/app/main.tf': 'locals {\n  a = 1\n}\n' });
    expect(out.map((f) => f.message)).toEqual(['HTTPCode_ELB_5XX_Count', 'HTTPCode_Target_5XX_Count', 'UnHealthyHostCount', 'RunningTaskCount', 'FreeStorageSpace', 'ReplicaLag', 'HealthCheckStatus'].map((m) => `no alarm on ${m}`));
  });

  it('rejects an alarm that notifies nobody and an unencrypted topic', async () => {
    const out = await findings('alarms', {
      'terraform/app-traffic/main.tf': `resource "aws_sns_topic" "alarms" {
        name = "x"
      }
      resource "aws_cloudwatch_metric_alarm" "all" {
        metric_name = "HTTPCode_ELB_5XX_Count HTTPCode_Target_5XX_Count UnHealthyHostCount RunningTaskCount FreeStorageSpace ReplicaLag HealthCheckStatus"
      }`,
    });
    expect(out.map((f) => f.message)).toEqual(['notifies nobody (no alarm_actions)', 'is not encrypted (kms_master_key_id)']);
  });
});

describe('app-liveness', () => {
  const APP = 'terraform/modules/app-region/main.tf';
  const check = (path: string, matcher: string) =>
    `module "load_balancer" {\n  source = "../https-alb"\n  health_check = {\n    path    = "${path}"\n    matcher = "${matcher}"\n  }\n}`;

  it('rejects the target group main had first: /health, 200 only', async () => {
    const out = await findings('app-liveness', {
      [APP]: 'resource "aws_lb_target_group" "app" {\n  health_check {\n    path    = "/health"\n    matcher = "200"\n  }\n}',
    });
    expect(out.map((f) => f.message)).toEqual([expect.stringMatching(/^health check \/health reaches the database.*replaces them all; check \/health\/live$/)]);
  });

  it('rejects the database-deep /health even when it accepts 503: a hanging database outlasts the check\'s timeout', async () => {
    const out = await findings('app-liveness', { [APP]: check('/health', '200,503') });
    expect(out.map((f) => f.message)).toEqual([expect.stringMatching(/later than the check's timeout/)]);
  });

  it('rejects a liveness check that takes other answers than 200 as alive', async () => {
    const out = await findings('app-liveness', { [APP]: check('/health/live', '200,302') });
    expect(out.map((f) => f.message)).toEqual([expect.stringMatching(/answers 200 only/)]);
  });

  it('accepts /health/live for 200', async () => {
    expect(await findings('app-liveness', { [APP]: check('/health/live', '200') })).toEqual([]);
  });
});

describe('account-settings', () => {
  const ACCOUNT = 'terraform/account/main.tf';
  const account = `resource "aws_ebs_encryption_by_default" "this" {
      enabled = true
    }
    resource "aws_ssm_document" "session_preferences" {
      name    = "SSM-SessionManagerRunShell"
      content = jsonencode({ inputs = { cloudWatchLogGroupName = aws_cloudwatch_log_group.sessions.name, cloudWatchEncryptionEnabled = true } })
    }`;

  it('rejects account-wide EBS encryption in a workload root and no account root (as main had it)', async () => {
    const out = await findings('account-settings', {
      'terraform/jenkins/main.tf': 'resource "aws_ebs_encryption_by_default" "this" {\n  enabled = true\n}',
    });
    expect(out.map((f) => f.message)).toEqual([expect.stringMatching(/belongs to terraform\/account/), expect.stringMatching(/there is no terraform\/account/)]);
  });

  it('rejects session preferences that do not log, and instance roles that may not write the log', async () => {
    const out = await findings('account-settings', {
      [ACCOUNT]: 'resource "aws_ebs_encryption_by_default" "this" {\n  enabled = true\n}\nresource "aws_ssm_document" "p" {\n  name    = "SSM-SessionManagerRunShell"\n  content = jsonencode({ inputs = {} })\n}',
      'terraform/modules/agent-iam/main.tf': 'data "aws_iam_policy_document" "agent" {\n  statement {\n    actions   = ["ssm:GetParameter"]\n    resources = [local.parameter_path_arn]\n  }\n}',
    });
    expect(out.map((f) => f.message)).toEqual([expect.stringMatching(/logging sessions to an encrypted/), expect.stringMatching(/may not write Session Manager logs/)]);
  });

  it('accepts the settings in terraform/account and roles that write the session log', async () => {
    const out = await findings('account-settings', {
      [ACCOUNT]: account,
      'terraform/modules/agent-iam/main.tf': `data "aws_iam_policy_document" "session_logs" {
        statement {
          actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
          resources = ["arn:aws:logs:\${local.region}:\${local.account}:log-group:\${var.session_log_group_name}:*"]
        }
      }`,
    });
    expect(out).toEqual([]);
  });
});

describe('run-lock-table', () => {
  const JENKINS = 'terraform/jenkins/main.tf';
  const table = (change: (t: string) => string = (t) => t) => ({
    [JENKINS]: change(`resource "aws_dynamodb_table" "run_lock" {
  name                        = "jenkins-fleet-bank-ci-locks"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "lease"
  deletion_protection_enabled = true
  attribute {
    name = "lease"
    type = "S"
  }
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
module "provisioner_iam" {
  source         = "../modules/provisioner-iam"
  lock_table_arn = aws_dynamodb_table.run_lock.arn
}`),
  });

  it('accepts the table as the lease uses it, with its ARN handed to provisioner-iam', async () => {
    expect(await findings('run-lock-table', table())).toEqual([]);
  });

  it('names each missing property of the table, and an ARN not handed on', async () => {
    const out = await findings('run-lock-table', table((t) => t
      .replace('"PAY_PER_REQUEST"', '"PROVISIONED"')
      .replace('deletion_protection_enabled = true', 'deletion_protection_enabled = false')
      .replace('attribute_name = "expireItemAt"', 'attribute_name = "ttl"')
      .replace(/server_side_encryption \{\n    enabled = true/, 'server_side_encryption {\n    enabled = false')
      .replace(/point_in_time_recovery \{\n    enabled = true\n  \}\n/, '')
      .replace('aws_dynamodb_table.run_lock.arn', '"arn:aws:dynamodb:us-east-1:111122223333:table/other"')));
    expect(out.map((f) => f.message)).toEqual([
      expect.stringMatching(/^is not on-demand/),
      expect.stringMatching(/^is not encrypted with a KMS key/),
      'has no point-in-time recovery',
      expect.stringMatching(/^has no deletion protection/),
      expect.stringMatching(/^has no TTL on expireItemAt/),
      'does not give provisioner-iam the run lock table\'s ARN (lock_table_arn)',
    ]);
  });

  it('needs a string key named lease, and a table at all', async () => {
    expect((await findings('run-lock-table', table((t) => t.replace('hash_key                    = "lease"', 'hash_key                    = "id"')))).map((f) => f.message)).toEqual([expect.stringMatching(/^has no string partition key named lease/)]);
    expect((await findings('run-lock-table', { [JENKINS]: 'module "provisioner_iam" {\n  source = "../modules/provisioner-iam"\n}' })).map((f) => f.message)).toEqual([expect.stringMatching(/^creates no DynamoDB table for the run lock/)]);
  });
});

describe('vpc-endpoints', () => {
  it('rejects a VPC without an S3 endpoint and a CI network without SSM and logs endpoints (as main had them)', async () => {
    const out = await findings('vpc-endpoints', {
      'terraform/modules/network/main.tf': 'resource "aws_vpc" "this" {\n  cidr_block = var.cidr_block\n}',
      'terraform/jenkins/main.tf': 'module "network" {\n  source = "../modules/network"\n}',
    });
    expect(out.map((f) => f.message)).toEqual(['has no S3 gateway endpoint', expect.stringMatching(/no interface endpoint for ssm, ssmmessages, ec2messages, logs/)]);
  });

  it('accepts the endpoints the workloads call, reachable from the VPC\'s own range only', async () => {
    const network = `resource "aws_vpc" "this" {
      cidr_block = var.cidr_block
    }
    resource "aws_vpc_endpoint" "s3" {
      vpc_id            = aws_vpc.this.id
      service_name      = "com.amazonaws.\${data.aws_region.current.name}.s3"
      vpc_endpoint_type = "Gateway"
    }
    resource "aws_vpc_security_group_ingress_rule" "endpoints_https" {
      security_group_id = aws_security_group.endpoints[0].id
      ip_protocol       = "tcp"
      from_port         = 443
      to_port           = 443
      cidr_ipv4         = aws_vpc.this.cidr_block
    }`;
    const tree = {
      'terraform/modules/network/main.tf': network,
      'terraform/app/main.tf': 'module "network" {\n  source              = "../modules/network"\n  interface_endpoints = ["ecr.api", "ecr.dkr", "logs", "secretsmanager"]\n}',
    };
    expect(await findings('vpc-endpoints', tree)).toEqual([]);
    // The VPC's own range is private whatever it is: not the internet, not an unknown.
    expect(await findings('open-ingress', tree)).toEqual([]);
  });
});

describe('watch-service', () => {
  const WATCH = 'terraform/modules/fleet-watch/main.tf';
  const estate = (change: (t: string) => string = (t) => t, root = 'provisioner_policy_arn = module.provisioner_iam.policy_arn') => ({
    'terraform/modules/provisioner-iam/main.tf': 'resource "aws_iam_policy" "provisioner" {\n  policy = "{}"\n}',
    'terraform/jenkins/main.tf': `module "provisioner_iam" {
  source = "../modules/provisioner-iam"
}
module "fleet_watch" {
  source = "../modules/fleet-watch"
  ${root}
}`,
    [WATCH]: change(`locals {
  watch_container = {
    name        = "watch"
    command     = ["node", "/opt/jenkins-fleet/bin/provisioner.mjs", "watch"]
    environment = [{ name = "AWS_REGION", value = var.region }]
    secrets     = [{ name = "JENKINS_API_TOKEN", valueFrom = var.token_secret_arn }]
  }
}
resource "aws_iam_role" "task" {
  assume_role_policy = "{}"
}
resource "aws_iam_role_policy_attachment" "task_provisioner" {
  role       = aws_iam_role.task.name
  policy_arn = var.provisioner_policy_arn
}
resource "aws_ecs_task_definition" "watch" {
  task_role_arn         = aws_iam_role.task.arn
  container_definitions = jsonencode([local.watch_container])
}`),
  });

  // An inline policy and a second attachment on the task role, where the role is declared.
  const MORE_ON_TASK_ROLE = `resource "aws_iam_role_policy" "more" {
  role   = aws_iam_role.task.id
  policy = "{}"
}
resource "aws_iam_role_policy_attachment" "admin" {
  role       = aws_iam_role.task.name
  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}`;
  const MORE_FINDINGS = [
    expect.stringMatching(/^adds an inline policy to the provisioner's task role/),
    expect.stringMatching(/^attaches to the provisioner's task role a policy other than provisioner-iam's/),
  ];

  it('accepts a task role carrying provisioner-iam\'s policy alone and the token from a secret', async () => {
    expect(await findings('watch-service', estate())).toEqual([]);
  });

  it('rejects a task role with more than provisioner-iam\'s policy', async () => {
    const extra = await findings('watch-service', estate((t) => `${t}
${MORE_ON_TASK_ROLE}`));
    expect(extra.map((f) => f.message)).toEqual(MORE_FINDINGS);
    const inlineOnRole = await findings('watch-service', estate((t) => t.replace('assume_role_policy = "{}"', 'assume_role_policy = "{}"\n  managed_policy_arns = [var.extra]')));
    expect(inlineOnRole.map((f) => f.message)).toEqual([expect.stringMatching(/declares its own policies/)]);
    // A caller that feeds the variable from somewhere else is not provisioner-iam.
    const elsewhere = await findings('watch-service', estate(undefined, 'provisioner_policy_arn = "arn:aws:iam::111122223333:policy/wide"'));
    expect(elsewhere.map((f) => f.message)).toEqual([expect.stringMatching(/policy other than provisioner-iam's/)]);
    const none = await findings('watch-service', estate((t) => t.replace(/resource "aws_iam_role_policy_attachment"[^}]*\}\n/, '')));
    expect(none.map((f) => f.message)).toEqual([expect.stringMatching(/has no policy attached/)]);
  });

  // The layout of terraform/: the roles made by modules/ecs-workload, their rights given beside the task.
  const WORKLOAD = 'terraform/modules/ecs-workload/main.tf';
  const viaModule = (change: (t: string) => string = (t) => t, workload = '') => {
    const tree = estate((t) => change(t
      .replace('resource "aws_iam_role" "task" {\n  assume_role_policy = "{}"\n}\n', 'module "ecs" {\n  source = "../ecs-workload"\n}\n')
      .replace('role       = aws_iam_role.task.name', 'role       = module.ecs.task_role_name')
      .replace('task_role_arn         = aws_iam_role.task.arn', 'task_role_arn         = module.ecs.task_role_arn')));
    return {
      ...tree,
      [WORKLOAD]: `resource "aws_iam_role" "task" {
  assume_role_policy = "{}"
}
resource "aws_iam_role" "execution" {
  assume_role_policy = "{}"
}
${workload}`,
      'terraform/modules/ecs-workload/outputs.tf': `output "task_role_arn" {
  value = aws_iam_role.task.arn
}
output "task_role_name" {
  value = aws_iam_role.task.name
}
output "execution_role_name" {
  value = aws_iam_role.execution.name
}`,
    };
  };

  it('follows a task role made by a module called beside the task, and its rights given on either side', async () => {
    expect(await findings('watch-service', viaModule())).toEqual([]);
    // The execution role's policy is not the task role's.
    expect(await findings('watch-service', viaModule((t) => `${t}
resource "aws_iam_role_policy" "execution" {
  role   = module.ecs.execution_role_name
  policy = "{}"
}`))).toEqual([]);
    const inCaller = await findings('watch-service', viaModule((t) => `${t}
resource "aws_iam_role_policy" "more" {
  role   = module.ecs.task_role_name
  policy = "{}"
}`));
    expect(inCaller.map((f) => f.message)).toEqual([expect.stringMatching(/^adds an inline policy to the provisioner's task role/)]);
    const inModule = await findings('watch-service', viaModule(undefined, MORE_ON_TASK_ROLE));
    expect(inModule.map((f) => f.message)).toEqual(MORE_FINDINGS);
    const none = await findings('watch-service', viaModule((t) => t.replace(/resource "aws_iam_role_policy_attachment"[^}]*\}\n/, '')));
    expect(none.map((f) => f.message)).toEqual([expect.stringMatching(/has no policy attached/)]);
    // An output that is not one of the module's roles cannot be checked.
    const unknown = await findings('watch-service', viaModule((t) => t.replace('module.ecs.task_role_arn', 'module.ecs.execution_role_name')));
    expect(unknown.map((f) => f.message)).toEqual([expect.stringMatching(/^runs the provisioner with a task role neither declared beside it/)]);
  });

  it('rejects the token, or any secret, in the plain environment', async () => {
    const plain = await findings('watch-service', estate((t) => t.replace(
      'environment = [{ name = "AWS_REGION", value = var.region }]',
      'environment = [{ name = "AWS_REGION", value = var.region }, { name = "JENKINS_API_TOKEN", value = var.token }]',
    ).replace(/\n    secrets .*\n/, '\n')));
    expect(plain.map((f) => f.message)).toEqual([
      expect.stringMatching(/^passes JENKINS_API_TOKEN in the plain environment/),
      expect.stringMatching(/^runs the provisioner without JENKINS_API_TOKEN from a secret/),
    ]);
    const app = await findings('watch-service', {
      'terraform/modules/app-region/main.tf': `resource "aws_ecs_task_definition" "app" {
  container_definitions = jsonencode([{ name = "app", environment = [{ name = "DB_HOST", value = var.host }, { name = "DB_PASSWORD", value = var.password }] }])
}`,
    });
    expect(app.map((f) => f.message)).toEqual([expect.stringMatching(/^passes DB_PASSWORD in the plain environment/)]);
  });
});

describe('execution-roles', () => {
  const APP = 'terraform/modules/app-region/main.tf';
  const REPOSITORY = '"arn:${local.partition}:ecr:${local.image.region}:${local.image.account}:repository/${local.image.repository}"';
  const LOG_GROUP = '"${aws_cloudwatch_log_group.app.arn}:*"';
  const task = (pull = REPOSITORY, log = LOG_GROUP, more = '') => ({
    [APP]: `resource "aws_cloudwatch_log_group" "app" {
  name = "/ecs/app"
}
resource "aws_iam_role" "execution" {
  assume_role_policy = "{}"
}
resource "aws_ecs_task_definition" "app" {
  execution_role_arn    = aws_iam_role.execution.arn
  container_definitions = "[]"
}
data "aws_iam_policy_document" "pull_and_log" {
  statement {
    sid       = "RegistryLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }
  statement {
    sid       = "PullTheAppImage"
    actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    resources = [${pull}]
  }
  statement {
    sid       = "WriteItsLog"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [${log}]
  }
}
resource "aws_iam_role_policy" "execution" {
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.pull_and_log.json
}
${more}`,
  });
  // What main had: the managed policy beside the task's own grants.
  const MANAGED = `resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:\${local.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}`;

  it('accepts an execution role that pulls its image\'s one repository and writes its own log group', async () => {
    expect(await findings('execution-roles', task())).toEqual([]);
    expect(await findings('execution-roles', task('"arn:aws:ecr:us-east-1:111122223333:repository/bank/banking-app"', '"arn:aws:logs:us-east-1:111122223333:log-group:/ecs/app:*"'))).toEqual([]);
  });

  it('rejects AmazonECSTaskExecutionRolePolicy, attached or listed on the role', async () => {
    const attached = await findings('execution-roles', task(undefined, undefined, MANAGED));
    expect(attached.map((f) => [f.where, f.message])).toEqual([[`${APP}: aws_iam_role_policy_attachment.execution`, expect.stringMatching(/^attaches the AWS-managed policy AmazonECSTaskExecutionRolePolicy to the execution role of aws_ecs_task_definition\.app/)]]);
    const listed = await findings('execution-roles', { [APP]: task()[APP].replace('assume_role_policy = "{}"', 'assume_role_policy = "{}"\n  managed_policy_arns = ["arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"]') });
    expect(listed.map((f) => f.message)).toEqual([expect.stringMatching(/AWS-managed policy AmazonECSTaskExecutionRolePolicy/)]);
  });

  it('rejects a wildcard repository', async () => {
    for (const pull of ['"*"', '"arn:aws:ecr:us-east-1:111122223333:repository/*"', '"arn:aws:ecr:${var.region}:${var.account}:repository/bank/*"', '"arn:aws:ecr:us-east-1:111122223333:*"']) {
      const out = await findings('execution-roles', task(pull));
      expect(out.map((f) => [f.where, f.message]), pull).toEqual([[`${APP}: data.aws_iam_policy_document.pull_and_log statement PullTheAppImage`, expect.stringMatching(/^lets the execution role of aws_ecs_task_definition\.app pull \(ecr:BatchGetImage, ecr:GetDownloadUrlForLayer\) from .*no wildcard$/)]]);
    }
  });

  it('rejects a wildcard log group', async () => {
    for (const log of ['"*"', '"arn:aws:logs:us-east-1:111122223333:log-group:*"', '"arn:aws:logs:*:*:log-group:/ecs/*:*"', '"arn:aws:logs:us-east-1:111122223333:*"']) {
      const out = await findings('execution-roles', task(undefined, log));
      expect(out.map((f) => [f.where, f.message]), log).toEqual([[`${APP}: data.aws_iam_policy_document.pull_and_log statement WriteItsLog`, expect.stringMatching(/^lets the execution role of aws_ecs_task_definition\.app write logs \(logs:CreateLogStream, logs:PutLogEvents\) to .*no wildcard group$/)]]);
    }
  });

  it('rejects what it cannot read: a policy not written as a document, a role it cannot follow', async () => {
    const json = await findings('execution-roles', { [APP]: task()[APP].replace('policy = data.aws_iam_policy_document.pull_and_log.json', 'policy = jsonencode({ Statement = [] })') });
    expect(json.map((f) => f.message)).toEqual([expect.stringMatching(/not written as an aws_iam_policy_document/)]);
    const unknown = await findings('execution-roles', { [APP]: task()[APP].replace('execution_role_arn    = aws_iam_role.execution.arn', 'execution_role_arn    = var.execution_role_arn') });
    expect(unknown.map((f) => f.message)).toEqual([expect.stringMatching(/^has an execution role neither declared beside it/)]);
  });

  it('follows the execution role modules/ecs-workload makes, whichever side grants it', async () => {
    const layout = (caller: string, workload = '') => ({
      [APP]: `module "ecs" {
  source = "../ecs-workload"
}
resource "aws_ecs_task_definition" "app" {
  execution_role_arn    = module.ecs.execution_role_arn
  container_definitions = "[]"
}
${caller}`,
      'terraform/modules/ecs-workload/main.tf': `resource "aws_iam_role" "execution" {
  assume_role_policy = "{}"
}
${workload}`,
      'terraform/modules/ecs-workload/outputs.tf': `output "execution_role_arn" {
  value = aws_iam_role.execution.arn
}
output "execution_role_name" {
  value = aws_iam_role.execution.name
}`,
    });
    const inCaller = await findings('execution-roles', layout(MANAGED.replace('aws_iam_role.execution.name', 'module.ecs.execution_role_name')));
    expect(inCaller.map((f) => f.where)).toEqual([`${APP}: aws_iam_role_policy_attachment.execution`]);
    const inModule = await findings('execution-roles', layout('', MANAGED));
    expect(inModule.map((f) => f.where)).toEqual(['terraform/modules/ecs-workload/main.tf: aws_iam_role_policy_attachment.execution']);
    expect(await findings('execution-roles', layout(''))).toEqual([]);
  });
});

describe('controller-role', () => {
  const CONTROLLER = 'terraform/modules/jenkins-controller/main.tf';
  const REPOSITORY = '"arn:${local.partition}:ecr:${local.controller_ecr_image.region}:${local.controller_ecr_image.account}:repository/${local.controller_ecr_image.repository}"';
  const controller = (pull = REPOSITORY, more = '', actions = '"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"') => ({
    [CONTROLLER]: `resource "aws_iam_role" "controller" {
  assume_role_policy = "{}"
}
resource "aws_iam_role_policy_attachment" "ssm_core" {
  role       = aws_iam_role.controller.name
  policy_arn = "arn:\${local.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
}
data "aws_iam_policy_document" "controller_image_pull" {
  count = local.controller_ecr_image == null ? 0 : 1
  statement {
    sid       = "RegistryLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }
  statement {
    sid       = "PullTheControllerImage"
    actions   = [${actions}]
    resources = [${pull}]
  }
}
resource "aws_iam_role_policy" "controller_image_pull" {
  count  = local.controller_ecr_image == null ? 0 : 1
  role   = aws_iam_role.controller.id
  policy = data.aws_iam_policy_document.controller_image_pull[0].json
}
resource "aws_iam_instance_profile" "controller" {
  role = aws_iam_role.controller.name
}
resource "aws_instance" "controller" {
  iam_instance_profile = aws_iam_instance_profile.controller.name
}
${more}`,
  });
  // What main had before: every repository of the account, and Describe*/List* on all.
  const READ_ONLY = `resource "aws_iam_role_policy_attachment" "ecr_read" {
  role       = aws_iam_role.controller.name
  policy_arn = "arn:\${local.partition}:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"
}`;

  it('accepts a role that has Session Manager and pulls the controller image\'s one repository', async () => {
    expect(await findings('controller-role', controller())).toEqual([]);
    expect(await findings('controller-role', controller('"arn:aws:ecr:us-east-1:111122223333:repository/bank-ci/jenkins"'))).toEqual([]);
  });

  it('rejects AmazonEC2ContainerRegistryReadOnly, attached or listed on the role', async () => {
    const attached = await findings('controller-role', controller(undefined, READ_ONLY));
    expect(attached.map((f) => [f.where, f.message])).toEqual([[`${CONTROLLER}: aws_iam_role_policy_attachment.ecr_read`, expect.stringMatching(/^attaches the AWS-managed policy AmazonEC2ContainerRegistryReadOnly to the controller's instance role/)]]);
    const listed = await findings('controller-role', { [CONTROLLER]: controller()[CONTROLLER].replace('assume_role_policy = "{}"', 'assume_role_policy = "{}"\n  managed_policy_arns = ["arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPowerUser"]') });
    expect(listed.map((f) => f.message)).toEqual([expect.stringMatching(/AWS-managed policy AmazonEC2ContainerRegistryPowerUser/)]);
  });

  it('rejects a wildcard repository', async () => {
    for (const pull of ['"*"', '"arn:aws:ecr:us-east-1:111122223333:repository/*"', '"arn:aws:ecr:${var.region}:${var.account}:repository/bank-ci/*"', '"arn:aws:ecr:us-east-1:111122223333:*"']) {
      const out = await findings('controller-role', controller(pull));
      expect(out.map((f) => [f.where, f.message]), pull).toEqual([[`${CONTROLLER}: data.aws_iam_policy_document.controller_image_pull statement PullTheControllerImage`, expect.stringMatching(/^lets the controller's instance role pull \(ecr:BatchGetImage, ecr:GetDownloadUrlForLayer\) from .*no wildcard$/)]]);
    }
  });

  it('rejects ECR actions beyond the login and the pull, in its own policy too', async () => {
    const out = await findings('controller-role', controller(undefined, '', '"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:DescribeImages", "ecr:ListImages"'));
    expect(out.map((f) => f.message)).toEqual([expect.stringMatching(/^lets the controller's instance role call ecr:DescribeImages, ecr:ListImages: it only logs in to ECR and pulls its own image/)]);
  });

  it('rejects what it cannot read: a policy not written as a document, a role it cannot follow', async () => {
    const json = await findings('controller-role', { [CONTROLLER]: controller()[CONTROLLER].replace('policy = data.aws_iam_policy_document.controller_image_pull[0].json', 'policy = jsonencode({ Statement = [] })') });
    expect(json.map((f) => f.message)).toEqual([expect.stringMatching(/a policy not written as an aws_iam_policy_document/)]);
    const unknown = await findings('controller-role', { [CONTROLLER]: controller()[CONTROLLER].replace('iam_instance_profile = aws_iam_instance_profile.controller.name', 'iam_instance_profile = var.profile') });
    expect(unknown.map((f) => f.message)).toEqual([expect.stringMatching(/^has an instance role this rule cannot follow/)]);
  });
});

describe('the repository\'s terraform/', () => {
  it('passes every rule', async () => {
    const tree = await loadTree(repoRoot, 'terraform');
    expect(tree.configurations.length).toBeGreaterThan(0);
    expect(checkTree(tree, RULES)).toEqual([]);
  });

  it('outputs every value examples/fleet.yaml says comes from terraform/jenkins', async () => {
    const example = readFileSync(new URL('examples/fleet.yaml', `file://${repoRoot}`), 'utf8');
    const wanted = [...new Set([...example.matchAll(/<([a-z_]+)>/g)].map((m) => m[1]))];
    expect(wanted.length).toBeGreaterThan(0);
    const tree = await loadTree(repoRoot, 'terraform/jenkins');
    const outputs = tree.configurations.flatMap((c) => c.files).flatMap((f) => Object.keys((f.body.output ?? {}) as object));
    expect(wanted.filter((name) => !outputs.includes(name!))).toEqual([]);
  });

  it('has a test above for every rule', () => {
    // Keeps a new rule from landing without the bad snippet that proves it can fail.
    const tested = new Set(['open-ingress', 'ssh', 'database', 'imdsv2', 'encrypted-volumes', 'public-ip', 'variables', 'credentials', 'hard-coded-ids', 'region', 'app-regions', 'pinned-versions', 'backend', 'fleet-tags', 'iam-wildcards', 'provisioner-iam', 'agent-iam', 'load-balancers', 'controller-exposure', 'log-encryption', 'kms-key-policies', 'database-network', 'app-container', 'pipeline-roles', 'no-automatic-failover', 'database-controls', 'alarms', 'app-liveness', 'account-settings', 'vpc-endpoints', 'run-lock-table', 'watch-service', 'execution-roles', 'controller-role']);
    expect(RULES.map((r) => r.id).filter((id) => !tested.has(id))).toEqual([]);
  });
});
