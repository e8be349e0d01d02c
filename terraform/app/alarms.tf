# This region's alarms, to one SNS topic (encrypted) that the bank's paging subscribes to: the
# load balancer's and the tasks' 5xx, unhealthy targets, running tasks below the floor, the
# database's free storage, and a replica's lag behind the writer (what a failover now would lose).
# Route 53's view of each region from outside is alarmed in terraform/app-traffic (its metrics
# live in us-east-1 only).

resource "aws_sns_topic" "alarms" {
  name              = "${local.prefix}-alarms"
  kms_master_key_id = module.log_key.arn
}

resource "aws_sns_topic_subscription" "alarms" {
  for_each = { for s in var.alarm_subscriptions : "${s.protocol}:${s.endpoint}" => s }

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = each.value.protocol
  endpoint  = each.value.endpoint
}

locals {
  load_balancer = { LoadBalancer = module.app.load_balancer_arn_suffix }
  database      = { DBInstanceIdentifier = module.database.identifier }

  alarms = merge(
    {
      load-balancer-5xx = {
        description = "The load balancer answered 5xx itself (no healthy target, timeouts)."
        namespace   = "AWS/ApplicationELB", metric = "HTTPCode_ELB_5XX_Count", statistic = "Sum", dimensions = local.load_balancer
        comparison  = "GreaterThanThreshold", threshold = 10, periods = 1
      }
      target-5xx = {
        description = "The app answered 5xx."
        namespace   = "AWS/ApplicationELB", metric = "HTTPCode_Target_5XX_Count", statistic = "Sum", dimensions = local.load_balancer
        comparison  = "GreaterThanThreshold", threshold = 10, periods = 1
      }
      database-free-storage = {
        description = "The database has less than ${var.db_free_storage_alarm_gib} GiB free (storage autoscaling may be at its ceiling)."
        namespace   = "AWS/RDS", metric = "FreeStorageSpace", statistic = "Minimum", dimensions = local.database
        comparison  = "LessThanThreshold", threshold = var.db_free_storage_alarm_gib * 1073741824, periods = 3
      }
    },
    local.role == "fenced" ? {} : {
      unhealthy-targets = {
        description = "Tasks fail the load balancer's health check."
        namespace   = "AWS/ApplicationELB", metric = "UnHealthyHostCount", statistic = "Maximum"
        dimensions  = merge(local.load_balancer, { TargetGroup = module.app.target_group_arn_suffix })
        comparison  = "GreaterThanThreshold", threshold = 0, periods = 3
      }
      running-tasks = {
        description = "Fewer app tasks run than the floor (${var.min_tasks})."
        namespace   = "ECS/ContainerInsights", metric = "RunningTaskCount", statistic = "Minimum"
        dimensions  = { ClusterName = module.app.cluster_name, ServiceName = module.app.service_name }
        comparison  = "LessThanThreshold", threshold = var.min_tasks, periods = 3
      }
    },
    local.role == "replica" ? {
      replica-lag = {
        description = "The replica is more than ${var.replica_lag_alarm_seconds} s behind the writer: a failover now would lose that much."
        namespace   = "AWS/RDS", metric = "ReplicaLag", statistic = "Maximum", dimensions = local.database
        comparison  = "GreaterThanThreshold", threshold = var.replica_lag_alarm_seconds, periods = 3
      }
    } : {},
  )
}

resource "aws_cloudwatch_metric_alarm" "region" {
  for_each = local.alarms

  alarm_name          = "${local.prefix}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  statistic           = each.value.statistic
  dimensions          = each.value.dimensions
  comparison_operator = each.value.comparison
  threshold           = each.value.threshold
  period              = 60
  evaluation_periods  = each.value.periods
  treat_missing_data  = each.key == "running-tasks" ? "breaching" : "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}
