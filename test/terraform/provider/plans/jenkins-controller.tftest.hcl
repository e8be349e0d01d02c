# Plans terraform/modules/jenkins-controller offline with the real aws provider and checks what
# its instance role may pull from ECR: the controller image's one repository when the image is in
# ECR, nothing of ECR when it is public elsewhere, and an AWS registry in another shape refused.

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
  target = module.load_balancer.data.aws_caller_identity.current
  values = { account_id = "111122223333" }
}

override_data {
  target = data.aws_ssm_parameter.ami
  values = { insecure_value = "ami-00000000000000000", value = "ami-00000000000000000" }
}

override_data {
  target = data.aws_subnet.controller
  values = { availability_zone = "us-east-1a" }
}

variables {
  name                     = "bank-ci-jenkins"
  vpc_id                   = "vpc-0aaa"
  private_subnet_id        = "subnet-0b1"
  load_balancer_subnet_ids = ["subnet-0b1", "subnet-0b2"]
  allowed_cidrs            = ["10.0.0.0/8"]
  domain_name              = "jenkins.bank.example"
  certificate_arn          = "arn:aws:acm:us-east-1:111122223333:certificate/jenkins"
  log_kms_key_arn          = "arn:aws:kms:us-east-1:111122223333:key/log-key"
  controller_image         = "111122223333.dkr.ecr.us-east-1.amazonaws.com/bank-ci/jenkins:2.580.1"
  github_owner             = "bank-example"
  github_repository        = "jenkins-fleet"
}

run "an_ecr_image_is_pulled_from_its_one_repository" {
  command = plan

  assert {
    condition = jsonencode({ for s in jsondecode(data.aws_iam_policy_document.controller_image_pull[0].json).Statement : s.Sid => { actions = sort(flatten([s.Action])), resources = sort(flatten([s.Resource])) } }) == jsonencode({
      RegistryLogin          = { actions = ["ecr:GetAuthorizationToken"], resources = ["*"] }
      PullTheControllerImage = { actions = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"], resources = ["arn:aws:ecr:us-east-1:111122223333:repository/bank-ci/jenkins"] }
    })
    error_message = "The controller logs in to ECR and pulls its image's own repository (bank-ci/jenkins, read off the reference), no other: ${data.aws_iam_policy_document.controller_image_pull[0].json}"
  }

  assert {
    condition     = length(aws_iam_role_policy.controller_image_pull) == 1 && aws_iam_role_policy.controller_image_pull[0].name == "pull-controller-image"
    error_message = "The pull is granted in the role's own inline policy pull-controller-image."
  }

  assert {
    condition     = aws_iam_role_policy_attachment.ssm_core.policy_arn == "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
    error_message = "Session Manager stays: the controller is managed through SSM, not SSH."
  }
}

run "an_ecr_image_by_digest_in_another_account_names_that_repository" {
  command = plan

  variables {
    controller_image = "444455556666.dkr.ecr.eu-west-1.amazonaws.com/platform/jenkins-controller@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
  }

  assert {
    condition     = [for s in jsondecode(data.aws_iam_policy_document.controller_image_pull[0].json).Statement : s.Resource if s.Sid == "PullTheControllerImage"] == ["arn:aws:ecr:eu-west-1:444455556666:repository/platform/jenkins-controller"]
    error_message = "The repository is the image's own (its account, region and name; the digest is not part of it): ${data.aws_iam_policy_document.controller_image_pull[0].json}"
  }
}

run "a_public_image_elsewhere_gives_the_role_no_ecr_permission" {
  command = plan

  variables {
    controller_image = "docker.io/bankco/jenkins:2.580.1"
  }

  assert {
    condition     = length(aws_iam_role_policy.controller_image_pull) == 0 && length(data.aws_iam_policy_document.controller_image_pull) == 0
    error_message = "A public image on docker.io is pulled with no AWS permission: the role gets nothing of ECR."
  }
}

run "an_image_on_ecr_public_gives_the_role_no_ecr_permission" {
  command = plan

  variables {
    controller_image = "public.ecr.aws/bankco/jenkins:2.580.1"
  }

  assert {
    condition     = length(aws_iam_role_policy.controller_image_pull) == 0
    error_message = "ECR Public images are pulled anonymously: the role gets nothing of ECR."
  }
}

run "an_aws_registry_named_in_another_shape_is_refused" {
  command = plan

  variables {
    controller_image = "111122223333.dkr.ecr-fips.us-east-1.amazonaws.com/bank-ci/jenkins:2.580.1"
  }

  expect_failures = [var.controller_image]
}
