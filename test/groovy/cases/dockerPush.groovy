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

test('dockerPush with defaults on main builds app/, pushes build number, short commit and latest, and returns the digest') {
  inBuild { Build b ->
    assert b.step('dockerPush') == digest
    List<Map> docker = b.toolCalls('docker')
    assert docker*.argv*.getAt(0) == ['login', 'pull', 'build', 'push', 'push', 'push', 'image', 'logout']
    assert docker[0].argv == ['login', '--username', 'bank-ci-bot', '--password-stdin', 'docker.io']
    assert docker[1].argv == ['pull', '--quiet', 'docker.io/bankco/banking-app:latest']
    List<String> build = docker[2].argv
    assert build.containsAll(['--file', 'app/Dockerfile', '--cache-from', 'docker.io/bankco/banking-app:latest'])
    assert build.contains('org.opencontainers.image.revision=0123456789abcdef0123456789abcdef01234567')
    assert build.contains('org.opencontainers.image.source=https://github.com/bank/jenkins-fleet.git')
    assert build.find { it.startsWith('org.opencontainers.image.created=') } ==~ /org\.opencontainers\.image\.created=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/
    assert build[-1] == 'app'
    assert docker.findAll { it.argv[0] == 'push' }*.argv*.getAt(1) ==
      ['docker.io/bankco/banking-app:42', 'docker.io/bankco/banking-app:0123456', 'docker.io/bankco/banking-app:latest']
    assert docker[-1].argv == ['logout', 'docker.io']
    assert b.callsOf('usernamePassword')*.args*.credentialsId == ['dockerhub']
  }
}

test('dockerPush on another branch tags the build with the branch and does not push latest') {
  inBuild { Build b ->
    b.env.BRANCH_NAME = 'feature/login+2fa'
    b.step('dockerPush')
    assert b.toolCalls('docker').findAll { it.argv[0] == 'push' }*.argv*.getAt(1) ==
      ['docker.io/bankco/banking-app:feature-login-2fa-42', 'docker.io/bankco/banking-app:0123456']
  }
}

test('dockerPush on a pull request into main does not push latest') {
  inBuild { Build b ->
    b.env.BRANCH_NAME = 'main'
    b.env.CHANGE_ID = '7'
    b.step('dockerPush')
    assert b.toolCalls('docker').findAll { it.argv[0] == 'push' }*.argv*.getAt(1) ==
      ['docker.io/bankco/banking-app:main-42', 'docker.io/bankco/banking-app:0123456']
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
    b.file('svc/docker/App.dockerfile', 'FROM scratch\n')
    b.credentials['ecr'] = [kind: 'usernamePassword', username: 'AWS', password: 'ecr-token-' + UUID.randomUUID()]
    b.behaviour.DOCKER_REPO_DIGEST = '123456789012.dkr.ecr.us-east-1.amazonaws.com/bank/app@sha256:' + 'e' * 64
    String result = b.step('dockerPush', [image: 'bank/app', registry: '123456789012.dkr.ecr.us-east-1.amazonaws.com',
      credentialsId: 'ecr', tags: ['v1.2.3', 'release'], context: 'svc', dockerfile: 'svc/docker/App.dockerfile',
      buildArgs: [PYTHON_VERSION: '3.11', BUILD_NUMBER: 42], deployBranch: 'release'])
    assert result == 'sha256:' + 'e' * 64
    List<Map> docker = b.toolCalls('docker')
    assert docker[0].argv == ['login', '--username', 'AWS', '--password-stdin', '123456789012.dkr.ecr.us-east-1.amazonaws.com']
    List<String> build = docker.find { it.argv[0] == 'build' }.argv
    assert build.containsAll(['--file', 'svc/docker/App.dockerfile', '--build-arg', 'PYTHON_VERSION=3.11', 'BUILD_NUMBER=42'])
    assert build[-1] == 'svc'
    assert docker.findAll { it.argv[0] == 'push' }*.argv*.getAt(1) ==
      ['123456789012.dkr.ecr.us-east-1.amazonaws.com/bank/app:v1.2.3', '123456789012.dkr.ecr.us-east-1.amazonaws.com/bank/app:release']
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
    // The logout runs after withCredentials: the password is no longer in the environment.
    assert docker[-1].argv[0] == 'logout' && !docker[-1].env.values().any { it.contains(password) }
    // The login is this build's own, not the agent user's ~/.docker.
    assert docker[0].env.DOCKER_CONFIG == new File(b.workspace, '.bank-pipeline/docker-config').path
    assert !new File(b.workspace, '.bank-pipeline/docker-config').exists()
  }
}

test('dockerPush logs out also when the push fails') {
  inBuild { Build b ->
    b.behaviour.DOCKER_PUSH_EXIT = '1'
    assert b.failure('dockerPush').message == 'script returned exit code 1'
    assert b.toolCalls('docker')*.argv*.getAt(0).takeRight(2) == ['push', 'logout']
  }
}

test('dockerPush fails when docker reports no digest') {
  inBuild { Build b ->
    b.behaviour.DOCKER_REPO_DIGEST = ''
    b.failure('dockerPush')
    assert b.log.contains('dockerPush: docker reported no digest for docker.io/bankco/banking-app:42')
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

test('dockerPush fails when the credentials do not exist') {
  inBuild { Build b ->
    assert b.failure('dockerPush', [credentialsId: 'nope']).message == "Could not find credentials entry with ID 'nope'"
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
    assert b.failure('dockerPush', [tag: 'x']).message.startsWith("dockerPush: unknown parameter 'tag'")
    assert b.failure('dockerPush', [tags: 'v1']).message == "dockerPush: parameter 'tags' must be a List of Strings, got String"
    assert b.toolCalls('docker').isEmpty()
  }
}

test('dockerPush pushes latest from the deployBranch it is given') {
  inBuild { Build b ->
    b.env.BRANCH_NAME = 'release'
    b.step('dockerPush', [deployBranch: 'release'])
    assert b.toolCalls('docker').findAll { it.argv[0] == 'push' }*.argv*.getAt(1) ==
      ['docker.io/bankco/banking-app:42', 'docker.io/bankco/banking-app:0123456', 'docker.io/bankco/banking-app:latest']
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
