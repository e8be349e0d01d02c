# Plans terraform/app-traffic offline with the real aws provider: the one record customers resolve
# points at the traffic region's load balancer, health checks watch the live regions and alarm,
# and step 3 of the failover runbook (terraform/README.md), moving traffic, is a change of the
# topology's traffic region and nothing else.

provider "aws" {
  region                      = "us-east-1"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}

override_data {
  target = module.alarm_key.data.aws_caller_identity.current
  values = { account_id = "111122223333" }
}

variables {
  domain_name    = "app.bank.example"
  hosted_zone_id = "Z0123456789ABC"
  load_balancer_dns_names = {
    us-east-1 = "bank-app-use1-alb-123.us-east-1.elb.amazonaws.com"
    us-west-2 = "bank-app-usw2-alb-456.us-west-2.elb.amazonaws.com"
  }
  topology = {
    regions = {
      us-east-1 = { role = "writer", generation = 1, vpc_cidr_block = "10.50.0.0/16" }
      us-west-2 = { role = "replica", generation = 1, vpc_cidr_block = "10.60.0.0/16" }
    }
    traffic      = "us-east-1"
    secrets_home = "us-east-1"
  }
}

run "before_customers_go_to_us_east_1_and_both_regions_are_watched" {
  command = plan

  assert {
    condition     = output.record_target == "bank-app-use1-alb-123.us-east-1.elb.amazonaws.com" && aws_route53_record.app.alias[0].zone_id == "Z35SXDOTRQ7X7K"
    error_message = "The record is an alias of us-east-1's load balancer (its zone from the provider's table)."
  }

  assert {
    condition     = length(aws_route53_record.app.failover_routing_policy) == 0 && aws_route53_record.app.health_check_id == null && aws_route53_record.app.alias[0].evaluate_target_health == false
    error_message = "No failover routing: traffic moves only when the runbook moves it, and never back by itself."
  }

  assert {
    condition     = output.watched_regions == ["us-east-1", "us-west-2"] && aws_route53_health_check.region["us-west-2"].resource_path == "/health" && aws_route53_health_check.region["us-west-2"].fqdn == "bank-app-usw2-alb-456.us-west-2.elb.amazonaws.com"
    error_message = "Both live regions are watched on /health (the app answers and reaches its database)."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.health["us-east-1"].metric_name == "HealthCheckStatus" && aws_cloudwatch_metric_alarm.health["us-east-1"].namespace == "AWS/Route53" && aws_cloudwatch_metric_alarm.health["us-east-1"].treat_missing_data == "breaching"
    error_message = "Each health check alarms (and silence is an alarm too)."
  }
}

run "step_3_move_traffic_to_us_west_2_plan" {
  command = plan

  variables {
    topology = {
      regions = {
        us-east-1 = { role = "fenced", generation = 1, vpc_cidr_block = "10.50.0.0/16" }
        us-west-2 = { role = "writer", generation = 1, vpc_cidr_block = "10.60.0.0/16" }
      }
      traffic      = "us-west-2"
      secrets_home = "us-east-1"
    }
  }

  assert {
    condition     = output.record_target == "bank-app-usw2-alb-456.us-west-2.elb.amazonaws.com" && aws_route53_record.app.alias[0].zone_id == "Z1H1FL5HABSF5"
    error_message = "Customers are sent to us-west-2's load balancer."
  }

  assert {
    condition     = output.watched_regions == ["us-west-2"]
    error_message = "The fenced region is no longer watched (its alarm would only page about a decision already taken)."
  }
}

run "a_live_region_without_its_load_balancer_is_refused" {
  command = plan

  variables {
    load_balancer_dns_names = { us-east-1 = "bank-app-use1-alb-123.us-east-1.elb.amazonaws.com" }
  }

  expect_failures = [data.aws_lb_hosted_zone_id.traffic]
}
