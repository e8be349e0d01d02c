# Plans terraform/modules/app-region offline with the real aws provider and checks what the
# provider will be asked to create: the task's secrets, no public IP, /health, TLS, scaling.

provider "aws" {
  region                      = "us-east-1"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}

variables {
  name                      = "bank-app-pri"
  vpc_id                    = "vpc-0aaa"
  vpc_cidr_block            = "10.50.0.0/16"
  public_subnet_ids         = ["subnet-0a1", "subnet-0a2"]
  private_subnet_ids        = ["subnet-0b1", "subnet-0b2"]
  certificate_arn           = "arn:aws:acm:us-east-1:111122223333:certificate/app"
  container_image           = "docker.io/bankco/banking-app:1.0.0"
  db_host                   = "bank-app-primary.example.us-east-1.rds.amazonaws.com"
  db_name                   = "bank"
  db_credentials_secret_arn = "arn:aws:secretsmanager:us-east-1:111122223333:secret:bank-app/db-AbCdEf"
  app_secret_key_arn        = "arn:aws:secretsmanager:us-east-1:111122223333:secret:bank-app/secret-key-GhIjKl"
  secrets_kms_key_arn       = "arn:aws:kms:us-east-1:111122223333:key/app-key"
}

run "the_task_gets_its_secrets_from_secrets_manager_and_no_public_ip" {
  command = plan

  assert {
    condition = toset(jsondecode(aws_ecs_task_definition.app.container_definitions)[0].secrets) == toset([
      { name = "DB_USER", valueFrom = "arn:aws:secretsmanager:us-east-1:111122223333:secret:bank-app/db-AbCdEf:username::" },
      { name = "DB_PASSWORD", valueFrom = "arn:aws:secretsmanager:us-east-1:111122223333:secret:bank-app/db-AbCdEf:password::" },
      { name = "SECRET_KEY", valueFrom = "arn:aws:secretsmanager:us-east-1:111122223333:secret:bank-app/secret-key-GhIjKl" },
    ])
    error_message = "DB_USER, DB_PASSWORD and SECRET_KEY must come from Secrets Manager: ${aws_ecs_task_definition.app.container_definitions}"
  }

  assert {
    condition     = toset([for e in jsondecode(aws_ecs_task_definition.app.container_definitions)[0].environment : e.name]) == toset(["DB_HOST", "DB_PORT", "DB_NAME"])
    error_message = "The plain environment holds no secret."
  }

  assert {
    condition     = strcontains(jsondecode(aws_ecs_task_definition.app.container_definitions)[0].command[2], "exec gunicorn -c gunicorn.conf.py wsgi:app")
    error_message = "The container composes DATABASE_URL and then execs gunicorn."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.app.container_definitions)[0].logConfiguration.options == { "awslogs-group" = "/ecs/bank-app-pri", "awslogs-region" = "us-east-1", "awslogs-stream-prefix" = "app" }
    error_message = "Logs go to the service's CloudWatch log group in its region."
  }

  assert {
    condition     = aws_ecs_service.app.network_configuration[0].assign_public_ip == false && toset(aws_ecs_service.app.network_configuration[0].subnets) == toset(["subnet-0b1", "subnet-0b2"])
    error_message = "Tasks run in the private subnets without public IPs."
  }

  assert {
    condition = [for s in jsondecode(data.aws_iam_policy_document.read_secrets.json).Statement : [s.Action, s.Resource]] == [
      ["secretsmanager:GetSecretValue", ["arn:aws:secretsmanager:us-east-1:111122223333:secret:bank-app/secret-key-GhIjKl", "arn:aws:secretsmanager:us-east-1:111122223333:secret:bank-app/db-AbCdEf"]],
      ["kms:Decrypt", "arn:aws:kms:us-east-1:111122223333:key/app-key"],
    ]
    error_message = "The execution role reads exactly the two secrets and decrypts with their key: ${data.aws_iam_policy_document.read_secrets.json}"
  }
}

run "the_load_balancer_terminates_tls_checks_health_and_the_service_scales" {
  command = plan

  assert {
    condition     = aws_lb_target_group.app.health_check[0].path == "/health" && aws_lb_target_group.app.port == 8000 && aws_lb_target_group.app.target_type == "ip"
    error_message = "The target group checks /health on the tasks' port 8000."
  }

  assert {
    condition     = aws_lb_listener.https.protocol == "HTTPS" && aws_lb_listener.https.ssl_policy == "ELBSecurityPolicy-TLS13-1-2-2021-06" && aws_lb_listener.https.certificate_arn == "arn:aws:acm:us-east-1:111122223333:certificate/app"
    error_message = "HTTPS with a TLS 1.2+ policy and the region's certificate."
  }

  assert {
    condition     = aws_lb_listener.http.default_action[0].redirect[0].protocol == "HTTPS" && aws_lb_listener.http.default_action[0].redirect[0].status_code == "HTTP_301"
    error_message = "Plain HTTP only redirects to HTTPS."
  }

  assert {
    condition = [for p in [aws_appautoscaling_policy.cpu, aws_appautoscaling_policy.requests] : p.target_tracking_scaling_policy_configuration[0].predefined_metric_specification[0].predefined_metric_type] == [
      "ECSServiceAverageCPUUtilization", "ALBRequestCountPerTarget",
    ]
    error_message = "The service scales on CPU and on requests per target."
  }

  assert {
    condition     = aws_appautoscaling_target.app.min_capacity == 2 && aws_appautoscaling_target.app.max_capacity == 10
    error_message = "Between 2 and 10 tasks by default."
  }
}
