import org.codehaus.groovy.control.CompilerConfiguration
import org.codehaus.groovy.control.customizers.ImportCustomizer

// One Jenkins build on one agent, as the shared library sees it: a temporary workspace, `env`,
// `currentBuild`, a credentials store, and the pipeline steps the library calls, with Jenkins'
// semantics where the library depends on them (JenkinsEnv, LibraryResolution, `input` and the
// credentials bindings; docs/FIDELITY.md). `sh` really runs its script with /bin/sh -xe in the
// workspace (as Jenkins does) on a PATH the harness controls: the build's own tools (recorders
// standing in for docker, terraform, python, or real tools a case links) and a fixed set of
// basic commands, never the machine's whole /usr/bin. Every step call is recorded so a case can
// check what the library did and that no secret reached a Groovy string.
class Build {
  /** The commands every build's PATH has (coreutils and the like); anything else a case adds. */
  static final List<String> basicCommands = ['bash', 'sh', 'env', 'cat', 'cp', 'mv', 'rm', 'mkdir', 'rmdir', 'ls',
    'ln', 'chmod', 'date', 'dirname', 'basename', 'readlink', 'realpath', 'sed', 'grep', 'sort', 'head', 'tail',
    'cut', 'tr', 'wc', 'sha256sum', 'id', 'flock', 'mktemp', 'touch', 'find', 'xargs', 'uname', 'true', 'false',
    'sleep', 'tee', 'awk', 'stat', 'tar', 'gzip', 'cmp', 'printf', 'test']
  static File basicBin
  static final File repo = new File(System.getProperty('repo.root', '.')).canonicalFile
  static final GroovyClassLoader loader = newLoader()
  static final Map<String, Class> classes = [:]
  /** The latest build a case made: run.groovy prints the end of its log when the case fails. */
  static Build latest

  final File dir
  final File workspace
  final File bin
  final File records
  final Map<String, Object> env = [:]
  final Map<String, String> behaviour = [:]
  /** The credentials this build can see (its folder's and the controller's GLOBAL ones), by id. */
  final Map<String, Map> credentials = [:]
  final List<Map> calls = []
  final StringBuilder log = new StringBuilder()
  /** What each enclosing withEnv or withCredentials overrides, outermost first. */
  final List<Map<String, String>> frames = []
  final List<String> cleanup = []
  List<String> causes = ['hudson.model.Cause$UserIdCause']
  /**
   * The people who answer an `input`, in order: [id:, groups: [...], admin:, canBuild:, proceed:].
   * An answer from someone the input does not allow is refused and the wait goes on; when no
   * answer is left the wait ends as its timeout would (the build is aborted).
   */
  List<Map> inputAnswers = [[id: 'alice', groups: ['developers', 'deployers'], proceed: true]]
  final List<Map> refusedInputs = []
  /** Files stashed in this build: name -> [relative path: bytes]. */
  final Map<String, Map<String, byte[]>> stashes = [:]
  Map<String, Closure> extraSteps = [:]
  int shCount = 0

  static GroovyClassLoader newLoader() {
    CompilerConfiguration config = new CompilerConfiguration()
    ImportCustomizer imports = new ImportCustomizer()
    imports.addImports('com.cloudbees.groovy.cps.NonCPS', 'org.jenkinsci.plugins.workflow.libs.Library')
    config.addCompilationCustomizers(imports)
    GroovyClassLoader gcl = new GroovyClassLoader(Build.classLoader, config)
    gcl.addClasspath(new File(repo, 'test/groovy').path)
    // The library's own classes, as Jenkins puts a library's src/ on the script's class path.
    gcl.addClasspath(new File(repo, 'src').path)
    return gcl
  }

  /** A directory of links to basicCommands, shared by the builds of this JVM. */
  static synchronized File basicBin() {
    if (basicBin == null) {
      File made = File.createTempDir('harness-basic-bin-', '')
      basicCommands.each { String name ->
        File found = ['/usr/bin', '/bin'].collect { new File(it, name) }.find { it.file && it.canExecute() }
        if (found == null) {
          throw new IllegalStateException("the harness needs ${name} in /usr/bin or /bin (coreutils, sed, grep, gawk, util-linux)")
        }
        java.nio.file.Files.createSymbolicLink(new File(made, name).toPath(), found.toPath())
      }
      Runtime.runtime.addShutdownHook { ['rm', '-rf', '--', made.path].execute().waitFor() }
      basicBin = made
    }
    return basicBin
  }

  /** The class of a script under the repository (compiled once per JVM). */
  static Class scriptClass(String path) {
    synchronized (classes) {
      Class c = classes[path]
      if (c == null) {
        File file = new File(repo, path)
        c = loader.parseClass(file.getText('UTF-8'), file.name.replaceAll(/\W/, '_'))
        classes[path] = c
      }
      return c
    }
  }

  Build() {
    latest = this
    dir = File.createTempDir('library-case-', '')
    workspace = new File(dir, 'workspace')
    bin = new File(dir, 'bin')
    records = new File(dir, 'records')
    [workspace, bin, records, new File(dir, 'home'), new File(dir, 'tmp')]*.mkdirs()
    env.putAll(
      WORKSPACE: workspace.path,
      BUILD_NUMBER: '42',
      BRANCH_NAME: 'main',
      JOB_NAME: 'bank/main',
      NODE_NAME: 'awsDeploy2-i-0abc1234def567890',
      GIT_COMMIT: '0123456789abcdef0123456789abcdef01234567',
      GIT_URL: 'https://github.com/bank/jenkins-fleet.git',
      // Jenkins names it beside the workspace and does not create it.
      WORKSPACE_TMP: "${workspace.path}@tmp".toString(),
    )
    credentials['dockerhub'] = [kind: 'usernamePassword', username: 'bank-ci-bot', password: 'dh-pw-' + UUID.randomUUID()]
    credentials['aws-deploy'] = [kind: 'aws', accessKey: 'AKIA' + UUID.randomUUID().toString().replace('-', '').take(16).toUpperCase(),
                                 secretKey: 'aws-secret-' + UUID.randomUUID()]
  }

  /** Puts recorders for these tools on PATH. */
  Build record(String... tools) {
    File recorder = new File(repo, 'test/groovy/recorder.sh')
    tools.each { String tool -> link(tool, recorder.path) }
    return this
  }

  /** Puts the real tool (found on this JVM's PATH) on the build's PATH. */
  Build real(String tool) {
    File found = System.getenv('PATH').split(':').collect { new File(it, tool) }.find { it.file && it.canExecute() }
    if (found == null) {
      throw new IllegalStateException("${tool} is not on PATH: install it (README.md, The shared library, says how)")
    }
    link(tool, found.path)
    return this
  }

  /** Puts this program on the build's PATH under `name`. */
  Build tool(String name, String path) {
    link(name, path)
    return this
  }

  private void link(String name, String target) {
    File link = new File(bin, name)
    link.delete()
    java.nio.file.Files.createSymbolicLink(link.toPath(), new File(target).toPath())
  }

  /** Writes a file into the workspace. */
  File file(String path, String text) {
    File f = new File(workspace, path)
    f.parentFile.mkdirs()
    f.setText(text, 'UTF-8')
    return f
  }

  // ---- running library steps ----------------------------------------------------------------

  /** Runs vars/NAME.groovy's call(args) in this build and returns its result. */
  Object step(String name, Map args = [:]) {
    Script script = (Script) scriptClass("vars/${name}.groovy").newInstance()
    script.binding = binding()
    return script.invokeMethod('call', [args] as Object[])
  }

  /** Runs a step and returns the StepError it fails with (or fails the case if it passes). */
  StepError failure(String name, Map args = [:]) {
    try {
      step(name, args)
    } catch (StepError e) {
      return e
    }
    throw new AssertionError((Object) "${name}(${args}) was expected to fail the build, but it passed".toString())
  }

  Binding binding() {
    Binding b = new Binding()
    b.setVariable('env', env)
    b.setVariable('currentBuild', currentBuild())
    steps().each { String name, Closure c -> b.setVariable(name, c) }
    extraSteps.each { String name, Closure c -> b.setVariable(name, c) }
    return b
  }

  Object currentBuild() {
    Expando build = new Expando()
    build.number = env.BUILD_NUMBER as Integer
    build.result = null
    build.getBuildCauses = { String type -> causes.findAll { it == type }.collect { [_class: it] } }
    return build
  }

  private void called(String step, Object args) {
    calls << [step: step, args: args]
  }

  /** The recorded calls of one step. */
  List<Map> callsOf(String step) {
    calls.findAll { it.step == step }
  }

  Map<String, Closure> steps() {
    [
      sh: { Object a -> sh(a instanceof Map ? a : [script: a.toString()]) },
      withEnv: { List vars, Closure body ->
        called('withEnv', vars.collect { it.toString() })
        frames << JenkinsEnv.overrides(vars)
        try { body() } finally { frames.remove(frames.size() - 1) }
      },
      withCredentials: { List bindings, Closure body -> withCredentials(bindings, body) },
      usernamePassword: { Map a -> called('usernamePassword', a); [$class: 'UsernamePasswordMultiBinding'] + a },
      libraryResource: { String path ->
        called('libraryResource', path)
        File f = new File(repo, "resources/${path}")
        if (!f.file) throw new StepError("No such library resource ${path} could be found.")
        f.getText('UTF-8')
      },
      writeFile: { Map a ->
        called('writeFile', a)
        File f = resolve(a.file.toString())
        f.parentFile.mkdirs()
        f.setText(a.text.toString(), 'UTF-8')
      },
      readFile: { Object a ->
        String path = a instanceof Map ? a.file : a
        called('readFile', path)
        File f = resolve(path)
        if (!f.file) throw new StepError("${f} does not exist.")
        f.getText('UTF-8')
      },
      fileExists: { String path -> called('fileExists', path); resolve(path).exists() },
      archiveArtifacts: { Object a ->
        Map m = a instanceof Map ? a : [artifacts: a]
        called('archiveArtifacts', m)
        if (!new File(workspace, m.artifacts.toString()).exists() && !m.allowEmptyArchive) {
          throw new StepError("No artifacts found that match the file pattern \"${m.artifacts}\".")
        }
      },
      junit: { Object a ->
        Map m = a instanceof Map ? a : [testResults: a]
        called('junit', m)
        if (!new File(workspace, m.testResults.toString()).exists() && !m.allowEmptyResults) {
          throw new StepError("No test report files were found. Configuration error?")
        }
      },
      input: { Map a -> input(a) },
      stash: { Map a -> stash(a) },
      unstash: { Object a -> unstash(a instanceof Map ? a.name.toString() : a.toString()) },
      dir: { String path, Closure body ->
        called('dir', path)
        String previous = currentDir
        currentDir = new File(path).absolute ? path : new File(currentDirectory(), path).path
        try { body() } finally { currentDir = previous }
      },
      lock: { Object a, Closure body ->
        called('lock', a instanceof Map ? a : [resource: a])
        body()
      },
      error: { String message -> called('error', message); throw new StepError(message) },
      echo: { String message -> called('echo', message); log.append(message).append('\n') },
    ]
  }

  // credentials-binding MultiBinding.getCredentials: the lookup and its two failures, word for word.
  private static final Map<String, String> credentialTypes = [
    usernamePassword: 'Username with password', aws: 'AWS Credentials', string: 'Secret text']
  private static final Map<String, List> bindingTypes = [
    UsernamePasswordMultiBinding: ['usernamePassword', 'com.cloudbees.plugins.credentials.common.StandardUsernamePasswordCredentials'],
    AmazonWebServicesCredentialsBinding: ['aws', 'com.cloudbees.jenkins.plugins.awscredentials.AmazonWebServicesCredentials'],
  ]

  Object withCredentials(List bindings, Closure body) {
    called('withCredentials', bindings.collect { Map b -> new LinkedHashMap(b) })
    Map<String, String> frame = [:]
    bindings.each { Map b ->
      List type = bindingTypes[b.$class?.toString()]
      if (type == null) throw new IllegalStateException("the harness does not model the binding ${b}")
      String id = b.credentialsId?.toString()
      Map c = credentials[id]
      // SYSTEM-scoped credentials serve the controller itself (webhooks), never a build.
      if (c == null || c.scope == 'SYSTEM') throw new StepError("Could not find credentials entry with ID '${id}'")
      if (c.kind != type[0]) {
        throw new StepError("Credentials '${id}' is of type '${credentialTypes[c.kind]}' where '${type[1]}' was expected")
      }
      if (c.kind == 'usernamePassword') {
        frame[b.usernameVariable.toString()] = c.username
        frame[b.passwordVariable.toString()] = c.password
      } else {
        // aws-credentials AmazonWebServicesCredentialsBinding.bind: a role (iamRoleArn) is assumed
        // on the controller and its session token bound too.
        Map keys = c.roleArn ? sessionFor(c) : c
        frame[(b.accessKeyVariable ?: 'AWS_ACCESS_KEY_ID').toString()] = keys.accessKey
        frame[(b.secretKeyVariable ?: 'AWS_SECRET_ACCESS_KEY').toString()] = keys.secretKey
        if (keys.sessionToken) frame[(b.sessionTokenVariable ?: 'AWS_SESSION_TOKEN').toString()] = keys.sessionToken
      }
    }
    // Not recorded as a withEnv call: the values never pass through the library's Groovy code.
    frames << frame
    try {
      return body()
    } finally {
      frames.remove(frames.size() - 1)
    }
  }

  /** The temporary keys an AssumeRole of this credential's role hands out (one set per build). */
  Map sessionFor(Map credential) {
    if (credential.session == null) {
      String id = UUID.randomUUID().toString().replace('-', '').toUpperCase()
      credential.session = [accessKey: 'ASIA' + id.take(16), secretKey: 'session-secret-' + UUID.randomUUID(),
                            sessionToken: 'session-token-' + UUID.randomUUID(), roleArn: credential.roleArn]
    }
    return (Map) credential.session
  }

  /** Every secret a binding could hand out in this build (passwords, keys, session keys). */
  List<String> secrets() {
    credentials.values().collectMany { Map c ->
      [c.password, c.secretKey, c.session?.secretKey, c.session?.sessionToken].findAll { it != null }
    }
  }

  // pipeline-input-step InputStepExecution.canSettle: no submitter -> anyone with Job/Build;
  // administrators always; otherwise the user id or one of the user's groups must be one of the
  // comma-separated names, compared ignoring case (the security realm's default IdStrategy) and
  // not trimmed ("a, b" names " b").
  static boolean canSettle(String submitter, Map person) {
    if (submitter == null) return person.canBuild != false
    if (person.admin) return true
    List<String> names = submitter.split(',').toList()
    return ([person.id] + (person.groups ?: [])).any { String who -> names.any { it.equalsIgnoreCase(who) } }
  }

  Object input(Map a) {
    called('input', a)
    String submitter = a.submitter?.toString()
    for (Map person : inputAnswers) {
      if (!canSettle(submitter, person)) {
        refusedInputs << person
        continue
      }
      if (!person.proceed) throw new StepError("Rejected by ${person.id}")
      return a.submitterParameter ? person.id : null
    }
    throw new StepError('Timeout has been exceeded')
  }

  String currentDir
  File currentDirectory() { currentDir ? new File(currentDir) : workspace }
  /** A path as FilePath.child resolves it: absolute as it is, else under the current directory. */
  File resolve(String path) { new File(path).absolute ? new File(path) : new File(currentDirectory(), path) }

  // workflow-basic-steps StashStep: `includes` relative to the current directory; nothing matched
  // fails the step.
  Object stash(Map a) {
    called('stash', a)
    File from = currentDirectory()
    String include = a.includes?.toString() ?: '**'
    Map<String, byte[]> files = [:]
    from.eachFileRecurse(groovy.io.FileType.FILES) { File f ->
      String relative = from.toPath().relativize(f.toPath()).toString()
      if (include == '**' || relative == include) files[relative] = f.bytes
    }
    if (files.isEmpty()) throw new StepError('No files included in stash ‘' + a.name + '’')
    stashes[a.name.toString()] = files
    return null
  }

  Object unstash(String name) {
    called('unstash', name)
    Map<String, byte[]> files = stashes[name]
    if (files == null) throw new StepError("No such saved stash ‘${name}’")
    files.each { String relative, byte[] bytes ->
      File to = new File(currentDirectory(), relative)
      to.parentFile.mkdirs()
      to.bytes = bytes
    }
    return null
  }

  /**
   * The environment a `sh` script gets now: the agent's (a PATH of this build's tools and the basic
   * commands only), the build's env, then each enclosing withEnv and binding as Jenkins applies them.
   */
  Map<String, String> shellEnvironment() {
    Map<String, String> e = JenkinsEnv.newEnvironment([
      PATH: "${bin.path}:${basicBin().path}".toString(),
      HOME: new File(dir, 'home').path,
      TMPDIR: new File(dir, 'tmp').path,
      LANG: 'C.UTF-8',
      TF_CLI_CONFIG_FILE: '/dev/null',
      HARNESS_RECORDS: records.path,
    ])
    behaviour.each { k, v -> e["HARNESS_${k}".toString()] = v }
    env.each { k, v -> if (v != null) e[k.toString()] = v.toString() }
    frames.each { Map<String, String> frame -> JenkinsEnv.overrideAll(e, frame) }
    return e
  }

  Object sh(Map a) {
    called('sh', a)
    File script = new File(dir, "tmp/sh-${++shCount}.sh")
    script.setText(a.script.toString(), 'UTF-8')
    File out = new File(dir, "tmp/sh-${shCount}.out")
    File err = new File(dir, "tmp/sh-${shCount}.err")
    ProcessBuilder pb = new ProcessBuilder('/bin/sh', '-xe', script.path).directory(currentDirectory())
    pb.environment().clear()
    pb.environment().putAll(shellEnvironment())
    pb.redirectOutput(out).redirectError(err)
    Process p = pb.start()
    p.outputStream.close()
    int status = p.waitFor()
    String stdout = out.getText('UTF-8')
    log.append(a.returnStdout ? '' : stdout).append(err.getText('UTF-8'))
    if (a.returnStatus) {
      return status
    }
    if (status != 0) {
      throw new StepError("script returned exit code ${status}")
    }
    return a.returnStdout ? stdout : null
  }

  // ---- what the recorders saw -----------------------------------------------------------------

  /** Calls of recorded tools, in order: [tool:, argv: [...], env: [:], stdin:]. */
  List<Map> toolCalls(String tool = null) {
    List<File> dirs = (records.listFiles() ?: []) as List<File>
    dirs.sort { it.name }.collect { File d ->
      List<String> argv = new String(d.toPath().resolve('argv').bytes, 'UTF-8').split('\u0000', -1).toList()
      argv = argv.subList(0, argv.size() - 1)
      Map<String, String> e = [:]
      new String(d.toPath().resolve('env').bytes, 'UTF-8').split('\u0000').each { String entry ->
        int eq = entry.indexOf('=')
        if (eq > 0) e[entry.substring(0, eq)] = entry.substring(eq + 1)
      }
      File stdin = new File(d, 'stdin')
      [tool: argv[0], argv: argv.drop(1), env: e, stdin: stdin.exists() ? stdin.getText('UTF-8') : null]
    }.findAll { tool == null || it.tool == tool }
  }

  /** Every string the library handed to a step (scripts, env entries, messages, paths...). */
  List<String> stepStrings() {
    List<String> out = []
    Closure walk
    walk = { Object v ->
      if (v instanceof Map) v.values().each(walk)
      else if (v instanceof Collection) v.each(walk)
      else if (v != null) out << v.toString()
    }
    calls.each { walk(it.args) }
    return out
  }

  /** Files named PWNED anywhere an injected command could have created one. */
  List<File> pwned() {
    List<File> found = []
    [dir, repo, new File('/var/cache/bank-pipeline')].each { File root ->
      if (root == repo) {
        if (new File(repo, 'PWNED').exists()) found << new File(repo, 'PWNED')
      } else if (root.exists()) {
        root.eachFileRecurse { File f -> if (f.name == 'PWNED') found << f }
      }
    }
    return found
  }

  // rm -rf, not File.deleteDir: the latter follows symlinks (a virtualenv's lib64 -> lib).
  void close() {
    (cleanup + [dir.path]).each { String path -> ['rm', '-rf', '--', path].execute().waitFor() }
  }
}
