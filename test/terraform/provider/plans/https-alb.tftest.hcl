# Plans terraform/modules/https-alb offline with the real aws provider, internet-facing and
# internal, and checks what the provider will be asked to create: TLS 1.2+ with HSTS and no
# Server banner, HTTP only redirected, access logs to a private bucket that only the regional
# load balancer account may write to, a WAF with managed rules, a rate limit and a body limit.

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

variables {
  name                     = "bank-app-use1"
  vpc_id                   = "vpc-0aaa"
  subnet_ids               = ["subnet-0a1", "subnet-0a2"]
  internal                 = false
  certificate_arn          = "arn:aws:acm:us-east-1:111122223333:certificate/app"
  target_group_name        = "bank-app-use1-app"
  target_type              = "ip"
  target_port              = 8000
  target_security_group_id = "sg-0a5c"
  log_kms_key_arn          = "arn:aws:kms:us-east-1:111122223333:key/log-key"
  health_check = {
    path                = "/health"
    matcher             = "200,503"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
  waf_managed_rule_groups      = ["AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"]
  waf_rate_limit_per_5_minutes = 2000
  max_request_body_bytes       = 8192
}

run "an_internet_facing_load_balancer_serves_tls_only_and_logs_everything" {
  command = plan

  assert {
    condition     = aws_lb.this.internal == false && aws_lb.this.drop_invalid_header_fields && aws_lb.this.desync_mitigation_mode == "strictest"
    error_message = "Internet-facing, invalid headers dropped, strictest desync mitigation."
  }

  assert {
    condition     = aws_lb_listener.https.ssl_policy == "ELBSecurityPolicy-TLS13-1-2-2021-06" && aws_lb_listener.https.certificate_arn == "arn:aws:acm:us-east-1:111122223333:certificate/app"
    error_message = "HTTPS with a TLS 1.2+ policy and the region's certificate."
  }

  assert {
    condition     = aws_lb_listener.https.routing_http_response_strict_transport_security_header_value == "max-age=31536000; includeSubDomains" && aws_lb_listener.https.routing_http_response_server_enabled == false
    error_message = "The listener sends HSTS for a year on every response and no Server header."
  }

  assert {
    condition     = aws_lb_listener.http[0].default_action[0].type == "redirect" && aws_lb_listener.http[0].default_action[0].redirect[0].protocol == "HTTPS" && aws_lb_listener.http[0].default_action[0].redirect[0].status_code == "HTTP_301"
    error_message = "Plain HTTP only redirects to HTTPS."
  }

  assert {
    condition     = [for r in [aws_vpc_security_group_ingress_rule.world_http[0], aws_vpc_security_group_ingress_rule.world_https[0]] : [r.cidr_ipv4, r.from_port]] == [["0.0.0.0/0", 80], ["0.0.0.0/0", 443]] && length(aws_vpc_security_group_ingress_rule.https_from_networks) == 0
    error_message = "The world reaches 80 and 443, nothing else."
  }

  assert {
    condition     = aws_vpc_security_group_egress_rule.to_targets.referenced_security_group_id == "sg-0a5c" && aws_vpc_security_group_egress_rule.to_targets.from_port == 8000
    error_message = "The load balancer opens connections only to the targets' port in their security group."
  }

  assert {
    condition     = aws_lb_target_group.this.health_check[0].path == "/health" && aws_lb_target_group.this.health_check[0].matcher == "200,503" && aws_lb_target_group.this.target_type == "ip"
    error_message = "The target group checks what the caller asks."
  }

  assert {
    condition     = aws_lb.this.access_logs[0].enabled && aws_lb.this.access_logs[0].prefix == "alb"
    error_message = "Every request is logged to S3."
  }

  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.access_logs.rule).apply_server_side_encryption_by_default).sse_algorithm == "AES256" && aws_s3_bucket_public_access_block.access_logs.block_public_policy && aws_s3_bucket_public_access_block.access_logs.restrict_public_buckets
    error_message = "The log bucket is encrypted (SSE-S3, the only kind load balancers write to) and never public."
  }

  assert {
    condition     = data.aws_elb_service_account.current.arn == "arn:aws:iam::127311923021:root"
    error_message = "The log bucket's writer is the region's Elastic Load Balancing account, known to the provider without a call or a literal id."
  }
}

run "the_waf_blocks_known_attacks_floods_and_large_bodies_and_logs_without_credentials" {
  command = plan

  assert {
    condition = { for r in aws_wafv2_web_acl.this.rule : r.name => r.priority } == {
      "rate-per-client"                      = 1
      "max-body-size"                        = 2
      "AWSManagedRulesCommonRuleSet"         = 10
      "AWSManagedRulesKnownBadInputsRuleSet" = 11
    }
    error_message = "The rate limit and the body limit come first, then the managed groups in order."
  }

  assert {
    condition     = one([for r in aws_wafv2_web_acl.this.rule : r.statement[0].rate_based_statement[0].limit if r.name == "rate-per-client"]) == 2000
    error_message = "The rate limit is the caller's."
  }

  assert {
    condition     = one([for r in aws_wafv2_web_acl.this.rule : r.statement[0].size_constraint_statement[0].size if r.name == "max-body-size"]) == 8192
    error_message = "Bodies over 8192 bytes are blocked."
  }

  assert {
    condition     = aws_cloudwatch_log_group.waf.name == "aws-waf-logs-bank-app-use1" && aws_cloudwatch_log_group.waf.kms_key_id == "arn:aws:kms:us-east-1:111122223333:key/log-key"
    error_message = "WAF logs to its own encrypted log group."
  }

  assert {
    condition     = toset([for f in aws_wafv2_web_acl_logging_configuration.this.redacted_fields : f.single_header[0].name]) == toset(["authorization", "cookie"])
    error_message = "Authorization and cookies never reach the WAF log."
  }
}

run "an_internal_load_balancer_admits_only_the_listed_networks_and_groups_on_443" {
  command = plan

  variables {
    internal                   = true
    ingress_cidrs              = ["10.0.0.0/8"]
    ingress_security_group_ids = { agents = "sg-0a9e" }
    max_request_body_bytes     = null
  }

  assert {
    condition     = aws_lb.this.internal && length(aws_lb_listener.http) == 0 && length(aws_vpc_security_group_ingress_rule.world_https) == 0 && length(aws_vpc_security_group_ingress_rule.world_http) == 0
    error_message = "Internal: no plain HTTP listener and nothing open to the world."
  }

  assert {
    condition     = aws_vpc_security_group_ingress_rule.https_from_networks["10.0.0.0/8"].from_port == 443 && aws_vpc_security_group_ingress_rule.https_from_groups["agents"].referenced_security_group_id == "sg-0a9e"
    error_message = "The bank's networks and the agents reach 443."
  }

  assert {
    condition     = !contains([for r in aws_wafv2_web_acl.this.rule : r.name], "max-body-size")
    error_message = "No body limit when none is asked for."
  }
}
