terraform {
  required_version = ">= 1.11.1, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # Partial configuration like every root. The first apply runs before the bucket exists, on a
  # local state (a local_override.tf with backend "local", see README.md); `terraform init
  # -migrate-state -backend-config=...` then moves that state into the bucket it made, under
  # bootstrap/terraform.tfstate.
  backend "s3" {
    encrypt      = true
    use_lockfile = true
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge(var.tags, { ManagedBy = "terraform/bootstrap" })
  }
}
