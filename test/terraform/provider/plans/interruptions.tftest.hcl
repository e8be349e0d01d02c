# Plans terraform/interruptions offline with the real aws provider: the fleet's interruption queue
# and its two rules in another region than terraform/jenkins's, under the name terraform/jenkins's
# spot_regions grants the provisioner, and the output `provisioner init` takes from it.

provider "aws" {
  region                      = "us-west-2"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}

variables {
  region = "us-west-2"
  fleet  = "bank-ci"
}

override_data {
  target = module.interruption_queue.data.aws_caller_identity.current
  values = { account_id = "111122223333" }
}

override_resource {
  target          = module.interruption_queue.aws_sqs_queue.notices
  override_during = plan
  values          = { arn = "arn:aws:sqs:us-west-2:111122223333:jenkins-fleet-bank-ci-interruptions", url = "https://sqs.us-west-2.amazonaws.com/111122223333/jenkins-fleet-bank-ci-interruptions" }
}

run "the_queue_of_another_region_named_as_terraform_jenkins_grants_it" {
  command = plan

  assert {
    condition     = module.interruption_queue.queue_name == "jenkins-fleet-bank-ci-interruptions"
    error_message = "The same name in every region: terraform/jenkins's spot_regions grants arn:...:sqs:REGION:ACCOUNT:jenkins-fleet-<fleet>-interruptions."
  }

  assert {
    condition     = output.interruption_queue_url == "https://sqs.us-west-2.amazonaws.com/111122223333/jenkins-fleet-bank-ci-interruptions"
    error_message = "The URL init writes into interruptions.queues."
  }
}

run "refuses_a_region_that_is_none" {
  command = plan

  variables {
    region = "west"
  }

  expect_failures = [var.region]
}
