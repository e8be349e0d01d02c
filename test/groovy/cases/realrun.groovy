// The resource scripts run for real: buildApp and test with Debian's /usr/bin/python3 on a
// fixture project, with Python 3.11 on app/ from its locks, and terraformApply with terraform on a module that uses only
// terraform_data with a local backend (init, plan, apply, then a second run finds no changes).

File fixtures = new File(Build.repo, 'test/library/fixtures')

Closure copy = { File from, File to ->
  to.mkdirs()
  Process p = ['cp', '-R', "${from.path}/.", to.path].execute()
  assert p.waitFor() == 0 : p.errorStream.text
}

// Cases after the first share one virtualenv cache, as builds on one agent do (and save a cold
// build each); the first case makes its own to see the cold path.
File sharedVenvs = File.createTempDir('library-venvs-', '')
addShutdownHook { ['rm', '-rf', '--', sharedVenvs.path].execute().waitFor() }

Closure pythonBuild = { boolean ownCache, Closure body ->
  Build b = new Build()
  try {
    copy(new File(fixtures, 'python-project'), new File(b.workspace, 'app'))
    String cache = ownCache ? new File(b.dir, 'venvs').path : sharedVenvs.path
    body(b, [python: '/usr/bin/python3', systemSitePackages: true, venvCache: cache])
  } finally {
    b.close()
  }
}

test('real: buildApp makes a virtualenv with Debian python offline, byte-compiles and records pip freeze; a second build reuses it') {
  pythonBuild(true) { Build b, Map python ->
    Map first = b.step('buildApp', python)
    assert new File(first.venv, 'bin/python').canExecute()
    assert new File(b.workspace, 'app/ledger/__pycache__').list().any { it.startsWith('interest.') && it.endsWith('.pyc') }
    String environment = new File(b.workspace, 'app/build/python-environment.txt').text
    assert environment.contains('/usr/bin/python3 (Python 3.')
    assert environment =~ /(?m)^pytest==\d/
    Map second = b.step('buildApp', python)
    assert second.venv == first.venv
    assert b.log.contains("requirements unchanged, reusing ${first.venv}")
  }
}

test('real: test runs pytest in the virtualenv and publishes a JUnit file with every test') {
  pythonBuild(false) { Build b, Map python ->
    b.step('buildApp', python)
    b.step('test')
    File junit = new File(b.workspace, 'app/build/test-results/junit.xml')
    def suites = new XmlSlurper().parse(junit)
    assert suites.testsuite.@tests.text() == '3'
    assert suites.testsuite.@failures.text() == '0'
    assert b.callsOf('junit')*.args == [[testResults: 'app/build/test-results/junit.xml']]
  }
}

test('real: a failing test fails the build and its JUnit file is still published') {
  pythonBuild(false) { Build b, Map python ->
    b.file('app/tests/test_broken.py', 'def test_broken():\n    assert 1 + 1 == 3\n')
    b.step('buildApp', python)
    assert b.failure('test').message == 'test: pytest failed with exit code 1 in app'
    def suites = new XmlSlurper().parse(new File(b.workspace, 'app/build/test-results/junit.xml'))
    assert suites.testsuite.@failures.text() == '1'
    assert suites.testsuite.testcase.find { it.@name == 'test_broken' }.failure.size() == 1
    assert b.callsOf('junit').size() == 1
  }
}

// The bank app's locks need its index: an agent's pip is configured for the bank's package index,
// and here that is this machine's own pip configuration (its PIP_* variables and user pip.conf).
// The interpreter is the real Python 3.11 the app is locked for, not a shim that needs HOME.
Closure bankAppPython = {
  Process p = ['python3.11', '-c', 'import sys; print(sys.executable)'].execute()
  String executable = p.text.trim()
  assert p.waitFor() == 0 && executable : 'python3.11 not found on PATH: the app is locked for Python 3.11'
  executable
}

test('real: buildApp installs the bank app (app/) from its hashed locks with Python 3.11, and test runs its tests') {
  Build b = new Build()
  try {
    copy(new File(Build.repo, 'app'), new File(b.workspace, 'app'))
    ['app/.venv', 'app/.venv.lock'].each { ['rm', '-rf', new File(b.workspace, it).path].execute().waitFor() }
    System.getenv().each { k, v -> if (k.startsWith('PIP_')) b.env[k] = v }
    b.env.XDG_CONFIG_HOME = System.getenv('XDG_CONFIG_HOME') ?: "${System.getProperty('user.home')}/.config".toString()
    b.env.PIP_RETRIES = '0' // no index answers here but the configured mirror: fail at once, not after retries
    b.step('buildApp', [python: bankAppPython(), requirements: 'requirements-test.txt', systemSitePackages: false, venvCache: new File(b.dir, 'venvs').path])
    assert new File(b.workspace, 'app/build/python-environment.txt').text =~ /(?m)^Flask==3\./
    b.step('test', [args: ['tests/test_money.py', 'tests/test_dependencies.py']])
    def suites = new XmlSlurper().parse(new File(b.workspace, 'app/build/test-results/junit.xml'))
    assert (suites.testsuite.@tests.text() as int) > 0
    assert suites.testsuite.@failures.text() == '0'
  } finally {
    b.close()
  }
}

Closure terraformBuild = { Closure body ->
  Build b = new Build().real('terraform')
  b.causes = []
  try {
    copy(new File(fixtures, 'terraform-data'), new File(b.workspace, 'terraform/app'))
    body(b, [credentialsId: null, pluginCache: new File(b.dir, 'plugins').path])
  } finally {
    b.close()
  }
}

Closure state = { Build b -> new groovy.json.JsonSlurper().parse(new File(b.workspace, 'terraform/app/terraform.tfstate')) }
Closure planAndApply = { Build b, Map common, String image ->
  Map plan = b.step('terraformPlan', common + [vars: [image: image], requiredVars: ['image']])
  if (plan.changes) {
    b.step('terraformApply', [credentialsId: null, pluginCache: common.pluginCache, plan: plan.stash, sha256: plan.sha256])
  }
  plan
}

test('real: terraformPlan and terraformApply init (-lockfile=readonly), plan and apply a terraform_data module; a second run finds no changes') {
  terraformBuild { Build b, Map common ->
    String a = 'docker.io/bankco/banking-app@sha256:' + 'a' * 64
    assert planAndApply(b, common, a).changes
    assert new File(b.workspace, 'terraform/app/terraform-plan.txt').text.contains('terraform_data.release will be created')
    assert state(b).outputs.image.value == a
    // Terraform's data and the plan stayed outside the workspace, and are gone.
    assert !new File(b.workspace, 'terraform/app/.terraform').exists()
    assert new File(b.env.WORKSPACE_TMP).list().toList() == []

    assert !planAndApply(b, common, a).changes
    assert b.log.contains('terraformPlan: no changes in terraform/app')

    assert planAndApply(b, common, 'docker.io/bankco/banking-app@sha256:' + 'b' * 64).changes
    assert state(b).outputs.image.value.endsWith('b' * 64)
  }
}

test('real: an approved plan made stale by another apply is refused by Terraform, and the state keeps the newer apply') {
  terraformBuild { Build b, Map common ->
    planAndApply(b, common, 'first')
    Map approved = b.step('terraformPlan', common + [vars: [image: 'approved-but-stale']])
    // Stashes belong to their build: keep this one apart from the other build's.
    b.stashes['approved'] = b.stashes.remove(approved.stash)
    // Another build plans and applies while the first waits for its approval.
    Map other = b.step('terraformPlan', common + [vars: [image: 'applied-meanwhile']])
    b.step('terraformApply', [credentialsId: null, pluginCache: common.pluginCache, plan: other.stash, sha256: other.sha256])
    StepError e = b.failure('terraformApply', [credentialsId: null, pluginCache: common.pluginCache, plan: 'approved', sha256: approved.sha256])
    assert e.message.startsWith('terraformApply: terraform apply failed in terraform/app (exit code 1)')
    assert b.log.contains('Saved plan is stale')
    assert state(b).outputs.image.value == 'applied-meanwhile'
    assert new File(b.env.WORKSPACE_TMP).list().toList() == []
  }
}

test('real: terraformPlan on a pull request plans the change without the state lock and leaves the state alone') {
  terraformBuild { Build b, Map common ->
    b.env.BRANCH_NAME = 'PR-3'
    b.env.CHANGE_ID = '3'
    Map plan = b.step('terraformPlan', common + [planCredentialsId: null, vars: [image: 'x']])
    assert plan.changes && plan.stash == null
    assert !new File(b.workspace, 'terraform/app/terraform.tfstate').exists()
  }
}

test('real: terraformPlan fails the build on an invalid module and keeps nothing') {
  terraformBuild { Build b, Map common ->
    b.file('terraform/app/broken.tf', 'resource "terraform_data" "x" {\n  no_such_argument = 1\n}\n')
    assert b.failure('terraformPlan', common + [vars: [image: 'x']]).message == 'terraformPlan: terraform plan failed in terraform/app (exit code 1)'
    assert b.log.contains('Unsupported argument')
    assert b.stashes.isEmpty()
    assert !new File(b.workspace, 'terraform/app/terraform.tfstate').exists()
  }
}
