# What the next steps take: the backend settings of every other root, terraform/jenkins's
# app_state_bucket and controller_image, and `provisioner init` (state_bucket, state_bucket_region).

output "state_bucket" {
  description = "-backend-config=bucket=... of every root; terraform/jenkins's app_state_bucket; fleet.yaml library.jenkinsfile.backendConfig.bucket."
  value       = aws_s3_bucket.state.bucket
}

output "state_bucket_region" {
  description = "-backend-config=region=... of every root (the bucket's region)."
  value       = var.region
}

output "state_kms_key_arn" {
  description = "The key the states are encrypted with: terraform/jenkins's app_state_kms_key_arn."
  value       = module.state_key.arn
}

output "registry" {
  description = "The account's ECR registry host, for `docker login` (null where no repository is made)."
  value       = length(aws_ecr_repository.this) > 0 ? split("/", values(aws_ecr_repository.this)[0].repository_url)[0] : null
}

output "controller_repository_url" {
  description = "Where the controller's image is pushed: terraform/jenkins's controller_image is <this>:<tag> (null without a controller repository)."
  value       = try(aws_ecr_repository.this["controller"].repository_url, null)
}

output "repository_urls" {
  description = "Every repository's URL, by purpose."
  value       = { for key, repository in aws_ecr_repository.this : key => repository.repository_url }
}
