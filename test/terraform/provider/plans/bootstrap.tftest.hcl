# Plans terraform/bootstrap offline with the real aws provider: the state bucket every root uses
# (versioned, KMS-encrypted, TLS 1.2+ only, public access blocked, kept) and the image registries.

provider "aws" {
  region                      = "us-east-1"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}

override_data {
  target = data.aws_caller_identity.current
  values = { account_id = "111122223333" }
}

override_data {
  target = module.state_key.data.aws_caller_identity.current
  values = { account_id = "111122223333" }
}

variables {
  region = "us-east-1"
}

run "the_state_bucket_is_versioned_encrypted_private_and_tls_only" {
  command = plan

  assert {
    condition     = aws_s3_bucket.state.bucket == "bank-tfstate-111122223333-us-east-1"
    error_message = "The bucket is named after the account and region (names are global)."
  }

  assert {
    condition     = aws_s3_bucket_versioning.state.versioning_configuration[0].status == "Enabled"
    error_message = "Versioning is on: old states can be restored, and S3's lock file relies on it."
  }

  assert {
    condition     = one(aws_s3_bucket_server_side_encryption_configuration.state.rule).apply_server_side_encryption_by_default[0].sse_algorithm == "aws:kms" && one(aws_s3_bucket_server_side_encryption_configuration.state.rule).bucket_key_enabled
    error_message = "Every object is encrypted with the customer-managed state key."
  }

  assert {
    condition     = aws_s3_bucket_public_access_block.state.block_public_acls && aws_s3_bucket_public_access_block.state.block_public_policy && aws_s3_bucket_public_access_block.state.ignore_public_acls && aws_s3_bucket_public_access_block.state.restrict_public_buckets
    error_message = "All four public access blocks are on."
  }

  assert {
    condition     = aws_s3_bucket_ownership_controls.state.rule[0].object_ownership == "BucketOwnerEnforced"
    error_message = "ACLs are off: the bucket owner owns every object."
  }

  assert {
    condition = length([
      for s in jsondecode(data.aws_iam_policy_document.state.json).Statement : s
      if s.Effect == "Deny" && s.Action == "s3:*" && try(s.Condition.Bool["aws:SecureTransport"], "") == "false"
    ]) == 1
    error_message = "Plain HTTP is denied for every principal and action."
  }

  assert {
    condition = length([
      for s in jsondecode(data.aws_iam_policy_document.state.json).Statement : s
      if s.Effect == "Deny" && try(s.Condition.NumericLessThan["s3:TlsVersion"], "") == "1.2"
    ]) == 1
    error_message = "TLS below 1.2 is denied."
  }

  assert {
    condition     = one(aws_s3_bucket_lifecycle_configuration.state.rule).noncurrent_version_expiration[0].noncurrent_days == 365 && one(aws_s3_bucket_lifecycle_configuration.state.rule).noncurrent_version_expiration[0].newer_noncurrent_versions == 100
    error_message = "Old state versions are kept a year, and the newest 100 always."
  }
}

run "the_registries_keep_tags_scan_and_encrypt" {
  command = plan

  assert {
    condition     = keys(aws_ecr_repository.this) == ["controller"] && aws_ecr_repository.this["controller"].name == "bank-ci/jenkins"
    error_message = "The controller's repository is made by default."
  }

  assert {
    condition     = aws_ecr_repository.this["controller"].image_tag_mutability == "IMMUTABLE"
    error_message = "A pushed tag never moves."
  }

  assert {
    condition     = aws_ecr_repository.this["controller"].image_scanning_configuration[0].scan_on_push
    error_message = "Every push is scanned."
  }

  assert {
    condition     = aws_ecr_repository.this["controller"].encryption_configuration[0].encryption_type == "KMS"
    error_message = "Layers are encrypted with KMS."
  }

  assert {
    condition     = jsondecode(aws_ecr_lifecycle_policy.this["controller"].policy).rules[0].selection.tagStatus == "untagged"
    error_message = "Only untagged images expire."
  }
}

run "a_bucket_name_and_more_registries_can_be_given" {
  command = plan

  variables {
    state_bucket_name = "bank-tfstate-prod"
    repositories      = { controller = "bank-ci/jenkins", app = "bank/banking-app" }
  }

  assert {
    condition     = aws_s3_bucket.state.bucket == "bank-tfstate-prod" && output.state_bucket == "bank-tfstate-prod" && output.state_bucket_region == "us-east-1"
    error_message = "The given name is used and output."
  }

  assert {
    condition     = length(aws_ecr_repository.this) == 2
    error_message = "Each repository given is made."
  }
}

run "another_region_needs_only_its_state_bucket" {
  command = plan

  variables {
    region       = "us-west-2"
    repositories = {}
  }

  assert {
    condition     = length(aws_ecr_repository.this) == 0 && output.controller_repository_url == null && output.registry == null
    error_message = "No registry is made where none is asked for."
  }

  assert {
    condition     = aws_s3_bucket.state.bucket == "bank-tfstate-111122223333-us-west-2"
    error_message = "Each region has its own bucket."
  }
}

run "a_bad_input_is_refused" {
  command = plan

  variables {
    repositories = { app = "Bank/App" }
  }

  expect_failures = [var.repositories]
}
