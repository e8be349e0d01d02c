// buildApp through the harness: python, venv, pip and pytest are recorders, the script is real.

Closure inBuild = { Closure body ->
  Build b = new Build().record('python3')
  b.file('app/requirements.txt', 'flask\n')
  b.file('app/bank/__init__.py', '')
  try {
    body(b)
  } finally {
    b.close()
  }
}

Closure venvCache = { Build b -> new File(b.dir, 'venvs').path }

test('buildApp with defaults builds app/ in the agent-wide virtualenv cache and archives the environment') {
  inBuild { Build b ->
    Map result = b.step('buildApp')
    List<String> envs = b.callsOf('withEnv')[-1].args
    assert 'APP_DIR=app' in envs
    assert 'PYTHON=python3' in envs
    assert 'REQUIREMENTS=requirements.txt' in envs
    assert 'SYSTEM_SITE_PACKAGES=false' in envs
    assert 'VENV_CACHE=/var/cache/bank-pipeline/venvs' in envs
    assert 'MIN_PYTHON=3.11' in envs
    assert result.venv.startsWith('/var/cache/bank-pipeline/venvs/py3.11.2-')
    b.cleanup << result.venv << "${result.venv}.lock".toString()
    assert b.callsOf('archiveArtifacts')*.args.artifacts == ['app/build/python-environment.txt']
    String environment = new File(b.workspace, 'app/build/python-environment.txt').text
    assert environment.contains('flask==2.2.2')
    assert environment.contains("${b.bin}/python3 (Python 3.11.2)")
    List<List<String>> argv = b.toolCalls()*.argv
    assert argv.any { it.take(2) == ['-m', 'venv'] && !it.contains('--system-site-packages') }
    assert argv.any { it.take(4) == ['-m', 'pip', 'install', '--disable-pip-version-check'] && it[-1] == 'app/requirements.txt' }
    assert argv.any { it.take(2) == ['-m', 'compileall'] && it[-1] == 'app' }
  }
}

test('buildApp reuses the virtualenv when the requirements and the interpreter are unchanged') {
  inBuild { Build b ->
    Map first = b.step('buildApp', [venvCache: venvCache(b)])
    int installs = b.toolCalls().count { it.argv.take(3) == ['-m', 'pip', 'install'] }
    Map second = b.step('buildApp', [venvCache: venvCache(b)])
    assert second.venv == first.venv
    assert b.toolCalls().count { it.argv.take(3) == ['-m', 'pip', 'install'] } == installs
    assert b.log.contains("requirements unchanged, reusing ${first.venv}")
  }
}

test('buildApp makes a new virtualenv when the requirements change') {
  inBuild { Build b ->
    Map first = b.step('buildApp', [venvCache: venvCache(b)])
    b.file('app/requirements.txt', 'flask\nrequests\n')
    Map second = b.step('buildApp', [venvCache: venvCache(b)])
    assert second.venv != first.venv
    assert b.toolCalls().count { it.argv.take(3) == ['-m', 'pip', 'install'] } == 2
  }
}

test('buildApp makes a new virtualenv when a file the requirements include (-r, -c, nested) changes') {
  inBuild { Build b ->
    b.file('app/requirements.txt', '-r base.txt  # shared pins\n--constraint=locks/constraints.txt\nflask\n')
    b.file('app/base.txt', '-r locks/more.txt\nrequests\n')
    b.file('app/locks/constraints.txt', 'flask==3.1.0\n')
    b.file('app/locks/more.txt', 'click\n')
    Map first = b.step('buildApp', [venvCache: venvCache(b)])
    assert b.step('buildApp', [venvCache: venvCache(b)]).venv == first.venv
    // Each include, however deep, is part of the key.
    List<Map> changes = [['app/locks/constraints.txt', 'flask==3.1.1\n'], ['app/locks/more.txt', 'click==8.1.8\n'], ['app/base.txt', '-r locks/more.txt\n']]
    Set<String> venvs = [first.venv] as Set
    changes.each { List change ->
      b.file(change[0], change[1])
      venvs << b.step('buildApp', [venvCache: venvCache(b)]).venv
    }
    assert venvs.size() == 4
  }
}

test('buildApp fails naming an included requirements file that does not exist') {
  inBuild { Build b ->
    b.file('app/requirements.txt', '-c missing.txt\nflask\n')
    b.failure('buildApp', [venvCache: venvCache(b)])
    assert b.log.contains('buildApp: app/requirements.txt names missing.txt, but there is no file app/missing.txt')
  }
}

test('buildApp makes a new virtualenv when the Python version changes') {
  inBuild { Build b ->
    Map first = b.step('buildApp', [venvCache: venvCache(b)])
    b.behaviour.PYTHON_VERSION = '3.12.1'
    Map second = b.step('buildApp', [venvCache: venvCache(b)])
    assert second.venv != first.venv
    assert second.venv.contains('/py3.12.1-')
  }
}

test('buildApp passes every parameter to its script') {
  inBuild { Build b ->
    b.file('svc/reqs/prod.txt', 'flask\n')
    b.record('python3.11')
    b.step('buildApp', [dir: 'svc', python: 'python3.11', requirements: 'reqs/prod.txt', systemSitePackages: true,
                        venvCache: venvCache(b), minVersion: '3.9'])
    List<String> envs = b.callsOf('withEnv')[-1].args
    assert ['APP_DIR=svc', 'PYTHON=python3.11', 'REQUIREMENTS=reqs/prod.txt', 'SYSTEM_SITE_PACKAGES=true',
            "VENV_CACHE=${venvCache(b)}".toString(), 'MIN_PYTHON=3.9'].every { it in envs }
    assert b.toolCalls().any { it.tool == 'python3.11' && it.argv.take(3) == ['-m', 'venv', '--system-site-packages'] }
    assert b.callsOf('archiveArtifacts')*.args.artifacts == ['svc/build/python-environment.txt']
  }
}

test('buildApp accepts GString arguments') {
  inBuild { Build b ->
    String name = 'app'
    Map result = b.step('buildApp', [dir: "${name}", venvCache: "${venvCache(b)}"])
    assert result.venv.startsWith(venvCache(b))
  }
}

test('buildApp fails naming the python labels when the interpreter is missing') {
  inBuild { Build b ->
    StepError e = b.failure('buildApp', [python: 'python3.99', venvCache: venvCache(b)])
    assert e.message.startsWith('buildApp: python3.99 was not found on node awsDeploy2-i-0abc1234def567890;')
    assert e.message.contains("label 'python'")
    assert e.message.contains('awsDeploy2: labels awsDeploy2, docker, python')
  }
}

test('buildApp fails naming the python labels when the interpreter is too old') {
  inBuild { Build b ->
    b.behaviour.PYTHON_VERSION = '3.9.2'
    b.failure('buildApp', [venvCache: venvCache(b)])
    assert b.log.contains("buildApp: python3 is Python 3.9.2, older than 3.11; run it on a node with label 'python'")
  }
}

test('buildApp fails when the requirements file is missing') {
  inBuild { Build b ->
    b.failure('buildApp', [requirements: 'nope.txt', venvCache: venvCache(b)])
    assert b.log.contains('buildApp: no requirements file at app/nope.txt')
  }
}

test('buildApp rejects an unknown parameter naming the step and the key') {
  inBuild { Build b ->
    StepError e = b.failure('buildApp', [directory: 'app'])
    assert e.message == "buildApp: unknown parameter 'directory'; the parameters are dir, python, requirements, systemSitePackages, venvCache, minVersion"
    assert b.callsOf('sh').isEmpty()
  }
}

test('buildApp rejects wrong types naming the step and the key') {
  inBuild { Build b ->
    StepError e = b.failure('buildApp', [dir: 42, systemSitePackages: 'yes', python: null])
    assert e.message.readLines() == [
      "buildApp: parameter 'dir' must be a String, got Integer",
      "buildApp: parameter 'systemSitePackages' must be a Boolean (true or false), got String",
      "buildApp: parameter 'python' must be a String, got null",
    ]
  }
}

test('buildApp rejects paths that leave the workspace or hold other characters') {
  inBuild { Build b ->
    ['../etc', 'app/../../x', '/abs', 'app dir', ''].each { String bad ->
      StepError e = b.failure('buildApp', [dir: bad])
      assert e.message.startsWith("buildApp: parameter 'dir' must be a relative path")
    }
    assert b.failure('buildApp', [venvCache: 'relative/cache']).message.startsWith("buildApp: parameter 'venvCache' must be an absolute path")
    assert b.failure('buildApp', [minVersion: '3.x']).message == "buildApp: parameter 'minVersion' must be a version such as 3.11, got '3.x'"
  }
}

test('two builds on one agent at once create a virtualenv once: the second waits and reuses it') {
  File shared = File.createTempDir('library-agent-', '')
  List<Build> builds = [new Build(), new Build()]
  try {
    java.nio.file.Files.createSymbolicLink(new File(shared, 'python3').toPath(), new File(Build.repo, 'test/groovy/recorder.sh').toPath())
    Map args = [python: new File(shared, 'python3').path, venvCache: new File(shared, 'venvs').path]
    List results = Collections.synchronizedList([])
    List<Thread> threads = builds.collect { Build b ->
      b.file('app/requirements.txt', 'flask\n')
      b.behaviour.VENV_SECONDS = '1'
      Thread.start { try { results << b.step('buildApp', args).venv } catch (Throwable e) { results << e } }
    }
    threads*.join()
    assert results.size() == 2 && results[0] == results[1]
    assert builds.sum { Build b -> b.toolCalls().count { it.argv.take(2) == ['-m', 'venv'] } } == 1
    assert builds.count { it.log.contains('creating') } == 1
    assert builds.count { it.log.contains('requirements unchanged, reusing') } == 1
  } finally {
    builds*.close()
    ['rm', '-rf', '--', shared.path].execute().waitFor()
  }
}

test('buildApp fails saying what to do when the virtualenv cache cannot be written') {
  inBuild { Build b ->
    File blocked = new File(b.dir, 'not-a-dir')
    blocked.text = 'a file where the cache should be'
    b.failure('buildApp', [venvCache: "${blocked.path}/venvs"])
    assert b.log.contains("buildApp: the virtualenv cache ${blocked.path}/venvs is not writable by")
    assert b.log.contains("create it for the agent's user or pass venvCache:")
  }
}
