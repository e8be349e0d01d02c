// terraformPlan and terraformApply through the harness: terraform is a recorder whose plan writes
// the -out file and exits with HARNESS_PLAN_EXIT (0 no changes, 2 changes, 1 error); the scripts,
// the bindings, stash and the input semantics are real.

Closure inBuild = { Closure body ->
  Build b = new Build().record('terraform')
  b.file('terraform/app/main.tf', 'terraform {}\n')
  b.credentials['aws-deploy'] = [kind: 'aws', roleArn: 'arn:aws:iam::123456789012:role/bank-deploy']
  b.credentials['aws-plan'] = [kind: 'aws', roleArn: 'arn:aws:iam::123456789012:role/bank-plan']
  try {
    body(b)
  } finally {
    b.close()
  }
}

Closure subcommands = { Build b -> b.toolCalls('terraform')*.argv.collect { List a -> a.find { !it.startsWith('-') } } }
Closure pullRequest = { Build b ->
  b.env.BRANCH_NAME = 'PR-7'
  b.env.CHANGE_ID = '7'
  b.env.CHANGE_TARGET = 'main'
}

// ---- terraformPlan -----------------------------------------------------------------------

test('terraformPlan on main plans terraform/app with the deploy role, waits for the state lock, archives the readable plan and stashes the binary one') {
  inBuild { Build b ->
    Map result = b.step('terraformPlan')
    assert result.changes == true && result.stash == 'terraform-plan-terraform-app' && result.sha256 ==~ /[0-9a-f]{64}/
    assert subcommands(b) == ['version', 'init', 'validate', 'plan', 'show']
    List<Map> tf = b.toolCalls('terraform')
    assert tf[1].argv == ['-chdir=terraform/app', 'init', '-input=false', '-no-color', '-lockfile=readonly']
    String work = tf[3].env.TF_DATA_DIR - '/data'
    assert tf[3].argv == ['-chdir=terraform/app', 'plan', '-input=false', '-no-color', '-detailed-exitcode', "-out=${work}/tfplan".toString(), '-lock-timeout=10m']
    assert tf.every { it.env.TF_IN_AUTOMATION == '1' && it.env.TF_INPUT == '0' }
    assert tf.every { it.env.TF_PLUGIN_CACHE_DIR == '/var/cache/bank-pipeline/terraform-plugins' }
    assert b.callsOf('archiveArtifacts')*.args == [[artifacts: 'terraform/app/terraform-plan.txt']]
    assert new File(b.workspace, 'terraform/app/terraform-plan.txt').text.contains('recorded plan')
    assert b.callsOf('withCredentials')*.args*.getAt(0)*.credentialsId == ['aws-deploy']
    assert b.stashes['terraform-plan-terraform-app'].keySet() == ['tfplan'] as Set
    assert b.callsOf('lock').isEmpty() && b.callsOf('input').isEmpty()
  }
}

test('terraformPlan with a name (a region) keeps its own readable plan and stash, so two plans of one directory in a build stay apart') {
  inBuild { Build b ->
    Map east = b.step('terraformPlan', [name: 'us-east-1', vars: [region: 'us-east-1']])
    Map west = b.step('terraformPlan', [name: 'us-west-2', vars: [region: 'us-west-2']])
    assert [east.stash, west.stash] == ['terraform-plan-terraform-app-us-east-1', 'terraform-plan-terraform-app-us-west-2']
    assert east.sha256 != west.sha256
    assert b.callsOf('archiveArtifacts')*.args*.artifacts == ['terraform/app/terraform-plan-us-east-1.txt', 'terraform/app/terraform-plan-us-west-2.txt']
    assert b.stashes.keySet() == [east.stash, west.stash] as Set
    assert b.log.contains("terraformPlan: changes in terraform/app (us-west-2) (plan sha256 ${west.sha256}); kept for terraformApply")
    assert b.failure('terraformPlan', [name: 'US East']).message ==
        "terraformPlan: parameter 'name' must be a name of lower-case letters, digits and \"-\", such as us-west-2, got 'US East'"
  }
}

test('terraformPlan keeps Terraform\'s data and the binary plan in a fresh directory beside the workspace, removed afterwards') {
  inBuild { Build b ->
    // What a commit could add: a .terraform directory with its own providers.
    b.file('terraform/app/.terraform/providers/evil', 'x')
    b.step('terraformPlan')
    List<Map> tf = b.toolCalls('terraform').drop(1)
    String data = tf[0].env.TF_DATA_DIR
    assert data.startsWith("${b.workspace.path}@tmp/bank-pipeline-terraform-".toString()) && data.endsWith('/data')
    assert tf.every { it.env.TF_DATA_DIR == data }
    assert !new File(data).parentFile.exists()
    assert new File(b.env.WORKSPACE_TMP).list().toList() == []
    assert b.log.contains("terraformPlan: changes in terraform/app (plan sha256 ")
  }
}

test('terraformPlan passes the AWS role\'s session keys and token in the environment only, never through Groovy') {
  inBuild { Build b ->
    b.step('terraformPlan')
    Map session = b.credentials['aws-deploy'].session
    List<Map> bound = b.toolCalls('terraform').findAll { it.argv.any { a -> a in ['init', 'validate', 'plan', 'show'] } }
    assert bound.every { it.env.AWS_ACCESS_KEY_ID == session.accessKey && it.env.AWS_SECRET_ACCESS_KEY == session.secretKey && it.env.AWS_SESSION_TOKEN == session.sessionToken }
    assert b.toolCalls('terraform').every { !it.argv.any { String a -> a.contains(session.secretKey) || a.contains(session.sessionToken) } }
    assert !b.stepStrings().any { String s -> b.secrets().any { s.contains(it) } }
    assert !b.secrets().any { b.log.toString().contains(it) }
    // The tool check runs before any binding.
    assert b.calls.findIndexOf { it.step == 'sh' && it.args.label == 'terraformPlan: look for terraform' } <
      b.calls.findIndexOf { it.step == 'withCredentials' }
  }
}

test('terraformPlan with no changes keeps nothing for an apply') {
  inBuild { Build b ->
    b.behaviour.PLAN_EXIT = '0'
    assert b.step('terraformPlan').subMap(['changes', 'stash']) == [changes: false, stash: null]
    assert b.stashes.isEmpty()
    assert b.log.contains('terraformPlan: no changes in terraform/app')
  }
}

test('terraformPlan fails the build when the plan fails, keeps nothing and leaves nothing behind') {
  inBuild { Build b ->
    b.behaviour.PLAN_EXIT = '1'
    assert b.failure('terraformPlan').message == 'terraformPlan: terraform plan failed in terraform/app (exit code 1)'
    assert b.stashes.isEmpty()
    assert new File(b.env.WORKSPACE_TMP).list().toList() == []
  }
}

test('terraformPlan on a pull request plans with the read-only role, without the state lock, and keeps no plan') {
  inBuild { Build b ->
    pullRequest(b)
    Map result = b.step('terraformPlan')
    assert result.changes == true && result.stash == null
    Map plan = b.toolCalls('terraform').find { it.argv.contains('plan') }
    assert plan.argv.contains('-lock=false') && !plan.argv.any { it.startsWith('-lock-timeout') }
    assert b.callsOf('withCredentials')*.args*.getAt(0)*.credentialsId == ['aws-plan']
    assert plan.env.AWS_SESSION_TOKEN == b.credentials['aws-plan'].session.sessionToken
    assert b.credentials['aws-deploy'].session == null
    assert b.stashes.isEmpty()
    assert b.log.contains('terraformPlan: planning terraform/app for review with aws-plan, without the state lock (-lock=false)')
  }
}

test('terraformPlan on a branch other than the deploy branch plans for review too') {
  inBuild { Build b ->
    b.env.BRANCH_NAME = 'feature/x'
    assert b.step('terraformPlan').stash == null
    assert b.callsOf('withCredentials')*.args*.getAt(0)*.credentialsId == ['aws-plan']
  }
}

test('terraformPlan refuses a pull request from a fork before any terraform or credentials') {
  inBuild { Build b ->
    pullRequest(b)
    b.env.CHANGE_FORK = 'mallory'
    StepError e = b.failure('terraformPlan')
    assert e.message.startsWith('terraformPlan: pull requests from forks (mallory) do not plan terraform/app')
    assert b.toolCalls('terraform').isEmpty() && b.callsOf('withCredentials').isEmpty()
  }
}

test('terraformPlan fails naming every required variable and backend setting it was not given, before terraform init') {
  inBuild { Build b ->
    StepError e = b.failure('terraformPlan', [requiredVars: ['container_image', 'domain_name'], requiredBackendConfig: ['bucket', 'region'],
      vars: [container_image: 'x'], backendConfig: [bucket: 'b']])
    assert e.message.readLines() == [
      "terraformPlan: terraform/app needs the variable 'domain_name' (it has no default); give it in vars: (the bank's Jenkinsfile takes it from fleet.yaml library.jenkinsfile.vars.domain_name)",
      "terraformPlan: terraform/app needs the backend setting 'region'; give it in backendConfig: (the bank's Jenkinsfile takes it from fleet.yaml library.jenkinsfile.backendConfig.region)",
    ]
    assert b.toolCalls('terraform').isEmpty()
    // A region's plan points at the region's own entry too.
    assert b.failure('terraformPlan', [name: 'us-west-2', requiredVars: ['certificate_arn']]).message ==
        "terraformPlan: terraform/app needs the variable 'certificate_arn' (it has no default); give it in vars: (the bank's Jenkinsfile " +
        "takes it from fleet.yaml library.jenkinsfile.vars.certificate_arn, or the same key of region us-west-2 in library.jenkinsfile.regions)"
  }
}

test('terraformPlan passes variables as TF_VAR_ environment, never as -var arguments, and refuses empty ones') {
  inBuild { Build b ->
    b.file('terraform/app/prod.tfvars', 'x = 1\n')
    b.step('terraformPlan', [vars: [image: 'docker.io/bankco/banking-app@sha256:abc', replicas: 3, public: true],
                             varFiles: ['prod.tfvars', 'env/extra.tfvars']])
    List<Map> tf = b.toolCalls('terraform')
    Map plan = tf.find { it.argv.contains('plan') }
    assert plan.env.TF_VAR_image == 'docker.io/bankco/banking-app@sha256:abc'
    assert plan.env.TF_VAR_replicas == '3'
    assert plan.env.TF_VAR_public == 'true'
    assert plan.argv.takeRight(3) == ['-lock-timeout=10m', '-var-file=prod.tfvars', '-var-file=env/extra.tfvars']
    assert tf.every { !it.argv.any { String a -> a == '-var' || a.startsWith('-var=') } }
    // withEnv would drop an empty TF_VAR_, and Terraform would then see the variable unset.
    assert b.failure('terraformPlan', [vars: [image: '']]).message ==
      "terraformPlan: parameter 'vars.image' must be a non-empty value (withEnv drops an empty variable, so Terraform would see none), got ''"
  }
}

test('terraformPlan passes backend settings to init only') {
  inBuild { Build b ->
    b.step('terraformPlan', [backendConfig: [bucket: 'bank-tf-state', key: 'app/terraform.tfstate', region: 'us-east-1']])
    Map init = b.toolCalls('terraform').find { it.argv.contains('init') }
    assert init.argv.takeRight(3) == ['-backend-config=bucket=bank-tf-state', '-backend-config=key=app/terraform.tfstate', '-backend-config=region=us-east-1']
    assert !b.toolCalls('terraform').find { it.argv.contains('plan') }.argv.any { it.startsWith('-backend-config') }
  }
}

test('terraformPlan with credentialsId: null uses the agent role (no binding) and pluginCache: null no cache') {
  inBuild { Build b ->
    b.step('terraformPlan', [credentialsId: null, pluginCache: null])
    assert b.callsOf('withCredentials')*.args == [[]]
    assert b.toolCalls('terraform').every { it.env.AWS_SECRET_ACCESS_KEY == null && it.env.TF_PLUGIN_CACHE_DIR == null }
  }
}

test('terraformPlan refuses a module with providers but no committed lock file') {
  inBuild { Build b ->
    b.file('terraform/app/versions.tf', 'terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws" }\n  }\n}\n')
    assert b.failure('terraformPlan').message == 'terraformPlan: terraform plan failed in terraform/app (exit code 3)'
    assert b.log.contains('terraformPlan: terraform/app has no .terraform.lock.hcl: commit the provider lock file')
    assert !subcommands(b).contains('init')
  }
}

test('terraformPlan fails naming the terraform labels when the node has no terraform') {
  Build b = new Build()
  try {
    StepError e = b.failure('terraformPlan')
    assert e.message == "terraformPlan: terraform was not found on node awsDeploy2-i-0abc1234def567890; run it on a node with label 'terraform' (pool awsDeploy: labels awsDeploy, terraform, python)"
  } finally {
    b.close()
  }
}

test('terraformPlan fails naming the terraform labels when terraform is too old') {
  inBuild { Build b ->
    b.behaviour.TERRAFORM_VERSION = '1.3.9'
    b.failure('terraformPlan')
    assert b.log.contains("terraformPlan: terraform 1.3.9 is older than 1.11.1; run it on a node with label 'terraform'")
  }
}

test('terraformPlan fails saying what to do when the plugin cache cannot be written') {
  inBuild { Build b ->
    File blocked = new File(b.dir, 'not-a-dir')
    blocked.text = 'a file where the cache should be'
    assert b.failure('terraformPlan', [pluginCache: "${blocked.path}/plugins"]).message ==
      'terraformPlan: terraform plan failed in terraform/app (exit code 3)'
    assert b.log.contains("terraformPlan: the plugin cache ${blocked.path}/plugins is not writable by")
    assert !b.toolCalls('terraform').any { it.argv.contains('init') }
  }
}

test('terraformPlan rejects unknown parameters, wrong types and malformed values naming the key') {
  inBuild { Build b ->
    assert b.failure('terraformPlan', [autoApprove: true]).message.startsWith("terraformPlan: unknown parameter 'autoApprove'")
    assert b.failure('terraformPlan', [lockTimeout: '10 minutes']).message == "terraformPlan: parameter 'lockTimeout' must be a duration such as 10m, got '10 minutes'"
    assert b.failure('terraformPlan', [vars: ['bad name': 'x']]).message == "terraformPlan: parameter 'vars key' must be a Terraform variable name, got 'bad name'"
    assert b.failure('terraformPlan', [vars: 'a=b']).message == "terraformPlan: parameter 'vars' must be a Map, got String"
    assert b.failure('terraformPlan', [varFiles: ['/etc/passwd']]).message.startsWith("terraformPlan: parameter 'varFiles[0]' must be a relative path")
    assert b.failure('terraformPlan', [varFiles: ['-var=x']]).message.startsWith("terraformPlan: parameter 'varFiles[0]' must be a relative path")
    assert b.failure('terraformPlan', [backendConfig: [key: 'a\nb']]).message == "terraformPlan: parameter 'backendConfig.key' must be a backend setting name and a single-line value, got 'a\nb'"
    assert b.failure('terraformPlan', [dir: 'terraform/../..']).message.startsWith("terraformPlan: parameter 'dir' must be a relative path")
    assert b.failure('terraformPlan', [dir: '-chdir=/']).message.startsWith("terraformPlan: parameter 'dir' must be a relative path")
    assert b.failure('terraformPlan', [requiredVars: 'x']).message == "terraformPlan: parameter 'requiredVars' must be a List of Strings, got String"
    assert b.toolCalls('terraform').isEmpty()
  }
}

test('terraformPlan honours deployBranch, pluginCache, minVersion and lockTimeout') {
  inBuild { Build b ->
    b.env.BRANCH_NAME = 'release'
    String cache = new File(b.dir, 'plugins').path
    Map result = b.step('terraformPlan', [deployBranch: 'release', pluginCache: cache, minVersion: '1.11.4', lockTimeout: '90s'])
    assert result.stash != null
    assert b.toolCalls('terraform').every { it.env.TF_PLUGIN_CACHE_DIR == cache }
    assert b.toolCalls('terraform').find { it.argv.contains('plan') }.argv.contains('-lock-timeout=90s')
    assert new File(cache).directory
    assert b.step('terraformPlan', [deployBranch: 'main']).stash == null
    b.failure('terraformPlan', [deployBranch: 'release', minVersion: '1.12'])
    assert b.log.contains('terraformPlan: terraform 1.11.4 is older than 1.12;')
  }
}

// ---- terraformApply ----------------------------------------------------------------------

Closure planned = { Build b -> b.step('terraformPlan') }

test('terraformApply on main applies exactly the stashed plan, under the lock, with the deploy role, and removes it') {
  inBuild { Build b ->
    Map plan = planned(b)
    int before = b.toolCalls('terraform').size()
    b.step('terraformApply', [plan: plan.stash, sha256: plan.sha256])
    List<Map> tf = b.toolCalls('terraform').drop(before)
    assert tf*.argv.collect { List a -> a.find { !it.startsWith('-') } } == ['version', 'init', 'apply']
    String work = tf[2].env.TF_DATA_DIR - '/data'
    assert tf[1].argv == ['-chdir=terraform/app', 'init', '-input=false', '-no-color', '-lockfile=readonly']
    assert tf[2].argv == ['-chdir=terraform/app', 'apply', '-input=false', '-no-color', '-lock-timeout=10m', "${work}/tfplan".toString()]
    assert work.startsWith("${b.workspace.path}@tmp/".toString())
    assert !new File(work).exists()
    assert b.callsOf('lock')*.args == [[resource: 'terraform terraform/app']]
    assert b.callsOf('withCredentials')*.args*.getAt(0)*.credentialsId == ['aws-deploy', 'aws-deploy']
    assert tf[2].env.AWS_SESSION_TOKEN == b.credentials['aws-deploy'].session.sessionToken
    assert b.callsOf('input').isEmpty()
    assert b.log.contains("terraformApply: applied plan ${plan.sha256} to terraform/app")
  }
}

test('terraformApply refuses a plan whose checksum is not the approved one, and applies nothing') {
  inBuild { Build b ->
    Map plan = planned(b)
    b.stashes[plan.stash]['tfplan'] = 'a different plan\n'.bytes
    StepError e = b.failure('terraformApply', [plan: plan.stash, sha256: plan.sha256])
    assert e.message.startsWith('terraformApply: terraform apply failed in terraform/app (exit code 4)')
    assert b.log.contains("is not the plan that was approved (sha256 ${plan.sha256}); nothing applied")
    assert !b.toolCalls('terraform').any { it.argv.contains('apply') }
    assert new File(b.env.WORKSPACE_TMP).list().toList() == []
  }
}

test('terraformApply fails safe when Terraform refuses the plan as stale, and removes it') {
  inBuild { Build b ->
    Map plan = planned(b)
    b.behaviour.APPLY_EXIT = '1'
    StepError e = b.failure('terraformApply', [plan: plan.stash, sha256: plan.sha256])
    assert e.message.contains('a plan made stale by a change to the state since it was approved is refused, never applied')
    assert new File(b.env.WORKSPACE_TMP).list().toList() == []
  }
}

test('terraformApply applies only on the deploy branch, never on a pull request') {
  inBuild { Build b ->
    Map plan = planned(b)
    pullRequest(b)
    assert b.failure('terraformApply', [plan: plan.stash, sha256: plan.sha256]).message == 'terraformApply: only builds of main apply; this build is pull request 7'
    b.env.remove('CHANGE_ID')
    b.env.BRANCH_NAME = 'feature/x'
    assert b.failure('terraformApply', [plan: plan.stash, sha256: plan.sha256]).message == 'terraformApply: only builds of main apply; this build is branch feature/x'
    assert b.callsOf('lock').isEmpty()
  }
}

test('terraformApply needs the plan and its checksum, and a stash that exists') {
  inBuild { Build b ->
    assert b.failure('terraformApply').message.readLines() == [
      "terraformApply: parameter 'plan' is required: the stash terraformPlan returned",
      "terraformApply: parameter 'sha256' is required: the approved plan's checksum terraformPlan returned",
    ]
    assert b.failure('terraformApply', [plan: 'x', sha256: 'abc']).message == "terraformApply: parameter 'sha256' must be a sha256 checksum (64 lower-case hex digits), got 'abc'"
    assert b.failure('terraformApply', [plan: 'nope', sha256: 'a' * 64]).message == 'No such saved stash ‘nope’'
    assert !b.toolCalls('terraform').any { it.argv.contains('apply') }
  }
}
