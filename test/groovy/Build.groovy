import org.codehaus.groovy.control.CompilerConfiguration
import org.codehaus.groovy.control.customizers.ImportCustomizer

// One Jenkins build on one agent, as the shared library sees it: a temporary workspace, `env`,
// `currentBuild`, a credentials store, and the pipeline steps the library calls. `sh` really
// runs its script with /bin/sh -xe in the workspace (as Jenkins does); tools that must not run
// for real here (docker, terraform, python) are recorders on PATH. Every step call is recorded
// so a case can check what the library did and that no secret reached a Groovy string.
class Build {
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
  final Map<String, Map> credentials = [:]
  final List<Map> calls = []
  final StringBuilder log = new StringBuilder()
  final List<List<String>> frames = []
  final List<String> cleanup = []
  List<String> causes = ['hudson.model.Cause$UserIdCause']
  Closure onInput = { Map args -> true }
  Map<String, Closure> extraSteps = [:]
  int shCount = 0

  static GroovyClassLoader newLoader() {
    CompilerConfiguration config = new CompilerConfiguration()
    ImportCustomizer imports = new ImportCustomizer()
    imports.addImports('com.cloudbees.groovy.cps.NonCPS', 'org.jenkinsci.plugins.workflow.libs.Library')
    config.addCompilationCustomizers(imports)
    GroovyClassLoader gcl = new GroovyClassLoader(Build.classLoader, config)
    gcl.addClasspath(new File(repo, 'test/groovy').path)
    return gcl
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

  /** Every secret in the credentials store. */
  List<String> secrets() {
    credentials.values().collectMany { Map c -> [c.password, c.secretKey].findAll { it != null } }
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
        frames << vars.collect { it.toString() }
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
        File f = new File(workspace, a.file.toString())
        f.parentFile.mkdirs()
        f.setText(a.text.toString(), 'UTF-8')
      },
      readFile: { Object a ->
        String path = a instanceof Map ? a.file : a
        called('readFile', path)
        File f = new File(workspace, path)
        if (!f.file) throw new StepError("${f} does not exist.")
        f.getText('UTF-8')
      },
      fileExists: { String path -> called('fileExists', path); new File(workspace, path).exists() },
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
      input: { Map a ->
        called('input', a)
        if (!onInput(a)) throw new StepError('Rejected by a person')
      },
      lock: { Object a, Closure body ->
        called('lock', a instanceof Map ? a : [resource: a])
        body()
      },
      error: { String message -> called('error', message); throw new StepError(message) },
      echo: { String message -> called('echo', message); log.append(message).append('\n') },
    ]
  }

  Object withCredentials(List bindings, Closure body) {
    called('withCredentials', bindings.collect { Map b -> new LinkedHashMap(b) })
    List<String> frame = []
    bindings.each { Map b ->
      Map c = credentials[b.credentialsId?.toString()]
      if (c == null) throw new StepError("Could not find credentials entry with ID '${b.credentialsId}'")
      if (b.$class == 'UsernamePasswordMultiBinding') {
        if (c.kind != 'usernamePassword') throw new StepError("Credentials '${b.credentialsId}' is of type ${c.kind}, not username/password")
        frame << "${b.usernameVariable}=${c.username}".toString() << "${b.passwordVariable}=${c.password}".toString()
      } else if (b.$class == 'AmazonWebServicesCredentialsBinding') {
        if (c.kind != 'aws') throw new StepError("Credentials '${b.credentialsId}' is of type ${c.kind}, not AWS")
        frame << "${b.accessKeyVariable}=${c.accessKey}".toString() << "${b.secretKeyVariable}=${c.secretKey}".toString()
      } else {
        throw new StepError("unsupported credentials binding ${b}")
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

  /** The environment a `sh` script gets now. */
  Map<String, String> shellEnvironment() {
    Map<String, String> e = [
      PATH: "${bin.path}:/usr/bin:/bin".toString(),
      HOME: new File(dir, 'home').path,
      TMPDIR: new File(dir, 'tmp').path,
      LANG: 'C.UTF-8',
      TF_CLI_CONFIG_FILE: '/dev/null',
      HARNESS_RECORDS: records.path,
    ]
    behaviour.each { k, v -> e["HARNESS_${k}".toString()] = v }
    env.each { k, v -> if (v != null) e[k.toString()] = v.toString() }
    frames.each { List<String> frame ->
      frame.each { String entry ->
        int eq = entry.indexOf('=')
        e[entry.substring(0, eq)] = entry.substring(eq + 1)
      }
    }
    return e
  }

  Object sh(Map a) {
    called('sh', a)
    File script = new File(dir, "tmp/sh-${++shCount}.sh")
    script.setText(a.script.toString(), 'UTF-8')
    File out = new File(dir, "tmp/sh-${shCount}.out")
    File err = new File(dir, "tmp/sh-${shCount}.err")
    ProcessBuilder pb = new ProcessBuilder('/bin/sh', '-xe', script.path).directory(workspace)
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
