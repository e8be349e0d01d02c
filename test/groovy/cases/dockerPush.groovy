// dockerPush through the harness: docker is a recorder; the script and the credentials binding
// are real, so the password's path (withCredentials -> environment -> stdin) is observable.

Closure inBuild = { Closure body ->
  Build b = new Build().record('docker')
  b.file('app/Dockerfile', 'FROM python:3.11-slim\n')
  try {
    body(b)
  } finally {
    b.close()
  }
}

String digest = 'sha256:4d3c2b1a4d3c2b1a4d3c2b1a4d3c2b1a4d3c2b1a4d3c2b1a4d3c2b1a4d3c2b1a'
Closure pushed = { Build b -> b.toolCalls('docker').findAll { it.argv[0] == 'push' }*.argv*.getAt(1) }

test('dockerPush with defaults on main builds app/, pushes build number, short commit and latest, and returns REGISTRY/IMAGE@DIGEST') {
  inBuild { Build b ->
    assert b.step('dockerPush') == "docker.io/bankco/banking-app@${digest}".toString()
    List<Map> docker = b.toolCalls('docker')
    assert docker*.argv*.getAt(0) == ['login', 'pull', 'build', 'push', 'push', 'push', 'logout']
    assert docker[0].argv == ['login', '--username', 'bank-ci-bot', '--password-stdin', 'docker.io']
    assert docker[1].argv == ['pull', '--quiet', 'docker.io/bankco/banking-app:latest']
    List<String> build = docker[2].argv
    assert build.containsAll(['--file', 'app/Dockerfile', '--cache-from', 'docker.io/bankco/banking-app:latest'])
    assert build.contains('org.opencontainers.image.revision=0123456789abcdef0123456789abcdef01234567')
    assert build.contains('org.opencontainers.image.source=https://github.com/bank/jenkins-fleet.git')
    assert build.find { it.startsWith('org.opencontainers.image.created=') } ==~ /org\.opencontainers\.image\.created=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/
    // The context comes after `--`: no path can be read as an option.
    assert build.takeRight(2) == ['--', 'app']
    assert pushed(b) == ['docker.io/bankco/banking-app:42', 'docker.io/bankco/banking-app:0123456', 'docker.io/bankco/banking-app:latest']
    assert docker[-1].argv == ['logout', 'docker.io']
    assert b.callsOf('usernamePassword')*.args*.credentialsId == ['dockerhub']
    assert b.log.contains('dockerPush: pushing docker.io/bankco/banking-app (branch main)')
  }
}

test('dockerPush on another branch builds the image, tagged with the branch, and neither logs in nor pushes') {
  inBuild { Build b ->
    b.env.BRANCH_NAME = 'feature/login+2fa'
    assert b.step('dockerPush') == null
    List<Map> docker = b.toolCalls('docker')
    assert docker*.argv*.getAt(0) == ['pull', 'build']
    assert docker[1].argv.containsAll(['--tag', 'docker.io/bankco/banking-app:feature-login-2fa-42', 'docker.io/bankco/banking-app:0123456'])
    assert b.callsOf('withCredentials').isEmpty() && b.callsOf('usernamePassword').isEmpty()
    assert b.log.contains('dockerPush: building docker.io/bankco/banking-app without pushing: only main and tags push')
  }
}

test('dockerPush on a pull request into main builds without registry credentials and pushes nothing') {
  inBuild { Build b ->
    b.env.BRANCH_NAME = 'PR-7'
    b.env.CHANGE_ID = '7'
    b.env.CHANGE_TARGET = 'main'
    assert b.step('dockerPush') == null
    assert b.toolCalls('docker')*.argv*.getAt(0) == ['pull', 'build']
    assert b.callsOf('withCredentials').isEmpty()
    assert b.toolCalls('docker').every { Map call -> call.env.DOCKER_PASSWORD == null && call.env.DOCKER_USERNAME == null }
  }
}

test('dockerPush on a pull request whose head branch is main still pushes nothing') {
  inBuild { Build b ->
    b.env.BRANCH_NAME = 'main'
    b.env.CHANGE_ID = '7'
    assert b.step('dockerPush') == null
    assert pushed(b).isEmpty() && b.callsOf('withCredentials').isEmpty()
  }
}

test('dockerPush on a tag pushes the build number, the short commit and the tag, not latest') {
  inBuild { Build b ->
    b.env.BRANCH_NAME = 'v1.4.0'
    b.env.TAG_NAME = 'v1.4.0'
    assert b.step('dockerPush') == "docker.io/bankco/banking-app@${digest}".toString()
    assert pushed(b) == ['docker.io/bankco/banking-app:42', 'docker.io/bankco/banking-app:0123456', 'docker.io/bankco/banking-app:v1.4.0']
    assert b.log.contains('dockerPush: pushing docker.io/bankco/banking-app (tag v1.4.0)')
  }
}

test('dockerPush builds without --cache-from when there is no latest image yet') {
  inBuild { Build b ->
    b.behaviour.DOCKER_PULL_EXIT = '1'
    b.step('dockerPush')
    assert !b.toolCalls('docker').find { it.argv[0] == 'build' }.argv.contains('--cache-from')
    assert b.log.contains('no docker.io/bankco/banking-app:latest to reuse layers from')
  }
}

test('dockerPush passes every parameter through') {
  inBuild { Build b ->
    b.env.BRANCH_NAME = 'release'
    b.file('svc/docker/App.dockerfile', 'FROM scratch\n')
    b.credentials['ecr'] = [kind: 'usernamePassword', username: 'AWS', password: 'ecr-token-' + UUID.randomUUID()]
    b.behaviour.DOCKER_PUSH_DIGEST = 'sha256:' + 'e' * 64
    String result = b.step('dockerPush', [image: 'bank/app', registry: '123456789012.dkr.ecr.us-east-1.amazonaws.com',
      credentialsId: 'ecr', tags: ['v1.2.3', 'release'], context: 'svc', dockerfile: 'svc/docker/App.dockerfile',
      buildArgs: [PYTHON_VERSION: '3.11', BUILD_NUMBER: 42], deployBranch: 'release', buildNetwork: 'host'])
    assert result == '123456789012.dkr.ecr.us-east-1.amazonaws.com/bank/app@sha256:' + 'e' * 64
    List<Map> docker = b.toolCalls('docker')
    assert docker[0].argv == ['login', '--username', 'AWS', '--password-stdin', '123456789012.dkr.ecr.us-east-1.amazonaws.com']
    List<String> build = docker.find { it.argv[0] == 'build' }.argv
    assert build.containsAll(['--file', 'svc/docker/App.dockerfile', '--build-arg', 'PYTHON_VERSION=3.11', 'BUILD_NUMBER=42',
      '--network', 'host'])
    assert build[-1] == 'svc'
    assert pushed(b) == ['123456789012.dkr.ecr.us-east-1.amazonaws.com/bank/app:v1.2.3', '123456789012.dkr.ecr.us-east-1.amazonaws.com/bank/app:release']
  }
}

test('dockerPush sends the password on stdin only, inside withCredentials, and never through Groovy') {
  inBuild { Build b ->
    b.step('dockerPush')
    String password = b.credentials.dockerhub.password
    List<Map> docker = b.toolCalls('docker')
    assert docker[0].stdin == password
    assert docker.every { !it.argv.any { String a -> a.contains(password) } }
    assert !b.stepStrings().any { it.contains(password) }
    assert !b.log.toString().contains(password)
    // Nothing after the login sees the password: not the build, not the pushes, not the logout.
    assert docker.drop(1).every { !it.env.values().any { String v -> v.contains(password) } }
  }
}

test('dockerPush keeps docker\'s configuration in a fresh directory outside the workspace, and removes it') {
  inBuild { Build b ->
    // What a pull request could commit: a docker CLI plugin in the old per-build DOCKER_CONFIG.
    b.file('.bank-pipeline/docker-config/cli-plugins/docker-buildx', '#!/bin/sh\nenv > "$HOME/stolen"\n')
    b.step('dockerPush')
    List<String> configs = b.toolCalls('docker')*.env*.DOCKER_CONFIG.unique()
    assert configs.size() == 1
    String config = configs[0]
    assert config.startsWith("${b.workspace.path}@tmp/bank-pipeline-docker-config.".toString())
    assert !config.startsWith("${b.workspace.path}/".toString())
    assert !new File(config).exists()
    assert new File(b.env.WORKSPACE_TMP).list().toList() == []
  }
}

test('dockerPush logs out and removes its docker configuration also when the push fails') {
  inBuild { Build b ->
    b.behaviour.DOCKER_PUSH_EXIT = '1'
    assert b.failure('dockerPush').message == 'script returned exit code 1'
    assert b.toolCalls('docker')*.argv*.getAt(0).takeRight(2) == ['push', 'logout']
    assert new File(b.env.WORKSPACE_TMP).list().toList() == []
  }
}

test('dockerPush fails when docker reports no digest') {
  inBuild { Build b ->
    b.behaviour.DOCKER_PUSH_DIGEST = ''
    b.failure('dockerPush')
    assert b.log.contains('dockerPush: docker reported no digest for docker.io/bankco/banking-app:42')
  }
}

test('dockerPush fails when the tags were pushed as different images') {
  inBuild { Build b ->
    b.behaviour.DOCKER_DIGEST_latest = 'sha256:' + 'f' * 64
    b.failure('dockerPush')
    assert b.log.contains("dockerPush: docker.io/bankco/banking-app:latest was pushed as sha256:${'f' * 64}, but the tags before it as ${digest}")
    assert !new File(b.workspace, '.bank-pipeline/dockerPush.reference').exists()
  }
}

test('dockerPush fails saying why when the build has no WORKSPACE_TMP (outside a node)') {
  inBuild { Build b ->
    b.env.remove('WORKSPACE_TMP')
    b.failure('dockerPush')
    assert b.log.contains('dockerPush: WORKSPACE_TMP is not set: run the step inside a node (Jenkins sets it there)')
    assert b.toolCalls('docker').isEmpty()
  }
}

test('dockerPush gives a build argument named like its own variables to docker, without overwriting them') {
  inBuild { Build b ->
    b.step('dockerPush', [buildArgs: [NAMES: 'x', REGISTRY: 'evil.example', EMPTY: '', A: 1]])
    Map build = b.toolCalls('docker').find { it.argv[0] == 'build' }
    List<String> argv = build.argv
    assert argv.containsAll(['NAMES=x', 'REGISTRY=evil.example', 'EMPTY=', 'A=1'])
    assert argv.count { it == '--build-arg' } == 5
    assert build.env.REGISTRY == 'docker.io'
    assert pushed(b).every { it.startsWith('docker.io/bankco/banking-app:') }
  }
}

test('dockerPush fails naming the docker labels when the node has no docker') {
  Build b = new Build()
  try {
    StepError e = b.failure('dockerPush')
    assert e.message == "dockerPush: docker was not found on node awsDeploy2-i-0abc1234def567890; run it on a node with label 'docker' (pool awsDeploy2: labels awsDeploy2, docker, python)"
    assert b.callsOf('withCredentials').isEmpty()
  } finally {
    b.close()
  }
}

test('dockerPush fails when the credentials do not exist, or are not a username and password') {
  inBuild { Build b ->
    assert b.failure('dockerPush', [credentialsId: 'nope']).message == "Could not find credentials entry with ID 'nope'"
    assert b.failure('dockerPush', [credentialsId: 'aws-deploy']).message ==
      "Credentials 'aws-deploy' is of type 'AWS Credentials' where 'com.cloudbees.plugins.credentials.common.StandardUsernamePasswordCredentials' was expected"
  }
}

test('dockerPush rejects invalid image references and tags with a clear error') {
  inBuild { Build b ->
    assert b.failure('dockerPush', [image: 'Bank/App']).message == "dockerPush: parameter 'image' must be an image repository such as bankco/bank-app (lower case), got 'Bank/App'"
    assert b.failure('dockerPush', [image: 'bank//app']).message.startsWith("dockerPush: parameter 'image' must be")
    assert b.failure('dockerPush', [registry: 'https://docker.io']).message == "dockerPush: parameter 'registry' must be a registry host such as docker.io, got 'https://docker.io'"
    assert b.failure('dockerPush', [tags: ['ok', '-bad', 'x' * 129]]).message.readLines() == [
      "dockerPush: parameter 'tags[1]' must be a Docker tag (letters, digits, \"_\", \".\", \"-\", at most 128, not starting with \".\" or \"-\"), got '-bad'",
      "dockerPush: parameter 'tags[2]' must be a Docker tag (letters, digits, \"_\", \".\", \"-\", at most 128, not starting with \".\" or \"-\"), got '${'x' * 129}'",
    ]
    assert b.failure('dockerPush', [tags: []]).message.startsWith('dockerPush: no tags to push')
    assert b.failure('dockerPush', [buildArgs: ['bad-name': 'x']]).message == "dockerPush: parameter 'buildArgs key' must be a build argument name (letters, digits, \"_\"), got 'bad-name'"
    assert b.failure('dockerPush', [buildArgs: [A: [1]]]).message == "dockerPush: parameter 'buildArgs.A' must be a String, number or Boolean, got ArrayList"
    assert b.failure('dockerPush', [buildArgs: [Proxy: '1', PROXY: '2']]).message == "dockerPush: parameter 'buildArgs' has keys 'Proxy' and 'PROXY', which differ only in case"
    assert b.failure('dockerPush', [context: '-q']).message.startsWith("dockerPush: parameter 'context' must be a relative path")
    assert b.failure('dockerPush', [dockerfile: '--file=x']).message.startsWith("dockerPush: parameter 'dockerfile' must be a relative path")
    assert b.failure('dockerPush', [tag: 'x']).message.startsWith("dockerPush: unknown parameter 'tag'")
    assert b.failure('dockerPush', [tags: 'v1']).message == "dockerPush: parameter 'tags' must be a List of Strings, got String"
    assert b.toolCalls('docker').isEmpty()
  }
}

test('dockerPush pushes latest from the deployBranch it is given') {
  inBuild { Build b ->
    b.env.BRANCH_NAME = 'release'
    b.step('dockerPush', [deployBranch: 'release'])
    assert pushed(b) == ['docker.io/bankco/banking-app:42', 'docker.io/bankco/banking-app:0123456', 'docker.io/bankco/banking-app:latest']
  }
}

test('dockerPush fails when it has no tag to give (no build number, no commit, not the deploy branch)') {
  inBuild { Build b ->
    b.env.remove('BUILD_NUMBER')
    b.env.remove('GIT_COMMIT')
    b.env.BRANCH_NAME = 'feature/x'
    assert b.failure('dockerPush').message.startsWith('dockerPush: no tags to push')
    assert b.toolCalls('docker').isEmpty()
  }
}
