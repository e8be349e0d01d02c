// testInContainer with the real Docker engine (DockerEngine): the test target of app/Dockerfile
// built, and the app's whole suite (SQLite, MariaDB, the Chromium walk-through) run inside it
// through the step's own script, with a MariaDB container beside it. Runs with --docker only
// (npm test -- library-docker): it needs root, dockerd and debootstrap, and takes minutes.

Closure copy = { File from, File to ->
  to.mkdirs()
  Process p = ['cp', '-R', "${from.path}/.", to.path].execute()
  assert p.waitFor() == 0 : p.errorStream.text
}

test('docker: testInContainer builds app/\'s test target and runs the whole suite in it beside a MariaDB container') {
  DockerEngine engine = DockerEngine.get()
  String mariadb = engine.mariadb()
  Build b = new Build().tool('docker', '/usr/bin/docker')
  // The engine outlives a run (its state is cached between runs), so a run killed earlier may have
  // left its own containers and tags: only what this run adds must be gone afterwards.
  Closure<List<String>> containers = { engine.run(['docker', 'ps', '--all', '--format', '{{.Names}}']).readLines().findAll { it.startsWith('bank-pipeline-') } }
  Closure<List<String>> testTags = { engine.run(['docker', 'images', '--format', '{{.Repository}}:{{.Tag}}']).readLines().findAll { it.startsWith('bank-pipeline-test:') } }
  List<String> containersBefore = containers()
  List<String> tagsBefore = testTags()
  try {
    copy(new File(Build.repo, 'app'), new File(b.workspace, 'app'))
    ['app/.venv', 'app/build', 'app/instance'].each { ['rm', '-rf', new File(b.workspace, it).path].execute().waitFor() }
    b.env.DOCKER_HOST = engine.host
    // No bridge on this engine: the build reaches the package index on the host's loopback.
    b.step('testInContainer', [databaseImage: mariadb, buildNetwork: 'host', buildArgs: engine.buildArgs])

    def suites = new XmlSlurper().parse(new File(b.workspace, 'app/build/test-results/junit.xml'))
    int tests = suites.testsuite.@tests.text() as int
    assert tests > 100
    assert ['failures', 'errors', 'skipped'].every { suites.testsuite."@${it}".text() == '0' } : "not every test passed: ${suites.testsuite.attributes()}"
    List<String> names = suites.testsuite.testcase.collect { "${it.@classname}.${it.@name}".toString() }
    // The MariaDB beside it, and the browser inside it, really ran.
    assert names.any { it.contains('mariadb') }
    assert names.any { it.contains('test_browser') }
    assert b.callsOf('junit')*.args == [[testResults: 'app/build/test-results/junit.xml']]

    // Nothing of the run is left in the engine: no container, no tag of the test image.
    assert containers() - containersBefore == []
    assert testTags() - tagsBefore == []
  } finally {
    b.close()
  }
}

test('docker: testInContainer fails the build, and still publishes the JUnit file, when a test fails inside the container') {
  DockerEngine engine = DockerEngine.get()
  Build b = new Build().tool('docker', '/usr/bin/docker')
  try {
    copy(new File(Build.repo, 'app'), new File(b.workspace, 'app'))
    b.file('app/tests/test_broken.py', 'def test_broken():\n    assert 1 + 1 == 3\n')
    b.env.DOCKER_HOST = engine.host
    StepError e = b.failure('testInContainer', [databaseImage: null, buildNetwork: 'host', buildArgs: engine.buildArgs,
      args: ['tests/test_broken.py', 'tests/test_money.py']])
    assert e.message == 'testInContainer: the tests failed with exit code 1 in app'
    def suites = new XmlSlurper().parse(new File(b.workspace, 'app/build/test-results/junit.xml'))
    assert suites.testsuite.@failures.text() == '1'
    assert b.callsOf('junit').size() == 1
  } finally {
    b.close()
  }
}
