terraform {
  required_version = ">= 1.11.1, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # Partial configuration: bucket, key and region come from -backend-config (see README.md). Keep
  # this state in a bucket outside var.region, so moving traffic away from it never needs it.
  backend "s3" {
    encrypt      = true
    use_lockfile = true
  }
}

# Route 53 is global (its API is served from us-east-1); its health checks' metrics, and so their
# alarms, exist only in us-east-1.
provider "aws" {
  region = var.region

  default_tags {
    tags = merge(var.tags, { App = var.name, ManagedBy = "terraform/app-traffic" })
  }
}
