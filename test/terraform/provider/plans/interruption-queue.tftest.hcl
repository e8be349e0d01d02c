# Plans terraform/modules/interruption-queue offline with the real aws provider: the fleet's queue
# (SQS-managed SSE, an hour's retention), one EventBridge rule per notice matching exactly EC2's
# detail-type, each sending to the queue, and a queue policy that admits only those two rules.

provider "aws" {
  region                      = "us-east-1"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}

variables {
  fleet = "bank-ci"
}

override_data {
  target = data.aws_caller_identity.current
  values = { account_id = "111122223333" }
}

# What AWS would answer at creation.
override_resource {
  target          = aws_sqs_queue.notices
  override_during = plan
  values          = { arn = "arn:aws:sqs:us-east-1:111122223333:jenkins-fleet-bank-ci-interruptions", url = "https://sqs.us-east-1.amazonaws.com/111122223333/jenkins-fleet-bank-ci-interruptions" }
}

run "one_queue_two_rules_only_they_send" {
  command = plan

  assert {
    condition     = aws_sqs_queue.notices.name == "jenkins-fleet-bank-ci-interruptions" && aws_sqs_queue.notices.sqs_managed_sse_enabled && aws_sqs_queue.notices.message_retention_seconds == 3600 && aws_sqs_queue.notices.visibility_timeout_seconds == 60
    error_message = "The fleet's queue, encrypted, notices kept an hour, hidden 60 s once received."
  }

  assert {
    condition = { for k, rule in aws_cloudwatch_event_rule.notice : rule.name => jsondecode(rule.event_pattern) } == {
      "jenkins-fleet-bank-ci-spot-warning" = { source = ["aws.ec2"], "detail-type" = ["EC2 Spot Instance Interruption Warning"] }
      "jenkins-fleet-bank-ci-rebalance"    = { source = ["aws.ec2"], "detail-type" = ["EC2 Instance Rebalance Recommendation"] }
    }
    error_message = "One rule per notice, on EC2's exact detail-types."
  }

  assert {
    condition     = alltrue([for t in aws_cloudwatch_event_target.queue : t.target_id == "provisioner-watch"]) && length(aws_cloudwatch_event_target.queue) == 2
    error_message = "Each rule targets the queue."
  }

  assert {
    condition     = [for s in jsondecode(data.aws_iam_policy_document.queue.json).Statement : [s.Sid, s.Effect, s.Action, s.Principal, s.Resource]] == [["EventBridgeRulesOfThisFleet", "Allow", "sqs:SendMessage", { Service = "events.amazonaws.com" }, "arn:aws:sqs:us-east-1:111122223333:jenkins-fleet-bank-ci-interruptions"], ["DenyInsecureTransport", "Deny", "sqs:*", "*", "arn:aws:sqs:us-east-1:111122223333:jenkins-fleet-bank-ci-interruptions"]]
    error_message = "EventBridge may send, nothing else is granted by the queue, and plain HTTP is refused: ${data.aws_iam_policy_document.queue.json}"
  }

  assert {
    condition     = one([for s in jsondecode(data.aws_iam_policy_document.queue.json).Statement : s.Condition if s.Sid == "EventBridgeRulesOfThisFleet"]) == { ArnEquals = { "aws:SourceArn" = ["arn:aws:events:us-east-1:111122223333:rule/jenkins-fleet-bank-ci-rebalance", "arn:aws:events:us-east-1:111122223333:rule/jenkins-fleet-bank-ci-spot-warning"] } }
    error_message = "Only this fleet's two rules may send: ${data.aws_iam_policy_document.queue.json}"
  }

  assert {
    condition     = output.queue_url == "https://sqs.us-east-1.amazonaws.com/111122223333/jenkins-fleet-bank-ci-interruptions"
    error_message = "The URL fleet.yaml's interruptions.queue takes."
  }
}
