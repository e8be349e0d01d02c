terraform {
  required_version = ">= 1.11.1, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # Partial configuration, as terraform/jenkins: bucket, key and region from -backend-config. One
  # state per region (a key of its own, e.g. jenkins-fleet/interruptions/us-west-2.tfstate).
  backend "s3" {
    encrypt      = true
    use_lockfile = true
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge(var.tags, {
      JenkinsFleet = var.fleet
      ManagedBy    = "terraform/interruptions"
    })
  }
}
