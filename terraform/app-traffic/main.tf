# Where customers are sent: one DNS record, pointing at the load balancer of the topology's
# traffic region (always the writer). Moving traffic is a decision, taken in the failover runbook
# after the promotion and the fencing: there is no failover routing, so nothing fails over, and
# nothing fails back, by itself. Route 53 health checks watch each live region from outside
# (/health: the app answers and reaches its database) and alarm; they do not route.
#
# Nothing here reads another root's state or calls a regional API: the load balancers' names are
# inputs (terraform/app's outputs), their zones are the provider's static table. Moving traffic
# needs Route 53 alone; during an outage of var.region, apply with -refresh=false (README.md).

module "topology" {
  source = "../modules/app-topology"

  topology = var.topology != null ? var.topology : yamldecode(file("${path.module}/../app-topology.yaml"))
}

locals {
  traffic = module.topology.traffic

  # Fenced regions are out of service: not watched, never a target.
  live = { for name, r in module.topology.regions : name => r if r.role != "fenced" }
}

data "aws_lb_hosted_zone_id" "traffic" {
  region = local.traffic

  lifecycle {
    precondition {
      condition     = alltrue([for name in keys(local.live) : contains(keys(var.load_balancer_dns_names), name)])
      error_message = "load_balancer_dns_names must name the load balancer of every live region (${join(", ", keys(local.live))}): terraform output load_balancer_dns_name of terraform/app in each."
    }
  }
}

resource "aws_route53_record" "app" {
  zone_id = var.hosted_zone_id
  name    = var.domain_name
  type    = "A"

  alias {
    name                   = lookup(var.load_balancer_dns_names, local.traffic, "missing.elb.amazonaws.com")
    zone_id                = data.aws_lb_hosted_zone_id.traffic.id
    evaluate_target_health = false
  }
}

# --- Watching each live region from outside ---------------------------------------------------

resource "aws_route53_health_check" "region" {
  # (A live region missing from load_balancer_dns_names fails the precondition above.)
  for_each = { for name, r in local.live : name => r if contains(keys(var.load_balancer_dns_names), name) }

  fqdn              = var.load_balancer_dns_names[each.key]
  type              = "HTTPS"
  port              = 443
  resource_path     = "/health"
  request_interval  = 30
  failure_threshold = 3
  enable_sni        = true

  tags = { Name = "${var.name}-${each.key}" }
}

module "alarm_key" {
  source = "../modules/kms-key"

  alias             = "${var.name}/traffic-alarms"
  description       = "${var.name}: the health-check alarm topic"
  cloudwatch_alarms = true
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-health-alarms"
  kms_master_key_id = module.alarm_key.arn
}

resource "aws_sns_topic_subscription" "alarms" {
  for_each = { for s in var.alarm_subscriptions : "${s.protocol}:${s.endpoint}" => s }

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = each.value.protocol
  endpoint  = each.value.endpoint
}

resource "aws_cloudwatch_metric_alarm" "health" {
  for_each = aws_route53_health_check.region

  alarm_name          = "${var.name}-${each.key}-health"
  alarm_description   = "Route 53 finds ${each.key} unhealthy from outside (${each.key == local.traffic ? "customers are sent there: consider the failover runbook" : "the standby could not take over now"})."
  namespace           = "AWS/Route53"
  metric_name         = "HealthCheckStatus"
  statistic           = "Minimum"
  dimensions          = { HealthCheckId = each.value.id }
  comparison_operator = "LessThanThreshold"
  threshold           = 1
  period              = 60
  evaluation_periods  = 3
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}
