# The benchmark's module: it needs the AWS provider (~700 MB), which `init` installs into every
# fresh workspace unless a plugin cache is shared, and records one terraform_data resource.
terraform {
  required_version = ">= 1.5.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }
  backend "local" {}
}

variable "image" {
  type = string
}

resource "terraform_data" "release" {
  input = var.image
}
