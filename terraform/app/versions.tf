terraform {
  required_version = ">= 1.11.1, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # Partial configuration: bucket, key and region come from -backend-config (see README.md).
  backend "s3" {
    encrypt      = true
    use_lockfile = true
  }
}

# Two regions, each with its own alias; there is deliberately no default provider, so every
# resource has to say which region it belongs to.
provider "aws" {
  alias  = "primary"
  region = var.primary_region

  default_tags {
    tags = merge(var.tags, { App = var.name, ManagedBy = "terraform/app" })
  }
}

provider "aws" {
  alias  = "secondary"
  region = var.secondary_region

  default_tags {
    tags = merge(var.tags, { App = var.name, ManagedBy = "terraform/app" })
  }
}
