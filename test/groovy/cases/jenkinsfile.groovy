// The root Jenkinsfile, interpreted by the harness's model of Declarative: which stages run, on
// which labels, in what order, for the deploy branch, a tag, another branch, a pull request and a
// fork's; who may approve the apply and what is held meanwhile; and runs through the library's
// real steps (with recorders for docker and terraform).

File jenkinsfile = new File(Build.repo, 'Jenkinsfile')
String pushed = 'docker.io/bankco/banking-app@sha256:' + 'a' * 64
// terraform/app is one state per region: fleet.yaml's regions, applied in this order.
List<String> regions = ['us-east-1', 'us-west-2']
Map<String, String> planSha = ['us-east-1': 'b' * 64, 'us-west-2': 'c' * 64]

Map<String, Map<String, Object>> builds = [
  main: [BRANCH_NAME: 'main', BUILD_NUMBER: '42', GIT_COMMIT: '0123456789abcdef0123456789abcdef01234567'],
  tag: [BRANCH_NAME: 'v1.4.0', TAG_NAME: 'v1.4.0', BUILD_NUMBER: '1'],
  branch: [BRANCH_NAME: 'feature/statements', BUILD_NUMBER: '7', GIT_COMMIT: 'fedcba9876543210fedcba9876543210fedcba98'],
  pullRequest: [BRANCH_NAME: 'PR-12', CHANGE_ID: '12', CHANGE_TARGET: 'main', CHANGE_BRANCH: 'feature/statements', BUILD_NUMBER: '3'],
  fork: [BRANCH_NAME: 'PR-13', CHANGE_ID: '13', CHANGE_TARGET: 'main', CHANGE_FORK: 'mallory', BUILD_NUMBER: '1'],
]

// Recorded steps; each region's plan has changes unless told otherwise (changes: false, or a map
// by region); the input is answered by `approver`.
Closure recorded = { Map options = [:] ->
  return { String name, Object args ->
    if (name == 'dockerPush') return pushed
    if (name == 'terraformPlan') {
      boolean changes = options.changes instanceof Map ? options.changes[args.name] != false : options.changes != false
      return [changes: changes, stash: changes ? "terraform-plan-terraform-app-${args.name}".toString() : null, sha256: planSha[args.name]]
    }
    if (name == 'input') {
      Map person = options.approver ?: [id: 'dana', groups: ['deployers']]
      if (!Build.canSettle(args.submitter?.toString(), person)) throw new StepError('Timeout has been exceeded')
      if (person.proceed == false) throw new StepError("Rejected by ${person.id}")
      return person.id
    }
    if (name == 'test' && options.failTests) throw new StepError('testInContainer: the tests failed with exit code 1 in app')
    null
  }
}

Closure runFor = { String kind, Map options = [:] ->
  Map<String, Object> env = new LinkedHashMap(builds[kind])
  Declarative model = Declarative.load(jenkinsfile, env)
  [model, model.run(env, recorded(options)), env]
}

Closure summary = { List<Declarative.StageRun> runs ->
  runs.findAll { it.ran && it.steps }.collect { "${it.name} on ${it.label}: ${it.steps*.step.join(', ')}".toString() }
}

test('the Jenkinsfile loads bank-pipeline without a version, and casc.yaml\'s settings resolve it to v1.0.0') {
  assert Declarative.libraryIdentifiers(jenkinsfile.text) == ['bank-pipeline']
  assert Declarative.load(jenkinsfile, new LinkedHashMap(builds.main)).libraries == ['bank-pipeline': 'v1.0.0']
}

test('with casc.yaml\'s settings, a Jenkinsfile naming a version, even the default one, aborts before any stage') {
  File pinned = File.createTempFile('Jenkinsfile', '')
  try {
    pinned.text = jenkinsfile.text.replace("@Library('bank-pipeline') _", "@Library('bank-pipeline@v1.0.0') _")
    Declarative.load(pinned, new LinkedHashMap(builds.main))
    assert false : 'the pinned Jenkinsfile loaded'
  } catch (StepError e) {
    assert e.message == 'Version override not permitted for library bank-pipeline'
  } finally {
    pinned.delete()
  }
}

test('the Jenkinsfile allocates no agent for the whole pipeline, stamps times, builds a branch one at a time, and times out each working stage') {
  Declarative model = runFor('main')[0]
  assert model.agent == 'none'
  assert model.options.timestamps == true
  assert model.options.disableConcurrentBuilds == true
  // No pipeline-wide timeout: it would also cut the wait for the approval.
  assert !model.options.containsKey('timeout')
  model.allStages().findAll { it.steps || it.stages }.each { Declarative.Stage stage ->
    boolean underTimeout = stage.options.timeout || model.stages.find { it.stages.contains(stage) }?.options?.timeout
    assert underTimeout : "stage ${stage.name} has no timeout"
  }
  assert model.allStages().find { it.name == 'Approve' }.options.timeout == [time: 24, unit: 'HOURS']
}

test('on main the Jenkinsfile tests in the test container and pushes on docker, plans each region on terraform, asks deployers once, and applies those plans in order') {
  def (model, List<Declarative.StageRun> runs, Map env) = runFor('main')
  assert summary(runs) == [
    'Test on docker: testInContainer, junit',
    'Image on docker: dockerPush',
    'Plan us-east-1 on terraform: terraformPlan',
    'Plan us-west-2 on terraform: terraformPlan',
    'Approve on null: echo',
    'Apply us-east-1 on terraform: terraformApply',
    'Apply us-west-2 on terraform: terraformApply',
  ]
  assert runs.find { it.name == 'Unmerged code' }.result == 'skipped by when'
  Map<String, Map> plans = regions.collectEntries { [it, runs.find { r -> r.name == "Plan ${it}".toString() }.steps[0].args] }
  plans.each { String region, Map plan ->
    assert plan.name == region
    assert plan.vars.container_image == pushed
    assert plan.vars.region == region
    assert plan.vars.certificate_arn.startsWith("arn:aws:acm:${region}:")
    assert plan.requiredVars == ['backup_copy_vault_arn', 'certificate_arn', 'container_image', 'region']
    assert plan.requiredBackendConfig == ['bucket', 'key', 'region']
    assert plan.vars.keySet().containsAll(plan.requiredVars) && plan.backendConfig.keySet().containsAll(plan.requiredBackendConfig)
    // One state per region, in the one bucket the plan role may read.
    assert plan.backendConfig == [bucket: 'bank-tfstate-use1', region: 'us-east-1', key: "app/${region}.tfstate".toString()]
    assert !plan.containsKey('credentialsId')
  }
  assert plans['us-east-1'].vars.backup_copy_vault_arn == plans['us-west-2'].vars.backup_copy_vault_arn
  Declarative.StageRun approve = runs.find { it.name == 'Approve' }
  assert approve.input.submitter == 'deployers'
  String planned = "us-east-1: plan ${planSha['us-east-1']} (terraform/app/terraform-plan-us-east-1.txt); " +
      "us-west-2: plan ${planSha['us-west-2']} (terraform/app/terraform-plan-us-west-2.txt)"
  assert approve.input.message == "Apply to terraform/app, in this order, ${planned}?".toString()
  assert approve.agentDuringInput == null
  assert approve.steps[0].args == "Approved by dana: ${planned}".toString()
  regions.each { String region ->
    assert runs.find { it.name == "Apply ${region}".toString() }.steps[0].args == [dir: 'terraform/app',
      plan: "terraform-plan-terraform-app-${region}".toString(), sha256: planSha[region], backendConfig: plans[region].backendConfig]
  }
}

test('on main a region whose plan has no changes is not applied, and the approval says so') {
  List<Declarative.StageRun> runs = runFor('main', [changes: ['us-east-1': false]])[1]
  assert runs.find { it.name == 'Approve' }.input.message ==
      "Apply to terraform/app, in this order, us-east-1: no changes; us-west-2: plan ${planSha['us-west-2']} (terraform/app/terraform-plan-us-west-2.txt)?".toString()
  assert runs.find { it.name == 'Apply us-east-1' }.result == 'skipped by when'
  assert runs.find { it.name == 'Apply us-west-2' }.steps*.step == ['terraformApply']
}

test('on main with no changes the Jenkinsfile neither asks nor applies') {
  List<Declarative.StageRun> runs = runFor('main', [changes: false])[1]
  assert runs.find { it.name == 'Approve' }.input == null
  assert runs.findAll { it.name in ['Approve', 'Apply'] }*.result == ['skipped by when', 'skipped by when']
  assert runs.findAll { it.name.startsWith('Apply ') }.every { !it.ran }
}

test('on main an answer from someone not in deployers is refused: the wait ends at its timeout and nothing is applied') {
  List<Declarative.StageRun> runs = runFor('main', [approver: [id: 'mallory', groups: ['developers']]])[1]
  assert runs.find { it.name == 'Approve' }.result == 'ABORTED: Timeout has been exceeded'
  assert !runs.find { it.name == 'Apply' }.ran
  assert runs.findAll { it.name.startsWith('Apply ') }.every { !it.ran }
}

test('on main a deployer who rejects the plan stops the build before the apply') {
  List<Declarative.StageRun> runs = runFor('main', [approver: [id: 'dana', groups: ['deployers'], proceed: false]])[1]
  assert runs.find { it.name == 'Approve' }.result == 'ABORTED: Rejected by dana'
  assert runs.find { it.name == 'Apply' }.result == 'skipped after a failure'
}

test('on a tag the Jenkinsfile tests and pushes the image, and neither plans nor applies') {
  List<Declarative.StageRun> runs = runFor('tag')[1]
  assert summary(runs) == ['Test on docker: testInContainer, junit', 'Image on docker: dockerPush']
  assert runs.findAll { it.name in ['Plan', 'Approve', 'Apply'] }.every { !it.ran }
}

test('on another branch the Jenkinsfile tests and builds the image on the pull-request pool only') {
  List<Declarative.StageRun> runs = runFor('branch')[1]
  assert summary(runs) == ['Test (unmerged) on pull-request: testInContainer, junit', 'Image build (unmerged) on pull-request: dockerPush']
  assert runs.find { it.name == 'Plan (pull request)' }.result == 'skipped by when'
}

test('on a pull request into main the Jenkinsfile tests, builds the image and plans, all on the pull-request pool') {
  List<Declarative.StageRun> runs = runFor('pullRequest')[1]
  assert summary(runs) == [
    'Test (unmerged) on pull-request: testInContainer, junit',
    'Image build (unmerged) on pull-request: dockerPush',
    'Plan (pull request) on pull-request: terraformPlan, terraformPlan',
  ]
  List<Map> plans = runs.find { it.name == 'Plan (pull request)' }.steps*.args
  assert plans*.name == regions
  assert plans*.backendConfig*.key == ['app/us-east-1.tfstate', 'app/us-west-2.tfstate']
  plans.each { Map plan ->
    assert plan.vars.container_image == 'docker.io/bankco/banking-app:pr-12'
    // No credentials named: the step picks the read-only ones for a pull request.
    assert !plan.containsKey('credentialsId')
  }
  assert runs.findAll { it.name in ['Test', 'Image', 'Plan', 'Approve', 'Apply'] }.every { !it.ran }
}

test('no build of unmerged code runs a stage on a deploy label, and no deploy stage runs on the pull-request label') {
  ['branch', 'pullRequest', 'fork'].each { String kind ->
    assert runFor(kind)[1].findAll { it.ran && it.steps }*.label.unique() == ['pull-request'] : kind
  }
  ['main', 'tag'].each { String kind ->
    assert !runFor(kind)[1].findAll { it.ran }*.label.contains('pull-request') : kind
  }
}

test('stages skipped by when allocate no agent (beforeAgent) and ask nothing (beforeInput)') {
  Declarative model = runFor('main')[0]
  model.allStages().findAll { !it.conditions.isEmpty() && it.label }.each { assert it.beforeAgent : it.name }
  model.allStages().findAll { it.input }.each { assert it.beforeInput : it.name }
}

test('the Jenkinsfile publishes the JUnit file also when the tests fail, and then stops') {
  Map<String, Object> env = new LinkedHashMap(builds.main)
  Declarative model = Declarative.load(jenkinsfile, env)
  List<Declarative.StageRun> runs = model.run(env) { String name, Object args ->
    if (name == 'testInContainer') throw new StepError('testInContainer: the tests failed with exit code 1 in app')
    null
  }
  Declarative.StageRun build = runs.find { it.name == 'Test' }
  assert build.result == 'FAILURE: testInContainer: the tests failed with exit code 1 in app'
  assert build.steps*.step == ['testInContainer', 'junit']
  assert build.steps[-1].args == [testResults: 'app/build/test-results/junit.xml', allowEmptyResults: true]
  assert runs.findAll { it.name in ['Image', 'Plan', 'Approve', 'Apply'] }.every { !it.ran && it.result == 'skipped after a failure' }
}

test('the model refuses a pipeline with two stages of one name, as Declarative does') {
  File twice = File.createTempFile('Jenkinsfile', '')
  try {
    twice.text = jenkinsfile.text.replace("stage('Image build (unmerged)')", "stage('Image')")
    Declarative.load(twice, new LinkedHashMap(builds.main))
    assert false
  } catch (StepError e) {
    assert e.message == 'Duplicate stage name: Image'
  } finally {
    twice.delete()
  }
}

// ---- through the library's real steps ---------------------------------------------------------

Closure realBuild = { String kind, Closure body ->
  Build b = new Build().record('docker', 'terraform')
  b.env.clear()
  b.env.putAll(builds[kind] + [WORKSPACE: b.workspace.path, WORKSPACE_TMP: "${b.workspace.path}@tmp".toString(),
    NODE_NAME: 'agent-1', GIT_URL: 'https://github.com/bank/jenkins-fleet.git'])
  b.credentials['aws-deploy'] = [kind: 'aws', roleArn: 'arn:aws:iam::123456789012:role/bank-deploy']
  b.credentials['aws-plan'] = [kind: 'aws', roleArn: 'arn:aws:iam::123456789012:role/bank-plan']
  b.file('app/Dockerfile', 'FROM python:3.11-slim AS test\n')
  ['main.tf', 'variables.tf'].each { b.file("terraform/app/${it}", '\n') }
  try {
    Declarative model = Declarative.load(jenkinsfile, b.env)
    List<Declarative.StageRun> runs = model.run(b.env) { String name, Object args ->
      if (name in ['testInContainer', 'dockerPush', 'terraformPlan', 'terraformApply']) return b.step(name, (Map) args)
      return b.steps()[name].call(args)
    }
    body(b, runs)
  } finally {
    b.close()
  }
}

test('the Jenkinsfile on main runs through the real library steps: the approved plan is the one applied') {
  realBuild('main') { Build b, List<Declarative.StageRun> runs ->
    assert runs.findAll { it.ran && it.steps }*.result == ['SUCCESS'] * 7
    List<Map> tf = b.toolCalls('terraform')
    List<Map> plans = tf.findAll { it.argv.contains('plan') }
    assert plans*.env*.TF_VAR_region == regions
    assert plans.every { it.env.TF_VAR_container_image == 'docker.io/bankco/banking-app@sha256:4d3c2b1a4d3c2b1a4d3c2b1a4d3c2b1a4d3c2b1a4d3c2b1a4d3c2b1a4d3c2b1a' }
    assert b.callsOf('input')*.args*.submitter == ['deployers']
    // One approval names both plans; each region applies its own, the writer's region first.
    List<String> approved = b.callsOf('input')[0].args.message.findAll(/[0-9a-f]{64}/)
    assert approved.size() == 2 && approved[0] != approved[1]
    List<Map> applies = tf.findAll { it.argv.contains('apply') }
    assert applies*.env*.PLAN_SHA256 == approved
    assert applies.collect { it.env.BACKEND_CONFIG.readLines().find { it.startsWith('key=') } } == ['key=app/us-east-1.tfstate', 'key=app/us-west-2.tfstate']
    approved.each { assert b.log.contains("terraformApply: applied plan ${it} to terraform/app") }
    // The wait holds no lock: the apply's locks are taken after the answer, one per apply.
    List<String> order = b.calls*.step.findAll { it in ['input', 'lock'] }
    assert order == ['input', 'lock', 'lock']
    // Nothing of the plans stays beside the workspace.
    assert new File(b.env.WORKSPACE_TMP).list().toList() == []
    assert b.callsOf('archiveArtifacts')*.args*.artifacts == ['terraform/app/terraform-plan-us-east-1.txt', 'terraform/app/terraform-plan-us-west-2.txt']
    assert b.callsOf('junit')*.args == [[testResults: 'app/build/test-results/junit.xml', allowEmptyResults: true]]
    assert b.callsOf('withCredentials')*.args*.getAt(0)*.credentialsId == ['dockerhub'] + ['aws-deploy'] * 4
  }
}

test('a pull request through the real library steps binds only the read-only AWS role: no registry or deploy credentials') {
  realBuild('pullRequest') { Build b, List<Declarative.StageRun> runs ->
    assert runs.findAll { it.ran && it.steps }*.result == ['SUCCESS'] * 3
    // Each region planned with the read-only role.
    assert b.callsOf('withCredentials')*.args*.getAt(0)*.credentialsId == ['aws-plan', 'aws-plan']
    assert b.credentials['aws-deploy'].session == null
    assert !b.toolCalls('docker').any { it.argv[0] in ['login', 'push'] }
    List<Map> plans = b.toolCalls('terraform').findAll { it.argv.contains('plan') }
    assert plans*.env*.TF_VAR_region == regions && plans.every { it.argv.contains('-lock=false') }
    assert b.callsOf('input').isEmpty() && b.stashes.isEmpty()
  }
}

test('a pull request from a fork through the real library steps is tested, but its Terraform never runs') {
  realBuild('fork') { Build b, List<Declarative.StageRun> runs ->
    assert runs.find { it.name == 'Test (unmerged)' }.result == 'SUCCESS'
    assert runs.find { it.name == 'Plan (pull request)' }.result.startsWith('FAILURE: terraformPlan: pull requests from forks (mallory) do not plan')
    assert b.toolCalls('terraform').isEmpty() && b.callsOf('withCredentials').isEmpty()
  }
}
