# The queue EC2's Spot interruption notices reach `provisioner watch` through: two EventBridge rules
# on the default bus (EC2 Spot Instance Interruption Warning, EC2 Instance Rebalance Recommendation)
# send each event, as its JSON, to one SQS queue of the fleet's, and only those two rules may send.
#
# EventBridge cannot match on an instance's tags, and the instance ids are not known when the rules
# are made: the rules take every Spot instance of the account and region, and `watch` deletes the
# messages of instances that are not its fleet's. That is why the queue is the fleet's own: a second
# fleet gets its own queue and rules (EventBridge gives each matching rule its copy of the event).

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  # The queue's name is what `provisioner sandbox` names its stand-in of it.
  name = "jenkins-fleet-${var.fleet}-interruptions"
  # The ARNs the queue policy names, from their names: known at plan time, so the policy can be reviewed in the plan.
  arn_prefix = "arn:${data.aws_partition.current.partition}:%s:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}"
  queue_arn  = "${format(local.arn_prefix, "sqs")}:${local.name}"
  rule_arns  = [for suffix in keys(local.notices) : "${format(local.arn_prefix, "events")}:rule/jenkins-fleet-${var.fleet}-${suffix}"]
  # Rule name suffix => the event's detail-type, as the EC2 user guide names them.
  notices = {
    spot-warning = "EC2 Spot Instance Interruption Warning"
    rebalance    = "EC2 Instance Rebalance Recommendation"
  }
}

resource "aws_sqs_queue" "notices" {
  name = local.name

  # SQS-managed SSE: EventBridge may send to it without a right on a key of ours (a customer managed
  # key would need EventBridge in its key policy), and the events hold no secret, only instance ids.
  sqs_managed_sse_enabled = true

  # A notice is worth nothing once its instance is gone (two minutes after a warning): an hour rides
  # out a restart or a deployment of `watch`, and older messages need no dead-letter queue to keep
  # them, since nothing could be done with them. A message `watch` could not act on (its drain
  # failed) comes back after the visibility timeout and is tried again until it is deleted or expires.
  message_retention_seconds  = var.message_retention_seconds
  visibility_timeout_seconds = 60
  receive_wait_time_seconds  = 0

  tags = var.tags
}

resource "aws_cloudwatch_event_rule" "notice" {
  for_each = local.notices

  name        = "jenkins-fleet-${var.fleet}-${each.key}"
  description = "${each.value} events of EC2 into ${local.name}, for provisioner watch"
  event_pattern = jsonencode({
    source        = ["aws.ec2"]
    "detail-type" = [each.value]
  })

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "queue" {
  for_each = local.notices

  rule      = aws_cloudwatch_event_rule.notice[each.key].name
  target_id = "provisioner-watch"
  arn       = aws_sqs_queue.notices.arn
}

# Only the two rules may send (events.amazonaws.com with aws:SourceArn one of them); reading and
# deleting is for the principals whose identity policies grant it (provisioner-iam).
data "aws_iam_policy_document" "queue" {
  statement {
    sid       = "EventBridgeRulesOfThisFleet"
    actions   = ["sqs:SendMessage"]
    resources = [local.queue_arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = local.rule_arns
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [local.queue_arn]

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
}

resource "aws_sqs_queue_policy" "notices" {
  queue_url = aws_sqs_queue.notices.id
  policy    = data.aws_iam_policy_document.queue.json
}
