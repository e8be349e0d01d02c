terraform {
  required_version = ">= 1.11.1, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # Partial configuration: bucket, key and region come from -backend-config, one state per region
  # (key app/<region>.tfstate, in a bucket of that region), so each region can be planned and
  # applied while the other one is down (see README.md).
  backend "s3" {
    encrypt      = true
    use_lockfile = true
  }
}

# One region per apply: nothing here calls another region's API.
provider "aws" {
  region = var.region

  default_tags {
    tags = merge(var.tags, { App = var.name, ManagedBy = "terraform/app" })
  }
}
