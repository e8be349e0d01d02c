// The harness's Jenkins semantics, each as Jenkins has it (docs/FIDELITY.md, Pipeline (Groovy
// harness)): the cases the library's own cases rely on, so a harness that drifts back to being
// lenient fails here first.

Closure inBuild = { Closure body ->
  Build b = new Build()
  try {
    body(b)
  } finally {
    b.close()
  }
}
Closure steps = { Build b -> b.steps() }
Closure shOut = { Build b, String script -> steps(b).sh([script: script, returnStdout: true]).trim() }

// ---- withEnv (workflow-basic-steps EnvStep, hudson.EnvVars.override) -------------------------

test('harness: withEnv with an empty value removes the variable, so a set -u script reading it fails') {
  inBuild { Build b ->
    b.env.VENV = '/from/the/build'
    steps(b).withEnv(['VENV=']) {
      assert shOut(b, 'echo "${VENV:-unset}"') == 'unset'
      assert steps(b).sh([script: 'set -u; echo "$VENV"', returnStatus: true]) != 0
    }
    assert shOut(b, 'echo "$VENV"') == '/from/the/build'
  }
}

test('harness: withEnv PATH+NAME prepends to PATH, and names compare ignoring case') {
  inBuild { Build b ->
    String path = shOut(b, 'echo "$PATH"')
    steps(b).withEnv(['PATH+TOOLS=/opt/tools/bin', 'Greeting=hello']) {
      steps(b).withEnv(['GREETING=hi']) {
        assert shOut(b, 'echo "$PATH"') == "/opt/tools/bin:${path}".toString()
        assert shOut(b, 'env | grep -ci "^greeting="') == '1'
        assert shOut(b, 'env | grep -i "^greeting="') == 'Greeting=hi'
      }
    }
  }
}

test('harness: withEnv keeps the last of a repeated name, and refuses an entry without =') {
  inBuild { Build b ->
    steps(b).withEnv(['A=1', 'A=2']) {
      assert shOut(b, 'echo "$A"') == '2'
    }
    try {
      steps(b).withEnv(['JUST_A_NAME']) { assert false : 'the body ran' }
      assert false : 'withEnv accepted an entry without ='
    } catch (StepError e) {
      assert e.message == 'java.lang.IllegalArgumentException: JUST_A_NAME'
    }
  }
}

// ---- the agent's PATH ------------------------------------------------------------------------

test('harness: a build\'s PATH holds its own tools and the basic commands, never the machine\'s /usr/bin') {
  inBuild { Build b ->
    String path = shOut(b, 'echo "$PATH"')
    assert path == "${b.bin.path}:${Build.basicBin().path}".toString()
    assert !path.split(':').any { it in ['/usr/bin', '/bin', '/usr/local/bin', '/usr/sbin'] }
    assert steps(b).sh([script: 'command -v docker', returnStatus: true]) != 0
    assert steps(b).sh([script: 'command -v terraform', returnStatus: true]) != 0
    assert steps(b).sh([script: 'command -v python3', returnStatus: true]) != 0
    b.record('docker')
    assert shOut(b, 'command -v docker') == new File(b.bin, 'docker').path
  }
}

// ---- @Library (pipeline-groovy-lib LibraryAdder, LibraryConfiguration.defaultedVersion) -------

test('harness: @Library without a version loads the defaultVersion; with one, only when overrides are allowed') {
  List<Map> pinned = [[name: 'bank-pipeline', defaultVersion: 'v1.0.0', allowVersionOverride: false]]
  List<Map> open = [[name: 'bank-pipeline', defaultVersion: 'v1.0.0', allowVersionOverride: true]]
  assert LibraryResolution.resolve('bank-pipeline', pinned) == 'v1.0.0'
  assert LibraryResolution.resolve('bank-pipeline@v2', open) == 'v2'
  // JCasC leaves an unset allowVersionOverride at the plugin's default, true.
  assert LibraryResolution.resolve('bank-pipeline@v2', [[name: 'bank-pipeline', defaultVersion: 'v1.0.0']]) == 'v2'
  ['bank-pipeline@v1.0.0', 'bank-pipeline@v2'].each { String identifier ->
    try {
      LibraryResolution.resolve(identifier, pinned)
      assert false : "${identifier} loaded"
    } catch (StepError e) {
      assert e.message == 'Version override not permitted for library bank-pipeline'
    }
  }
}

test('harness: @Library fails for a library without a default version or with an unknown name') {
  try {
    LibraryResolution.resolve('bank-pipeline', [[name: 'bank-pipeline', allowVersionOverride: false]])
    assert false
  } catch (StepError e) {
    assert e.message == 'No version specified for library bank-pipeline'
  }
  try {
    LibraryResolution.resolve('other@v1', [[name: 'bank-pipeline', defaultVersion: 'v1.0.0']])
    assert false
  } catch (StepError e) {
    assert e.message == 'Could not find any definition of libraries [other]'
  }
}

test('harness: the library settings come from jenkins/casc.yaml') {
  assert LibraryResolution.configured().collect { [it.name, it.defaultVersion, it.allowVersionOverride] } ==
    [['bank-pipeline', 'v1.0.0', false]]
}

// ---- input (pipeline-input-step InputStepExecution.canSettle) ---------------------------------

test('harness: input with a submitter lets only those users and groups answer, ignoring case, untrimmed') {
  assert Build.canSettle('deployers', [id: 'bob', groups: ['Deployers']])
  assert Build.canSettle('alice,deployers', [id: 'ALICE', groups: []])
  assert !Build.canSettle('alice, bob', [id: 'bob', groups: []])
  assert !Build.canSettle('deployers', [id: 'mallory', groups: ['developers']])
  // Administrators can always answer; without a submitter, anyone who may build the job.
  assert Build.canSettle('deployers', [id: 'root', admin: true])
  assert Build.canSettle(null, [id: 'mallory', groups: []])
  assert !Build.canSettle(null, [id: 'viewer', canBuild: false])
}

test('harness: an answer from someone the input does not allow is refused and the wait goes on to its timeout') {
  inBuild { Build b ->
    b.inputAnswers = [[id: 'mallory', groups: ['developers'], proceed: true]]
    try {
      steps(b).input([message: 'Apply?', submitter: 'deployers'])
      assert false : 'mallory approved'
    } catch (StepError e) {
      assert e.message == 'Timeout has been exceeded'
    }
    assert b.refusedInputs*.id == ['mallory']
    b.inputAnswers = [[id: 'mallory', groups: [], proceed: true], [id: 'dana', groups: ['deployers'], proceed: true]]
    assert steps(b).input([message: 'Apply?', submitter: 'deployers', submitterParameter: 'APPROVER']) == 'dana'
    b.inputAnswers = [[id: 'dana', groups: ['deployers'], proceed: false]]
    try {
      steps(b).input([message: 'Apply?', submitter: 'deployers'])
      assert false
    } catch (StepError e) {
      assert e.message == 'Rejected by dana'
    }
  }
}

// ---- credentials bindings (credentials-binding MultiBinding, aws-credentials) ----------------

test('harness: a binding finds only credentials the build can see, of the type it binds') {
  inBuild { Build b ->
    b.credentials['github-webhook-secret'] = [kind: 'string', scope: 'SYSTEM', secret: 'x']
    Closure bind = { Map binding -> b.withCredentials([binding]) { shOut(b, 'env | cut -d= -f1 | sort | tr "\\n" " "') } }
    Map aws = [$class: 'AmazonWebServicesCredentialsBinding', credentialsId: 'aws-deploy',
               accessKeyVariable: 'AWS_ACCESS_KEY_ID', secretKeyVariable: 'AWS_SECRET_ACCESS_KEY']
    assert bind(aws).contains('AWS_SECRET_ACCESS_KEY') && !bind(aws).contains('AWS_SESSION_TOKEN')
    try {
      bind([$class: 'UsernamePasswordMultiBinding', credentialsId: 'github-webhook-secret', usernameVariable: 'U', passwordVariable: 'P'])
      assert false : 'a SYSTEM credential was bound in a build'
    } catch (StepError e) {
      assert e.message == "Could not find credentials entry with ID 'github-webhook-secret'"
    }
    try {
      bind(aws + [credentialsId: 'dockerhub'])
      assert false
    } catch (StepError e) {
      assert e.message == "Credentials 'dockerhub' is of type 'Username with password' where 'com.cloudbees.jenkins.plugins.awscredentials.AmazonWebServicesCredentials' was expected"
    }
  }
}

test('harness: an AWS credential with a role binds the role\'s session keys and token, never a long-lived key') {
  inBuild { Build b ->
    b.credentials['aws-plan'] = [kind: 'aws', roleArn: 'arn:aws:iam::123456789012:role/bank-plan']
    Map binding = [$class: 'AmazonWebServicesCredentialsBinding', credentialsId: 'aws-plan']
    String seen = b.withCredentials([binding]) { shOut(b, 'echo "$AWS_ACCESS_KEY_ID $AWS_SESSION_TOKEN"') }
    Map session = b.credentials['aws-plan'].session
    assert seen == "${session.accessKey} ${session.sessionToken}".toString()
    assert session.accessKey.startsWith('ASIA')
    assert b.secrets().contains(session.sessionToken)
  }
}

// ---- stash / unstash (workflow-basic-steps StashStep, UnstashStep) ---------------------------

test('harness: stash takes files relative to the current directory, unstash puts them back; unknown names fail') {
  inBuild { Build b ->
    File outside = new File(b.dir, 'outside')
    outside.mkdirs()
    new File(outside, 'plan').text = 'binary plan'
    steps(b).dir(outside.path) { steps(b).stash([name: 'plan', includes: 'plan']) }
    File elsewhere = new File(b.dir, 'elsewhere')
    steps(b).dir(elsewhere.path) { steps(b).unstash('plan') }
    assert new File(elsewhere, 'plan').text == 'binary plan'
    try {
      steps(b).unstash('nope')
      assert false
    } catch (StepError e) {
      assert e.message == 'No such saved stash ‘nope’'
    }
    try {
      steps(b).dir(elsewhere.path) { steps(b).stash([name: 'x', includes: 'missing']) }
      assert false
    } catch (StepError e) {
      assert e.message == 'No files included in stash ‘x’'
    }
  }
}
