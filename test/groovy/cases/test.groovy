// The test step through the harness: the virtualenv's python is a recorder that writes the
// JUnit file pytest would and exits with HARNESS_PYTEST_EXIT.

Closure inBuild = { Closure body ->
  Build b = new Build()
  b.file('app/tests/test_ok.py', 'def test_ok():\n    assert True\n')
  // The virtualenv buildApp would have recorded on this node.
  File venv = new File(b.dir, 'venvs/py3.11.2-abc')
  new File(venv, 'bin').mkdirs()
  java.nio.file.Files.createSymbolicLink(new File(venv, 'bin/python').toPath(), new File(Build.repo, 'test/groovy/recorder.sh').toPath())
  b.file('.bank-pipeline/venv', "${venv.path}\n")
  try {
    body(b, venv.path)
  } finally {
    b.close()
  }
}

test('test with defaults runs pytest in app/ in the recorded virtualenv and publishes app/build/test-results/junit.xml') {
  inBuild { Build b, String venv ->
    b.step('test')
    Map pytest = b.toolCalls('python')[-1]
    assert pytest.argv == ['-m', 'pytest', '-p', 'no:cacheprovider', "--junitxml=${b.workspace}/app/build/test-results/junit.xml".toString(), '-o', 'junit_family=xunit2']
    assert pytest.env.PWD == new File(b.workspace, 'app').path
    assert b.callsOf('junit')*.args == [[testResults: 'app/build/test-results/junit.xml']]
  }
}

test('test passes every parameter to pytest') {
  inBuild { Build b, String venv ->
    new File(b.workspace, '.bank-pipeline/venv').delete()
    b.step('test', [dir: 'app', junit: 'reports/unit.xml', venv: venv, args: ['-k', 'not slow', '-x'], publish: true])
    Map pytest = b.toolCalls('python')[-1]
    assert pytest.argv.takeRight(3) == ['-k', 'not slow', '-x']
    assert pytest.argv.contains("--junitxml=${b.workspace}/reports/unit.xml".toString())
    assert b.callsOf('junit')*.args == [[testResults: 'reports/unit.xml']]
  }
}

test('test fails the build when a test fails, and still publishes the JUnit file') {
  inBuild { Build b, String venv ->
    b.behaviour.PYTEST_EXIT = '1'
    StepError e = b.failure('test')
    assert e.message == 'test: pytest failed with exit code 1 in app'
    assert b.callsOf('junit')*.args == [[testResults: 'app/build/test-results/junit.xml']]
  }
}

test('test fails the build when pytest collects no tests (exit code 5)') {
  inBuild { Build b, String venv ->
    b.behaviour.PYTEST_EXIT = '5'
    assert b.failure('test').message == 'test: pytest failed with exit code 5 in app'
  }
}

test('test with publish: false leaves the JUnit file to the caller') {
  inBuild { Build b, String venv ->
    b.step('test', [publish: false])
    assert b.callsOf('junit').isEmpty()
    assert new File(b.workspace, 'app/build/test-results/junit.xml').file
  }
}

test('test without a virtualenv from buildApp fails and says to run buildApp first') {
  inBuild { Build b, String venv ->
    new File(b.workspace, '.bank-pipeline/venv').delete()
    StepError e = b.failure('test')
    assert e.message == 'test: pytest failed with exit code 3 in app'
    assert b.log.contains("test: no virtualenv from buildApp on this node; run buildApp first in the same stage (run it on a node with label 'python'")
    assert b.callsOf('junit').isEmpty()
  }
}

test('test rejects unknown parameters, wrong types and malformed values naming the key') {
  inBuild { Build b, String venv ->
    assert b.failure('test', [junitFile: 'x.xml']).message.startsWith("test: unknown parameter 'junitFile'; the parameters are dir, junit, venv, args, publish")
    assert b.failure('test', [args: '-x']).message == "test: parameter 'args' must be a List of Strings, got String"
    assert b.failure('test', [args: ['-x', 3]]).message == "test: parameter 'args' must be a List of Strings; item 1 is a Integer"
    assert b.failure('test', [publish: 'false']).message == "test: parameter 'publish' must be a Boolean (true or false), got String"
    assert b.failure('test', [venv: 'relative']).message.startsWith("test: parameter 'venv' must be an absolute path")
    assert b.failure('test', [junit: '../out.xml']).message.startsWith("test: parameter 'junit' must be a relative path")
    assert b.callsOf('sh').isEmpty()
  }
}
