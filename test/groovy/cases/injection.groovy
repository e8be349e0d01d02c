// Every string a caller can give a step, with shell-injection payloads: the step either rejects
// the value (an error naming the step and the key) or passes it intact to where it goes (a tool's
// argv or environment, or the credentials binding). Every sh really runs, so an injection would
// create PWNED; no case may leave one anywhere.

List<String> payloads = [
  '; touch PWNED',
  '$(touch PWNED)',
  '`touch PWNED`',
  "' ; touch PWNED ; '",
  '" ; touch PWNED ; "',
  'x\ntouch PWNED',
]

// Each setup prepares a build for the step and returns the arguments every call needs.
Map<String, Closure> setups = [
  buildApp: { Build b ->
    b.record('python3')
    b.file('app/requirements.txt', 'flask\n')
    [:]
  },
  test: { Build b ->
    File venv = new File(b.dir, 'venv')
    new File(venv, 'bin').mkdirs()
    java.nio.file.Files.createSymbolicLink(new File(venv, 'bin/python').toPath(), new File(Build.repo, 'test/groovy/recorder.sh').toPath())
    b.file('.bank-pipeline/venv', venv.path)
    [:]
  },
  testInContainer: { Build b ->
    b.record('docker')
    b.file('app/Dockerfile', 'FROM scratch\n')
    [:]
  },
  dockerPush: { Build b ->
    b.record('docker')
    b.file('app/Dockerfile', 'FROM scratch\n')
    [:]
  },
  terraformPlan: { Build b ->
    b.record('terraform')
    b.file('terraform/app/main.tf', '\n')
    [:]
  },
  terraformApply: { Build b ->
    b.record('terraform')
    b.file('terraform/app/main.tf', '\n')
    Map plan = b.step('terraformPlan')
    [plan: plan.stash, sha256: plan.sha256]
  },
]

// [step, the key an error must name, how the payload is passed]
List<List> targets = [
  ['buildApp', 'dir', { p -> [dir: p] }],
  ['buildApp', 'python', { p -> [python: p] }],
  ['buildApp', 'requirements', { p -> [requirements: p] }],
  ['buildApp', 'venvCache', { p -> [venvCache: p] }],
  ['buildApp', 'minVersion', { p -> [minVersion: p] }],
  ['test', 'dir', { p -> [dir: p] }],
  ['test', 'junit', { p -> [junit: p] }],
  ['test', 'venv', { p -> [venv: p] }],
  ['test', 'args[1]', { p -> [args: ['-k', p]] }],
  ['testInContainer', 'dir', { p -> [dir: p] }],
  ['testInContainer', 'dockerfile', { p -> [dockerfile: p] }],
  ['testInContainer', 'target', { p -> [target: p] }],
  ['testInContainer', 'databaseImage', { p -> [databaseImage: p] }],
  ['testInContainer', 'databaseUrlVariable', { p -> [databaseUrlVariable: p] }],
  ['testInContainer', 'junit', { p -> [junit: p] }],
  ['testInContainer', 'args[1]', { p -> [args: ['-k', p]] }],
  ['testInContainer', 'buildNetwork', { p -> [buildNetwork: p] }],
  ['testInContainer', 'buildArgs key', { p -> [buildArgs: [(p): 'x']] }],
  ['testInContainer', 'buildArgs.PIP_INDEX_URL', { p -> [buildArgs: [PIP_INDEX_URL: p]] }],
  ['dockerPush', 'image', { p -> [image: p] }],
  ['dockerPush', 'registry', { p -> [registry: p] }],
  ['dockerPush', 'credentialsId', { p -> [credentialsId: p] }],
  ['dockerPush', 'tags[0]', { p -> [tags: [p]] }],
  ['dockerPush', 'context', { p -> [context: p] }],
  ['dockerPush', 'dockerfile', { p -> [dockerfile: p] }],
  ['dockerPush', 'buildArgs key', { p -> [buildArgs: [(p): 'x']] }],
  ['dockerPush', 'buildArgs.NOTE', { p -> [buildArgs: [NOTE: p]] }],
  ['dockerPush', 'deployBranch', { p -> [deployBranch: p] }],
  ['dockerPush', 'buildNetwork', { p -> [buildNetwork: p] }],
  ['terraformPlan', 'dir', { p -> [dir: p] }],
  ['terraformPlan', 'credentialsId', { p -> [credentialsId: p] }],
  ['terraformPlan', 'vars key', { p -> [vars: [(p): 'x']] }],
  ['terraformPlan', 'vars.image', { p -> [vars: [image: p]] }],
  ['terraformPlan', 'varFiles[0]', { p -> [varFiles: [p]] }],
  ['terraformPlan', 'backendConfig key', { p -> [backendConfig: [(p): 'x']] }],
  ['terraformPlan', 'backendConfig.bucket', { p -> [backendConfig: [bucket: p]] }],
  ['terraformPlan', 'requiredVars[0]', { p -> [requiredVars: [p]] }],
  ['terraformPlan', 'deployBranch', { p -> [deployBranch: p] }],
  ['terraformPlan', 'pluginCache', { p -> [pluginCache: p] }],
  ['terraformPlan', 'minVersion', { p -> [minVersion: p] }],
  ['terraformPlan', 'lockTimeout', { p -> [lockTimeout: p] }],
  ['terraformApply', 'dir', { p -> [dir: p] }],
  ['terraformApply', 'credentialsId', { p -> [credentialsId: p] }],
  ['terraformApply', 'plan', { p -> [plan: p] }],
  ['terraformApply', 'sha256', { p -> [sha256: p] }],
  ['terraformApply', 'backendConfig.bucket', { p -> [backendConfig: [bucket: p]] }],
  ['terraformApply', 'deployBranch', { p -> [deployBranch: p] }],
  ['terraformApply', 'lockTimeout', { p -> [lockTimeout: p] }],
]

targets.each { List target ->
  String step = target[0]
  String key = target[1]
  Closure argsFor = target[2]
  payloads.each { String payload ->
    test("${step} ${key} = ${payload.replace('\n', '\\n')} is rejected or passed through intact, and never runs") {
      Build b = new Build()
      try {
        Map base = setups[step](b)
        // A credentials id is looked up, not run: give the store an entry under the payload.
        b.credentials[payload] = step == 'dockerPush' ? b.credentials.dockerhub : b.credentials['aws-deploy']
        String outcome
        try {
          b.step(step, base + argsFor(payload))
          boolean intact = b.toolCalls().any { Map call ->
            call.argv.any { it.contains(payload) } || call.env.values().any { it.contains(payload) }
          } || b.callsOf('withCredentials').any { Map call -> call.args.any { it.credentialsId == payload } }
          assert intact : "${step} accepted ${key} but no tool or binding received it intact"
          outcome = 'intact'
        } catch (StepError e) {
          assert e.message.startsWith("${step}: parameter '${key}' must be") : "${step} failed, but not by rejecting ${key}: ${e.message}"
          outcome = 'rejected'
        }
        assert b.pwned().isEmpty() : "${step} ${key}: an injected command ran (${outcome})"
      } finally {
        b.close()
      }
    }
  }
}
