# Plans terraform/modules/app-region offline with the real aws provider and checks what the
# provider will be asked to create: the task's secrets and command, no public IP, the database's
# network path, the load balancer (liveness check, TLS, HSTS, WAF, access logs), scaling.

provider "aws" {
  region                      = "us-east-1"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}

override_data {
  target = module.load_balancer.data.aws_caller_identity.current
  values = { account_id = "111122223333" }
}

variables {
  name                      = "bank-app-pri"
  vpc_id                    = "vpc-0aaa"
  public_subnet_ids         = ["subnet-0a1", "subnet-0a2"]
  public_subnet_cidr_blocks = ["10.50.0.0/20", "10.50.16.0/20"]
  private_subnet_ids        = ["subnet-0b1", "subnet-0b2"]
  certificate_arn           = "arn:aws:acm:us-east-1:111122223333:certificate/app"
  container_image           = "docker.io/bankco/banking-app:1.0.0"
  db_host                   = "bank-app-primary.example.us-east-1.rds.amazonaws.com"
  db_name                   = "bank"
  db_credentials_secret_arn = "arn:aws:secretsmanager:us-east-1:111122223333:secret:bank-app/db-AbCdEf"
  app_secret_key_arn        = "arn:aws:secretsmanager:us-east-1:111122223333:secret:bank-app/secret-key-GhIjKl"
  secrets_kms_key_arn       = "arn:aws:kms:us-east-1:111122223333:key/app-key"
  log_kms_key_arn           = "arn:aws:kms:us-east-1:111122223333:key/log-key"
  permissions_boundary_arn  = "arn:aws:iam::111122223333:policy/bank-app-deploy-boundary"
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
    condition = { for e in jsondecode(aws_ecs_task_definition.app.container_definitions)[0].environment : e.name => e.value } == {
      DB_HOST             = "bank-app-primary.example.us-east-1.rds.amazonaws.com"
      DB_PORT             = "3306"
      DB_NAME             = "bank"
      FORWARDED_ALLOW_IPS = "10.50.0.0/20,10.50.16.0/20"
    }
    error_message = "The plain environment holds the database's address and name and the load balancer's subnets, no secret: ${aws_ecs_task_definition.app.container_definitions}"
  }

  assert {
    condition     = !can(jsondecode(aws_ecs_task_definition.app.container_definitions)[0].command) && !can(jsondecode(aws_ecs_task_definition.app.container_definitions)[0].entryPoint)
    error_message = "The container runs the image's own command, not a shell wrapper."
  }

  assert {
    condition     = aws_iam_role.execution.permissions_boundary == "arn:aws:iam::111122223333:policy/bank-app-deploy-boundary" && aws_iam_role.task.permissions_boundary == aws_iam_role.execution.permissions_boundary
    error_message = "The tasks' roles carry the pipeline's boundary."
  }

  assert {
    condition     = aws_cloudwatch_log_group.app.kms_key_id == "arn:aws:kms:us-east-1:111122223333:key/log-key"
    error_message = "The app's log group is encrypted under the customer-managed log key."
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

run "the_load_balancer_terminates_tls_checks_liveness_and_the_service_scales" {
  command = plan

  assert {
    condition     = aws_vpc_security_group_egress_rule.tasks_to_database.from_port == 3306 && aws_vpc_security_group_egress_rule.tasks_to_database.cidr_ipv4 == null
    error_message = "The tasks open MySQL connections to the database's security group only, not to an address range."
  }

  assert {
    condition     = aws_vpc_security_group_ingress_rule.database_from_tasks.from_port == 3306 && aws_vpc_security_group_ingress_rule.database_from_tasks.cidr_ipv4 == null
    error_message = "The database admits MySQL from the tasks' security group only."
  }

  assert {
    condition     = toset(aws_db_subnet_group.database.subnet_ids) == toset(["subnet-0b1", "subnet-0b2"])
    error_message = "The database lives in the private subnets."
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
