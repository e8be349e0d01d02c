// testInContainer through the harness: docker is a recorder (build, run, create, start, cp, rm);
// the script is real, so what reaches docker's argv and environment is observable.

Closure inBuild = { Closure body ->
  Build b = new Build().record('docker')
  b.file('app/Dockerfile', 'FROM python:3.11-slim AS test\n')
  try {
    body(b)
  } finally {
    b.close()
  }
}
Closure docker = { Build b, String sub -> b.toolCalls('docker').findAll { it.argv[0] == sub || (sub == 'image rm' && it.argv.take(2) == ['image', 'rm']) } }

test('testInContainer builds the test target, runs pytest in it beside a MariaDB container, and publishes the JUnit file') {
  inBuild { Build b ->
    b.step('testInContainer')
    List<Map> calls = b.toolCalls('docker')
    assert calls*.argv*.getAt(0) == ['build', 'run', 'create', 'start', 'cp', 'rm', 'image']
    List<String> build = calls[0].argv
    assert build.take(7) == ['build', '--target', 'test', '--file', 'app/Dockerfile', '--tag', build[6]]
    assert build[6] ==~ /bank-pipeline-test:[0-9a-f-]{36}/
    assert build.takeRight(2) == ['--', 'app']
    List<String> run = calls[1].argv
    assert run.containsAll(['--detach', '--network', 'none', '--env', 'MARIADB_ROOT_PASSWORD', 'docker.io/library/mariadb:10.11'])
    String database = run[run.indexOf('--name') + 1]
    List<String> create = calls[2].argv
    assert create.containsAll(['--network', "container:${database}".toString(), '--env', 'BANK_TEST_MARIADB_URL', build[6]])
    assert create.takeRight(8) == ['python', '-m', 'pytest', '-p', 'no:cacheprovider', '--junitxml=/tmp/bank-pipeline-results/junit.xml', '-o', 'junit_family=xunit2']
    assert calls[3].argv.take(2) == ['start', '--attach']
    assert b.callsOf('junit')*.args == [[testResults: 'app/build/test-results/junit.xml']]
    assert new File(b.workspace, 'app/build/test-results/junit.xml').text.contains('<testsuite name="pytest"')
  }
}

test('testInContainer hands the database password to the containers through the environment only') {
  inBuild { Build b ->
    b.step('testInContainer')
    Map run = docker(b, 'run')[0]
    Map create = docker(b, 'create')[0]
    String password = run.env.MARIADB_ROOT_PASSWORD
    assert password ==~ /[0-9a-f]{32}/
    assert create.env.BANK_TEST_MARIADB_URL == "mysql://root:${password}@127.0.0.1:3306".toString()
    assert !b.toolCalls('docker').any { Map c -> c.argv.any { it.contains(password) } }
    assert !b.log.toString().contains(password)
  }
}

test('testInContainer removes its containers, the test image\'s tag and its docker configuration, also when the tests fail') {
  inBuild { Build b ->
    b.behaviour.DOCKER_TEST_EXIT = '1'
    assert b.failure('testInContainer').message == 'testInContainer: the tests failed with exit code 1 in app'
    Map rm = docker(b, 'rm')[0]
    String database = docker(b, 'run')[0].argv.with { it[it.indexOf('--name') + 1] }
    String tests = docker(b, 'create')[0].argv.with { it[it.indexOf('--name') + 1] }
    assert rm.argv == ['rm', '--force', '--volumes', tests, database]
    assert docker(b, 'image rm')[0].argv == ['image', 'rm', docker(b, 'build')[0].argv[6]]
    String config = docker(b, 'build')[0].env.DOCKER_CONFIG
    assert config.startsWith("${b.workspace.path}@tmp/".toString()) && !new File(config).exists()
    // Failed tests are still published.
    assert b.callsOf('junit').size() == 1
  }
}

test('testInContainer without a database image runs the tests alone, with no network at all') {
  inBuild { Build b ->
    b.step('testInContainer', [databaseImage: null])
    assert docker(b, 'run').isEmpty()
    Map create = docker(b, 'create')[0]
    assert create.argv.containsAll(['--network', 'none'])
    assert create.env.BANK_TEST_MARIADB_URL == null
  }
}

test('testInContainer passes every parameter through') {
  inBuild { Build b ->
    b.file('svc/docker/Test.dockerfile', 'FROM scratch AS check\n')
    b.step('testInContainer', [dir: 'svc', dockerfile: 'svc/docker/Test.dockerfile', target: 'check', databaseImage: 'registry.example/mariadb:10.11',
      databaseUrlVariable: 'DB_URL', junit: 'reports/unit.xml', args: ['-k', 'not slow'], buildNetwork: 'host', publish: true,
      buildArgs: [PIP_INDEX_URL: 'http://127.0.0.1:3141/simple', NAMES: 'x']])
    List<String> build = docker(b, 'build')[0].argv
    assert build.containsAll(['--target', 'check', '--file', 'svc/docker/Test.dockerfile', '--network', 'host']) && build[-1] == 'svc'
    assert build.containsAll(['--build-arg', 'PIP_INDEX_URL=http://127.0.0.1:3141/simple', 'NAMES=x'])
    assert docker(b, 'run')[0].argv[-1] == 'registry.example/mariadb:10.11'
    Map create = docker(b, 'create')[0]
    assert create.argv.takeRight(2) == ['-k', 'not slow'] && create.env.DB_URL.startsWith('mysql://root:')
    assert b.callsOf('junit')*.args == [[testResults: 'reports/unit.xml']]
  }
}

test('testInContainer fails saying the image did not build, and runs no container') {
  inBuild { Build b ->
    b.behaviour.DOCKER_BUILD_EXIT = '1'
    assert b.failure('testInContainer').message == 'testInContainer: the test target of app did not build, or its containers did not start'
    assert docker(b, 'create').isEmpty() && b.callsOf('junit').isEmpty()
  }
}

test('testInContainer fails when the tests pass but leave no JUnit file') {
  inBuild { Build b ->
    b.behaviour.DOCKER_JUNIT = 'none'
    assert b.failure('testInContainer').message == 'testInContainer: the tests passed but left no JUnit file (app/build/test-results/junit.xml)'
  }
}

test('testInContainer fails naming the docker labels when the node has no docker') {
  Build b = new Build()
  try {
    assert b.failure('testInContainer').message ==
      "testInContainer: docker was not found on node awsDeploy2-i-0abc1234def567890; run it on a node with label 'docker' (pool awsDeploy2: labels awsDeploy2, docker, python)"
  } finally {
    b.close()
  }
}

test('testInContainer rejects unknown parameters, wrong types and malformed values naming the key') {
  inBuild { Build b ->
    assert b.failure('testInContainer', [image: 'x']).message.startsWith("testInContainer: unknown parameter 'image'")
    assert b.failure('testInContainer', [target: '--push']).message == "testInContainer: parameter 'target' must be a Dockerfile stage name, got '--push'"
    assert b.failure('testInContainer', [databaseImage: 'Mariadb']).message.startsWith("testInContainer: parameter 'databaseImage' must be an image reference")
    assert b.failure('testInContainer', [databaseUrlVariable: 'PATH=x']).message == "testInContainer: parameter 'databaseUrlVariable' must be an environment variable name, got 'PATH=x'"
    assert b.failure('testInContainer', [dir: '-v']).message.startsWith("testInContainer: parameter 'dir' must be a relative path")
    assert b.failure('testInContainer', [args: '-x']).message == "testInContainer: parameter 'args' must be a List of Strings, got String"
    assert b.toolCalls('docker').isEmpty()
  }
}
