# Plans terraform/modules/app-region offline with the real aws provider and checks what the
# provider will be asked to create: the task's secrets and command, no public IP, the database's
# network path, the load balancer (liveness check, TLS, HSTS, WAF, access logs), scaling, and what
# the execution role may pull and write for an image on docker.io and for one in ECR.

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

# Its ARN is known at plan time here, so that the execution role's policy document is too.
override_resource {
  target          = module.ecs.aws_cloudwatch_log_group.this
  override_during = plan
  values          = { arn = "arn:aws:logs:us-east-1:111122223333:log-group:/ecs/bank-app-pri" }
}

variables {
  name                           = "bank-app-pri"
  vpc_id                         = "vpc-0aaa"
  public_subnet_ids              = ["subnet-0a1", "subnet-0a2"]
  public_subnet_cidr_blocks      = ["10.50.0.0/20", "10.50.16.0/20"]
  private_subnet_ids             = ["subnet-0b1", "subnet-0b2"]
  certificate_arn                = "arn:aws:acm:us-east-1:111122223333:certificate/app"
  container_image                = "docker.io/bankco/banking-app:1.0.0"
  db_host                        = "bank-app-primary.example.us-east-1.rds.amazonaws.com"
  db_name                        = "bank"
  role                           = "writer"
  db_app_secret_arn              = "arn:aws:secretsmanager:us-east-1:111122223333:secret:bank-app/db-app-AbCdEf"
  db_migrator_secret_arn         = "arn:aws:secretsmanager:us-east-1:111122223333:secret:bank-app/db-migrator-MnOpQr"
  secret_key_arn                 = "arn:aws:secretsmanager:us-east-1:111122223333:secret:bank-app/secret-key-GhIjKl"
  shared_secrets_kms_key_arn     = "arn:aws:kms:us-east-1:111122223333:key/mrk-shared"
  master_user_secret_arn         = "arn:aws:secretsmanager:us-east-1:111122223333:secret:rds!db-1234"
  master_user_secret_kms_key_arn = "arn:aws:kms:us-east-1:111122223333:key/data"
  credentials_version            = "db-app=v2,db-migrator=v2,secret-key=v1"
  log_kms_key_arn                = "arn:aws:kms:us-east-1:111122223333:key/log-key"
  permissions_boundary_arn       = "arn:aws:iam::111122223333:policy/bank-app-deploy-boundary"
}

run "a_writers_task_manages_users_then_migrates_then_serves_as_its_dml_only_user" {
  command = plan

  # app-region.writer-task.json is also what test/docker/test_writer_task.py runs against the built
  # image, container by container: a command or variable the image does not know fails there.
  assert {
    condition = jsonencode({ for c in jsondecode(aws_ecs_task_definition.app.container_definitions) : c.name => {
      image       = c.image
      essential   = c.essential
      command     = try(c.command, null)
      environment = { for e in c.environment : e.name => e.value }
      secrets     = { for s in c.secrets : s.name => s.valueFrom }
      dependsOn   = try(c.dependsOn, [])
    } }) == jsonencode(jsondecode(file("tests/app-region.writer-task.json")))
    error_message = "The writer's containers differ from tests/app-region.writer-task.json, the task test/docker runs against the image: ${aws_ecs_task_definition.app.container_definitions}"
  }

  assert {
    condition     = { for c in jsondecode(aws_ecs_task_definition.app.container_definitions) : c.name => c.essential } == { db-users = false, migrate = false, app = true }
    error_message = "Three containers; only the app keeps the task alive."
  }

  assert {
    condition     = { for c in jsondecode(aws_ecs_task_definition.app.container_definitions) : c.name => try(c.dependsOn, []) } == { db-users = [], migrate = [{ containerName = "db-users", condition = "SUCCESS" }], app = [{ containerName = "migrate", condition = "SUCCESS" }] }
    error_message = "The migrations wait for the users, the app for the migrations."
  }

  assert {
    condition = { for e in { for c in jsondecode(aws_ecs_task_definition.app.container_definitions) : c.name => c }["app"].secrets : e.name => e.valueFrom } == {
      DB_USER     = "arn:aws:secretsmanager:us-east-1:111122223333:secret:bank-app/db-app-AbCdEf:username::"
      DB_PASSWORD = "arn:aws:secretsmanager:us-east-1:111122223333:secret:bank-app/db-app-AbCdEf:password::"
      SECRET_KEY  = "arn:aws:secretsmanager:us-east-1:111122223333:secret:bank-app/secret-key-GhIjKl"
    }
    error_message = "The app logs in as its own user (db-app), never as the master or the migrator: ${aws_ecs_task_definition.app.container_definitions}"
  }

  assert {
    condition = { for e in { for c in jsondecode(aws_ecs_task_definition.app.container_definitions) : c.name => c }["app"].environment : e.name => e.value } == {
      DB_HOST                = "bank-app-primary.example.us-east-1.rds.amazonaws.com"
      DB_PORT                = "3306"
      DB_NAME                = "bank"
      DB_SSL_CA              = "/etc/bank/db-ca.pem"
      BANK_BIND              = "0.0.0.0:8000"
      FORWARDED_ALLOW_IPS    = "10.50.0.0/20,10.50.16.0/20"
      BANK_PROXY_HOPS        = "1"
      BANK_MIGRATE_ON_START  = "0"
      DB_CREDENTIALS_VERSION = "db-app=v2,db-migrator=v2,secret-key=v1"
    }
    error_message = "The plain environment holds no secret; gunicorn listens on the target group's port; TLS is verified against the image's CA bundle; the client is the address the load balancer saw; the app does not migrate itself; the secrets' versions roll the tasks when they change."
  }

  assert {
    condition     = !can({ for c in jsondecode(aws_ecs_task_definition.app.container_definitions) : c.name => c }["app"].command) && !can({ for c in jsondecode(aws_ecs_task_definition.app.container_definitions) : c.name => c }["app"].entryPoint)
    error_message = "The app runs the image's own command, not a shell wrapper."
  }

  assert {
    condition     = { for c in jsondecode(aws_ecs_task_definition.app.container_definitions) : c.name => c }["migrate"].command == ["flask", "--app", "bank", "migrate"] && [for s in { for c in jsondecode(aws_ecs_task_definition.app.container_definitions) : c.name => c }["migrate"].secrets : s.valueFrom if s.name == "DB_USER"] == ["arn:aws:secretsmanager:us-east-1:111122223333:secret:bank-app/db-migrator-MnOpQr:username::"]
    error_message = "The migrations run as the migrator, with the image's migrate command."
  }

  assert {
    condition     = { for name, c in { for c in jsondecode(aws_ecs_task_definition.app.container_definitions) : c.name => c } : name => [for s in c.secrets : s.valueFrom if startswith(s.name, "MASTER_")] } == { db-users = ["arn:aws:secretsmanager:us-east-1:111122223333:secret:rds!db-1234:password::", "arn:aws:secretsmanager:us-east-1:111122223333:secret:rds!db-1234:username::"], migrate = [], app = [] }
    error_message = "Only db-users reads the master secret RDS manages."
  }

  assert {
    condition     = { for c in jsondecode(aws_ecs_task_definition.app.container_definitions) : c.name => c }["app"].logConfiguration.options == { "awslogs-group" = "/ecs/bank-app-pri", "awslogs-region" = "us-east-1", "awslogs-stream-prefix" = "app" }
    error_message = "Logs go to the service's CloudWatch log group in its region."
  }

  assert {
    condition     = aws_ecs_service.app.network_configuration[0].assign_public_ip == false && toset(aws_ecs_service.app.network_configuration[0].subnets) == toset(["subnet-0b1", "subnet-0b2"])
    error_message = "Tasks run in the private subnets without public IPs."
  }

  assert {
    condition = [for s in jsondecode(data.aws_iam_policy_document.read_secrets.json).Statement : [s.Action, s.Resource]] == [
      ["secretsmanager:GetSecretValue", ["arn:aws:secretsmanager:us-east-1:111122223333:secret:rds!db-1234", "arn:aws:secretsmanager:us-east-1:111122223333:secret:bank-app/secret-key-GhIjKl", "arn:aws:secretsmanager:us-east-1:111122223333:secret:bank-app/db-migrator-MnOpQr", "arn:aws:secretsmanager:us-east-1:111122223333:secret:bank-app/db-app-AbCdEf"]],
      ["kms:Decrypt", ["arn:aws:kms:us-east-1:111122223333:key/mrk-shared", "arn:aws:kms:us-east-1:111122223333:key/data"]],
    ]
    error_message = "The execution role reads exactly the task's secrets and decrypts with their keys: ${data.aws_iam_policy_document.read_secrets.json}"
  }

  assert {
    condition     = module.ecs.role_permissions_boundaries == { execution = "arn:aws:iam::111122223333:policy/bank-app-deploy-boundary", task = "arn:aws:iam::111122223333:policy/bank-app-deploy-boundary" }
    error_message = "The tasks' roles carry the pipeline's boundary."
  }

  assert {
    condition     = module.ecs.log_group_kms_key_id == "arn:aws:kms:us-east-1:111122223333:key/log-key"
    error_message = "The app's log group is encrypted under the customer-managed log key."
  }
}

run "a_replicas_task_runs_the_app_alone_and_reads_no_master_secret" {
  command = plan

  variables {
    role                           = "replica"
    master_user_secret_arn         = null
    master_user_secret_kms_key_arn = null
  }

  assert {
    condition     = [for c in jsondecode(aws_ecs_task_definition.app.container_definitions) : c.name] == ["app"] && try(jsondecode(aws_ecs_task_definition.app.container_definitions)[0].dependsOn, []) == []
    error_message = "No user management and no migrations on a read replica."
  }

  assert {
    condition     = { for e in jsondecode(aws_ecs_task_definition.app.container_definitions)[0].environment : e.name => e.value if contains(["DB_SSL_CA", "BANK_PROXY_HOPS"], e.name) } == { DB_SSL_CA = "/etc/bank/db-ca.pem", BANK_PROXY_HOPS = "1" }
    error_message = "A replica's app verifies the database's certificate and sees clients as the writer's does."
  }

  assert {
    condition     = !strcontains(data.aws_iam_policy_document.read_secrets.json, "rds!db")
    error_message = "A replica's tasks cannot read a master secret."
  }
}

run "a_fenced_region_scales_to_zero_and_closes_its_database" {
  command = plan

  variables {
    role                           = "fenced"
    master_user_secret_arn         = null
    master_user_secret_kms_key_arn = null
  }

  assert {
    condition     = aws_appautoscaling_target.app.min_capacity == 0 && aws_appautoscaling_target.app.max_capacity == 0 && length(aws_vpc_security_group_ingress_rule.database_from_tasks) == 0
    error_message = "Nothing runs, and nothing may connect to the database."
  }
}

run "a_writer_without_its_master_secret_is_refused" {
  command = plan

  variables {
    master_user_secret_arn = null
  }

  expect_failures = [aws_ecs_task_definition.app]
}

run "the_load_balancer_terminates_tls_checks_liveness_and_the_service_scales" {
  command = plan

  assert {
    condition     = aws_vpc_security_group_egress_rule.tasks_to_database.from_port == 3306 && aws_vpc_security_group_egress_rule.tasks_to_database.cidr_ipv4 == null
    error_message = "The tasks open MySQL connections to the database's security group only, not to an address range."
  }

  assert {
    condition     = aws_vpc_security_group_ingress_rule.database_from_tasks[0].from_port == 3306 && aws_vpc_security_group_ingress_rule.database_from_tasks[0].cidr_ipv4 == null
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

  assert {
    condition     = module.load_balancer.health_check.path == "/health/live" && module.load_balancer.health_check.matcher == "200"
    error_message = "The target group asks the app's liveness endpoint (no database) for 200; the database-deep /health is Route 53's."
  }
}

run "another_container_port_is_where_gunicorn_listens_and_the_load_balancer_sends" {
  command = plan

  variables {
    container_port = 8080
  }

  assert {
    condition = [for c in jsondecode(aws_ecs_task_definition.app.container_definitions) : [
      [for e in c.environment : e.value if e.name == "BANK_BIND"], [for p in c.portMappings : p.containerPort]
    ] if c.name == "app"] == [[["0.0.0.0:8080"], [8080]]]
    error_message = "gunicorn binds the port the task maps (BANK_BIND), or the load balancer would find nobody there: ${aws_ecs_task_definition.app.container_definitions}"
  }

  assert {
    condition     = [for lb in aws_ecs_service.app.load_balancer : lb.container_port] == [8080]
    error_message = "The service registers the app's port with the target group."
  }
}

# --- The execution role: its image's one repository at most, its own log group ---------------

run "a_docker_hub_image_gives_the_execution_role_no_ecr_permission_and_its_own_log_group_only" {
  command = plan

  assert {
    condition = jsonencode({ for s in jsondecode(data.aws_iam_policy_document.pull_and_log.json).Statement : s.Sid => { actions = sort(flatten([s.Action])), resources = sort(flatten([s.Resource])) } }) == jsonencode({
      WriteItsLog = { actions = ["logs:CreateLogStream", "logs:PutLogEvents"], resources = ["arn:aws:logs:us-east-1:111122223333:log-group:/ecs/bank-app-pri:*"] }
    })
    error_message = "A public image on docker.io needs no AWS permission to pull; the log is written to the app's log group only: ${data.aws_iam_policy_document.pull_and_log.json}"
  }

  assert {
    condition     = length(data.aws_caller_identity.current) == 0
    error_message = "The account is not asked when no ECR image needs comparing with it."
  }
}

run "an_ecr_image_of_this_account_and_region_is_pulled_from_its_one_repository" {
  command = plan

  variables {
    container_image = "111122223333.dkr.ecr.us-east-1.amazonaws.com/bank/banking-app@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
  }

  override_data {
    target = data.aws_caller_identity.current
    values = { account_id = "111122223333" }
  }

  assert {
    condition = jsonencode({ for s in jsondecode(data.aws_iam_policy_document.pull_and_log.json).Statement : s.Sid => { actions = sort(flatten([s.Action])), resources = sort(flatten([s.Resource])) } }) == jsonencode({
      RegistryLogin   = { actions = ["ecr:GetAuthorizationToken"], resources = ["*"] }
      PullTheAppImage = { actions = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"], resources = ["arn:aws:ecr:us-east-1:111122223333:repository/bank/banking-app"] }
      WriteItsLog     = { actions = ["logs:CreateLogStream", "logs:PutLogEvents"], resources = ["arn:aws:logs:us-east-1:111122223333:log-group:/ecs/bank-app-pri:*"] }
    })
    error_message = "The execution role logs in to ECR, pulls the image's own repository (bank/banking-app, read off the reference) and no other, and writes its own log group: ${data.aws_iam_policy_document.pull_and_log.json}"
  }

  assert {
    condition     = toset([for c in jsondecode(aws_ecs_task_definition.app.container_definitions) : c.image]) == toset(["111122223333.dkr.ecr.us-east-1.amazonaws.com/bank/banking-app@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"])
    error_message = "Every container runs the image the role may pull."
  }
}

run "an_ecr_image_of_another_region_is_refused" {
  command = plan

  variables {
    container_image = "111122223333.dkr.ecr.us-west-2.amazonaws.com/bank/banking-app:1.0.0"
  }

  override_data {
    target = data.aws_caller_identity.current
    values = { account_id = "111122223333" }
  }

  expect_failures = [aws_iam_role_policy.execution_pull_and_log]
}

run "an_ecr_image_of_another_account_is_refused" {
  command = plan

  variables {
    container_image = "444455556666.dkr.ecr.us-east-1.amazonaws.com/bank/banking-app:1.0.0"
  }

  override_data {
    target = data.aws_caller_identity.current
    values = { account_id = "111122223333" }
  }

  expect_failures = [aws_iam_role_policy.execution_pull_and_log]
}

run "an_aws_registry_named_in_another_shape_is_refused" {
  command = plan

  variables {
    container_image = "111122223333.dkr.ecr-fips.us-east-1.amazonaws.com/bank/banking-app:1.0.0"
  }

  expect_failures = [var.container_image]
}
