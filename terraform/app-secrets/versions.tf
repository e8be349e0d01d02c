terraform {
  required_version = ">= 1.11.1, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # Partial configuration: bucket, key and region come from -backend-config (see README.md). Keep
  # this state in a bucket of the secrets' home region.
  backend "s3" {
    encrypt      = true
    use_lockfile = true
  }
}

# The secrets' home region (topology.secrets_home); Secrets Manager replicates them from here.
provider "aws" {
  region = module.topology.secrets_home

  default_tags {
    tags = merge(var.tags, { App = var.name, ManagedBy = "terraform/app-secrets" })
  }
}

# The other region, where Secrets Manager keeps the replicas.
provider "aws" {
  alias  = "replica"
  region = module.topology.peers[module.topology.secrets_home]

  default_tags {
    tags = merge(var.tags, { App = var.name, ManagedBy = "terraform/app-secrets" })
  }
}
