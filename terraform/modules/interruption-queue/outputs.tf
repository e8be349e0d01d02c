output "queue_url" {
  description = "fleet.yaml interruptions.queue: the URL `provisioner watch` reads the notices from."
  value       = aws_sqs_queue.notices.url
}

output "queue_arn" {
  description = "The queue's ARN: one of what provisioner-iam's interruption_queue_arns grants receiving from and deleting in."
  value       = aws_sqs_queue.notices.arn
}

output "rule_arns" {
  description = "The two EventBridge rules, by notice (spot-warning, rebalance): the only senders the queue policy admits."
  value       = { for k, rule in aws_cloudwatch_event_rule.notice : k => rule.arn }
}

output "queue_name" {
  description = "The queue's name: jenkins-fleet-<fleet>-interruptions."
  value       = aws_sqs_queue.notices.name
}
