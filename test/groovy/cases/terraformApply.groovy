// terraformApply through the harness: terraform is a recorder whose plan exits with
// HARNESS_PLAN_EXIT (0 no changes, 2 changes, 1 error); the scripts and the binding are real.

Closure inBuild = { Closure body ->
  Build b = new Build().record('terraform')
  b.file('terraform/app/main.tf', 'terraform {}\n')
  try {
    body(b)
  } finally {
    b.close()
  }
}

Closure subcommands = { Build b -> b.toolCalls('terraform')*.argv.collect { List a -> a.find { !it.startsWith('-') } } }

test('terraformApply with defaults on main plans terraform/app, archives the plan, asks the person who started the build, and applies that plan') {
  inBuild { Build b ->
    assert b.step('terraformApply') == [changes: true, applied: true]
    assert subcommands(b) == ['version', 'init', 'validate', 'plan', 'show', 'apply']
    List<Map> tf = b.toolCalls('terraform')
    assert tf[1].argv == ['-chdir=terraform/app', 'init', '-input=false', '-no-color']
    String planFile = new File(b.workspace, 'terraform/app/bank-pipeline.tfplan').path
    assert tf[3].argv == ['-chdir=terraform/app', 'plan', '-input=false', '-no-color', '-detailed-exitcode', "-out=${planFile}".toString()]
    assert tf[5].argv == ['-chdir=terraform/app', 'apply', '-input=false', '-no-color', planFile]
    assert tf.every { it.env.TF_IN_AUTOMATION == '1' && it.env.TF_INPUT == '0' }
    assert tf.every { it.env.TF_PLUGIN_CACHE_DIR == '/var/cache/bank-pipeline/terraform-plugins' }
    assert b.callsOf('archiveArtifacts')*.args == [[artifacts: 'terraform/app/terraform-plan.txt']]
    assert new File(b.workspace, 'terraform/app/terraform-plan.txt').text.contains('recorded plan')
    assert b.callsOf('input')*.args*.ok == ['Apply']
    assert b.callsOf('lock')*.args == [[resource: 'terraformApply terraform/app']]
    assert b.callsOf('withCredentials')*.args*.getAt(0)*.credentialsId == ['aws-deploy', 'aws-deploy']
  }
}

test('terraformApply applies nothing when the plan has no changes') {
  inBuild { Build b ->
    b.behaviour.PLAN_EXIT = '0'
    assert b.step('terraformApply') == [changes: false, applied: false]
    assert subcommands(b) == ['version', 'init', 'validate', 'plan', 'show']
    assert b.callsOf('input').isEmpty()
    assert b.log.contains('terraformApply: no changes in terraform/app')
  }
}

test('terraformApply fails the build when the plan fails, and applies nothing') {
  inBuild { Build b ->
    b.behaviour.PLAN_EXIT = '1'
    assert b.failure('terraformApply').message == 'terraformApply: terraform plan failed in terraform/app (exit code 1)'
    assert !subcommands(b).contains('apply')
  }
}

test('terraformApply on a pull request only plans, without the lock and without asking') {
  inBuild { Build b ->
    b.env.BRANCH_NAME = 'PR-7'
    b.env.CHANGE_ID = '7'
    b.env.CHANGE_TARGET = 'main'
    assert b.step('terraformApply') == [changes: true, applied: false]
    assert subcommands(b) == ['version', 'init', 'validate', 'plan', 'show']
    assert b.callsOf('lock').isEmpty() && b.callsOf('input').isEmpty()
    assert b.log.contains('terraformApply: plan only for terraform/app (pull request)')
    assert b.callsOf('archiveArtifacts')*.args*.artifacts == ['terraform/app/terraform-plan.txt']
  }
}

test('terraformApply on a branch other than the deploy branch only plans, even when asked to apply') {
  inBuild { Build b ->
    b.env.BRANCH_NAME = 'feature/x'
    assert b.step('terraformApply', [planOnly: false]) == [changes: true, applied: false]
    assert b.log.contains('terraformApply: plan only for terraform/app (branch feature/x is not main)')
  }
}

test('terraformApply with planOnly: true on main only plans') {
  inBuild { Build b ->
    assert b.step('terraformApply', [planOnly: true]) == [changes: true, applied: false]
    assert !subcommands(b).contains('apply')
  }
}

test('terraformApply does not ask when a push or timer started the build') {
  inBuild { Build b ->
    b.causes = ['jenkins.branch.BranchEventCause']
    assert b.step('terraformApply') == [changes: true, applied: true]
    assert b.callsOf('input').isEmpty()
  }
}

test('terraformApply with approve: always asks also for a push, and approve: never does not ask a person') {
  inBuild { Build b ->
    b.causes = ['jenkins.branch.BranchEventCause']
    b.step('terraformApply', [approve: 'always'])
    assert b.callsOf('input').size() == 1
    b.causes = ['hudson.model.Cause$UserIdCause']
    b.step('terraformApply', [approve: 'never'])
    assert b.callsOf('input').size() == 1
  }
}

test('terraformApply applies nothing when the person rejects the plan') {
  inBuild { Build b ->
    b.inputAnswers = [[id: 'alice', groups: ['deployers'], proceed: false]]
    assert b.failure('terraformApply').message == 'Rejected by alice'
    assert !subcommands(b).contains('apply')
  }
}

test('terraformApply passes variables as TF_VAR_ environment, never as -var arguments') {
  inBuild { Build b ->
    b.file('terraform/app/prod.tfvars', 'x = 1\n')
    b.step('terraformApply', [vars: [image: 'docker.io/bankco/banking-app@sha256:abc', replicas: 3, public: true],
                               varFiles: ['prod.tfvars', 'env/extra.tfvars']])
    List<Map> tf = b.toolCalls('terraform')
    Map plan = tf.find { it.argv.contains('plan') }
    assert plan.env.TF_VAR_image == 'docker.io/bankco/banking-app@sha256:abc'
    assert plan.env.TF_VAR_replicas == '3'
    assert plan.env.TF_VAR_public == 'true'
    assert plan.argv.takeRight(2) == ['-var-file=prod.tfvars', '-var-file=env/extra.tfvars']
    assert tf.every { !it.argv.any { String a -> a == '-var' || a.startsWith('-var=') } }
  }
}

test('terraformApply passes backend settings to init only') {
  inBuild { Build b ->
    b.step('terraformApply', [backendConfig: [bucket: 'bank-tf-state', key: 'app/terraform.tfstate', region: 'us-east-1']])
    Map init = b.toolCalls('terraform').find { it.argv.contains('init') }
    assert init.argv.takeRight(3) == ['-backend-config=bucket=bank-tf-state', '-backend-config=key=app/terraform.tfstate', '-backend-config=region=us-east-1']
    assert !b.toolCalls('terraform').find { it.argv.contains('plan') }.argv.any { it.startsWith('-backend-config') }
  }
}

test('terraformApply binds the AWS credentials into the environment only, never through Groovy') {
  inBuild { Build b ->
    b.step('terraformApply')
    Map aws = b.credentials['aws-deploy']
    List<Map> tf = b.toolCalls('terraform')
    List<Map> bound = tf.findAll { it.argv.any { a -> a in ['init', 'validate', 'plan', 'show', 'apply'] } }
    assert bound.every { it.env.AWS_ACCESS_KEY_ID == aws.accessKey && it.env.AWS_SECRET_ACCESS_KEY == aws.secretKey }
    assert tf.every { !it.argv.any { String a -> a.contains(aws.secretKey) } }
    assert !b.stepStrings().any { it.contains(aws.secretKey) || it.contains(aws.accessKey) }
    assert !b.log.toString().contains(aws.secretKey)
    // The tool check runs before any binding.
    assert b.calls.findIndexOf { it.step == 'sh' && it.args.label == 'terraformApply: look for terraform' } <
      b.calls.findIndexOf { it.step == 'withCredentials' }
  }
}

test('terraformApply with credentialsId: null uses the agent role (no binding) and pluginCache: null no cache') {
  inBuild { Build b ->
    b.step('terraformApply', [credentialsId: null, pluginCache: null])
    assert b.callsOf('withCredentials')*.args == [[], []]
    assert b.toolCalls('terraform').every { it.env.AWS_SECRET_ACCESS_KEY == null && it.env.TF_PLUGIN_CACHE_DIR == null }
  }
}

test('terraformApply fails naming the terraform labels when the node has no terraform') {
  Build b = new Build()
  try {
    StepError e = b.failure('terraformApply')
    assert e.message == "terraformApply: terraform was not found on node awsDeploy2-i-0abc1234def567890; run it on a node with label 'terraform' (pool awsDeploy: labels awsDeploy, terraform, python)"
  } finally {
    b.close()
  }
}

test('terraformApply fails naming the terraform labels when terraform is too old') {
  inBuild { Build b ->
    b.behaviour.TERRAFORM_VERSION = '1.3.9'
    b.failure('terraformApply')
    assert b.log.contains("terraformApply: terraform 1.3.9 is older than 1.11.1; run it on a node with label 'terraform'")
  }
}

test('terraformApply rejects unknown parameters, wrong types and malformed values naming the key') {
  inBuild { Build b ->
    assert b.failure('terraformApply', [autoApprove: true]).message.startsWith("terraformApply: unknown parameter 'autoApprove'")
    assert b.failure('terraformApply', [approve: 'yes']).message == "terraformApply: parameter 'approve' must be user, always or never, got 'yes'"
    assert b.failure('terraformApply', [approve: true]).message == "terraformApply: parameter 'approve' must be a String, got Boolean"
    assert b.failure('terraformApply', [vars: ['bad name': 'x']]).message == "terraformApply: parameter 'vars key' must be a Terraform variable name, got 'bad name'"
    assert b.failure('terraformApply', [vars: 'a=b']).message == "terraformApply: parameter 'vars' must be a Map, got String"
    assert b.failure('terraformApply', [varFiles: ['/etc/passwd']]).message.startsWith("terraformApply: parameter 'varFiles[0]' must be a relative path")
    assert b.failure('terraformApply', [backendConfig: [key: 'a\nb']]).message == "terraformApply: parameter 'backendConfig.key' must be a backend setting name and a single-line value, got 'a\nb'"
    assert b.failure('terraformApply', [dir: 'terraform/../..']).message.startsWith("terraformApply: parameter 'dir' must be a relative path")
    assert b.failure('terraformApply', [planOnly: 'true']).message == "terraformApply: parameter 'planOnly' must be a Boolean (true or false), got String"
    assert b.toolCalls('terraform').isEmpty()
  }
}

test('terraformApply honours deployBranch, pluginCache and minVersion') {
  inBuild { Build b ->
    b.env.BRANCH_NAME = 'release'
    String cache = new File(b.dir, 'plugins').path
    assert b.step('terraformApply', [deployBranch: 'release', pluginCache: cache, minVersion: '1.11.4']) == [changes: true, applied: true]
    assert b.toolCalls('terraform').every { it.env.TF_PLUGIN_CACHE_DIR == cache }
    assert new File(cache).directory
    assert b.step('terraformApply', [deployBranch: 'main']) == [changes: true, applied: false]
    b.failure('terraformApply', [deployBranch: 'release', minVersion: '1.12'])
    assert b.log.contains('terraformApply: terraform 1.11.4 is older than 1.12;')
  }
}

test('terraformApply fails saying what to do when the plugin cache cannot be written') {
  inBuild { Build b ->
    File blocked = new File(b.dir, 'not-a-dir')
    blocked.text = 'a file where the cache should be'
    assert b.failure('terraformApply', [pluginCache: "${blocked.path}/plugins"]).message ==
      'terraformApply: terraform plan failed in terraform/app (exit code 3)'
    assert b.log.contains("terraformApply: the plugin cache ${blocked.path}/plugins is not writable by")
    assert !b.toolCalls('terraform').any { it.argv.contains('init') }
  }
}
