terraform {
  required_version = ">= 1.11.1, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # Partial configuration: bucket, key and region come from -backend-config (see README.md), so
  # that no environment's names are written here. Locking uses the S3 lock file (Terraform >= 1.11).
  backend "s3" {
    encrypt      = true
    use_lockfile = true
  }
}

provider "aws" {
  region = var.region

  # Not the jenkins-fleet:* keys: the provisioner may terminate and run commands on whatever
  # carries jenkins-fleet:fleet, and the controller must never be among those.
  default_tags {
    tags = merge(var.tags, {
      JenkinsFleet = var.fleet
      ManagedBy    = "terraform/jenkins"
    })
  }
}
