# What every other root needs before it can run: the S3 bucket their states live in, and the
# registries of the images they deploy (the controller's, built from jenkins/Dockerfile). Applied
# once per account, first, from an operator's machine; see README.md.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  state_bucket = coalesce(var.state_bucket_name, "${var.name}-tfstate-${data.aws_caller_identity.current.account_id}-${var.region}")
  # Known at plan time (the bucket's own arn is not), so the policy can be read before it is applied.
  state_bucket_arn = "arn:${data.aws_partition.current.partition}:s3:::${local.state_bucket}"
}

# The states' key: a customer-managed key whose policy is written out, so who may read the state
# (which holds every output and the resources' attributes) is decided by IAM, and auditable.
module "state_key" {
  source = "../modules/kms-key"

  alias       = "${var.name}/tfstate"
  description = "Terraform state in ${local.state_bucket}"
}

resource "aws_s3_bucket" "state" {
  bucket = local.state_bucket

  # Every estate's state is in here: losing it means importing everything again by hand.
  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_s3_bucket_ownership_controls" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  bucket = aws_s3_bucket.state.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# Versioning: every apply's state can be restored, and S3's own lock file (use_lockfile, the
# only lock the roots take) relies on it.
resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = module.state_key.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    id     = "old-state-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days           = var.state_noncurrent_days
      newer_noncurrent_versions = 100
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.state]
}

# TLS only, and TLS 1.2 at least: a state read or written in the clear would show every secret
# attribute Terraform keeps.
data "aws_iam_policy_document" "state" {
  statement {
    sid       = "DenyPlainHttp"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [local.state_bucket_arn, "${local.state_bucket_arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid       = "DenyOldTls"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [local.state_bucket_arn, "${local.state_bucket_arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "NumericLessThan"
      variable = "s3:TlsVersion"
      values   = ["1.2"]
    }
  }
}

resource "aws_s3_bucket_policy" "state" {
  bucket = aws_s3_bucket.state.id
  policy = data.aws_iam_policy_document.state.json

  # S3 refuses a bucket policy while the public access block is being set.
  depends_on = [aws_s3_bucket_public_access_block.state]
}

# The registries: tags never move (a deployed tag is the image that was tested), every push is
# scanned, layers are encrypted with KMS, and untagged images are expired.
resource "aws_ecr_repository" "this" {
  for_each = var.repositories

  name                 = each.value
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
  }
}

resource "aws_ecr_lifecycle_policy" "this" {
  for_each = var.repositories

  repository = aws_ecr_repository.this[each.key].name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Expire untagged images after ${var.untagged_image_days} days"
      selection = {
        tagStatus   = "untagged"
        countType   = "sinceImagePushed"
        countUnit   = "days"
        countNumber = var.untagged_image_days
      }
      action = { type = "expire" }
    }]
  })
}
