// The root Jenkinsfile, interpreted by the harness's model of Declarative: which stages run, on
// which labels, in what order, for the deploy branch, another branch and a pull request; and one
// run through the library's real steps (with recorders for python, docker and terraform).

File jenkinsfile = new File(Build.repo, 'Jenkinsfile')

Map<String, Map<String, Object>> builds = [
  main: [BRANCH_NAME: 'main', BUILD_NUMBER: '42', GIT_COMMIT: '0123456789abcdef0123456789abcdef01234567'],
  branch: [BRANCH_NAME: 'feature/statements', BUILD_NUMBER: '7', GIT_COMMIT: 'fedcba9876543210fedcba9876543210fedcba98'],
  pullRequest: [BRANCH_NAME: 'PR-12', CHANGE_ID: '12', CHANGE_TARGET: 'main', CHANGE_BRANCH: 'feature/statements', BUILD_NUMBER: '3'],
]

Closure runFor = { String kind ->
  Map<String, Object> env = new LinkedHashMap(builds[kind])
  Declarative model = Declarative.load(jenkinsfile, env)
  [model, model.run(env) { String name, Object args -> name == 'dockerPush' ? 'docker.io/bankco/banking-app@sha256:' + 'a' * 64 : null }]
}

Closure summary = { List<Declarative.StageRun> runs ->
  runs.findAll { it.ran }.collect { "${it.name} on ${it.label}: ${it.steps*.step.join(', ')}".toString() }
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

test('the Jenkinsfile allocates no agent for the whole pipeline and sets timestamps, a timeout and no concurrent builds') {
  Declarative model = runFor('main')[0]
  assert model.agent == 'none'
  assert model.options.timestamps == true
  assert model.options.timeout == [time: 45, unit: 'MINUTES']
  assert model.options.disableConcurrentBuilds == true
}

test('on main the Jenkinsfile builds and tests on python, pushes the image on docker and deploys on terraform, in that order') {
  List<Declarative.StageRun> runs = runFor('main')[1]
  assert summary(runs) == [
    'Build and test on python: buildApp, test, junit',
    'Image on docker: dockerPush',
    'Deploy on terraform: terraformApply',
  ]
  assert runs.find { it.name == 'Plan' }.result == 'skipped by when'
  Map deploy = runs.find { it.name == 'Deploy' }.steps[0]
  assert deploy.args == [dir: 'terraform/app', vars: [container_image: 'docker.io/bankco/banking-app@sha256:' + 'a' * 64]]
}

test('on another branch the Jenkinsfile builds, tests and pushes the image, and neither plans nor deploys') {
  List<Declarative.StageRun> runs = runFor('branch')[1]
  assert summary(runs) == ['Build and test on python: buildApp, test, junit', 'Image on docker: dockerPush']
  assert runs.findAll { !it.ran }*.name == ['Plan', 'Deploy']
}

test('on a pull request into main the Jenkinsfile builds, tests, pushes its image and only plans with it') {
  List<Declarative.StageRun> runs = runFor('pullRequest')[1]
  assert summary(runs) == ['Build and test on python: buildApp, test, junit', 'Image on docker: dockerPush', 'Plan on terraform: terraformApply']
  assert runs.find { it.name == 'Plan' }.steps[0].args ==
    [dir: 'terraform/app', planOnly: true, vars: [container_image: 'docker.io/bankco/banking-app:pr-12']]
  assert runs.findAll { !it.ran }*.name == ['Deploy']
}

test('stages skipped by when allocate no agent (beforeAgent)') {
  Declarative model = runFor('main')[0]
  assert model.stages.findAll { !it.conditions.isEmpty() }.every { it.beforeAgent }
}

test('the Jenkinsfile publishes the JUnit file also when the tests fail, and then stops') {
  Map<String, Object> env = new LinkedHashMap(builds.main)
  Declarative model = Declarative.load(jenkinsfile, env)
  List<Declarative.StageRun> runs = model.run(env) { String name, Object args ->
    if (name == 'test') throw new StepError('test: pytest failed with exit code 1 in app')
    null
  }
  Declarative.StageRun build = runs[0]
  assert build.result == 'FAILURE: test: pytest failed with exit code 1 in app'
  assert build.steps*.step == ['buildApp', 'test', 'junit']
  assert build.steps[-1].args == [testResults: 'app/build/test-results/junit.xml', allowEmptyResults: true]
  assert runs.drop(1).every { !it.ran && it.result == 'skipped after a failure' }
}

test('the Jenkinsfile on main runs through the real library steps with recorded tools') {
  Build b = new Build().record('python3', 'docker', 'terraform')
  try {
    b.file('app/requirements.txt', 'flask\n')
    b.file('app/requirements-test.txt', '-r requirements.txt\npytest\n')
    b.file('app/Dockerfile', 'FROM python:3.11-slim\n')
    b.file('terraform/app/main.tf', '\n')
    b.cleanup << '/var/cache/bank-pipeline/venvs'
    Declarative model = Declarative.load(jenkinsfile, b.env)
    List<Declarative.StageRun> runs = model.run(b.env) { String name, Object args ->
      if (name in ['buildApp', 'test', 'dockerPush', 'terraformApply']) return b.step(name, (Map) args)
      return b.steps()[name].call(args)
    }
    assert runs.findAll { it.ran }*.result == ['SUCCESS', 'SUCCESS', 'SUCCESS']
    Map plan = b.toolCalls('terraform').find { it.argv.contains('plan') }
    assert plan.env.TF_VAR_container_image == 'docker.io/bankco/banking-app@sha256:4d3c2b1a4d3c2b1a4d3c2b1a4d3c2b1a4d3c2b1a4d3c2b1a4d3c2b1a4d3c2b1a'
    assert b.callsOf('junit')*.args == [[testResults: 'app/build/test-results/junit.xml', allowEmptyResults: true]]
    assert b.toolCalls('terraform').any { it.argv.contains('apply') }
  } finally {
    b.close()
  }
}
