// The real Docker engine for the harness's docker cases (test/groovy/cases/realEngine.groovy), set up
// with the repository's own scripts: scripts/docker/engine.sh (dockerd on a socket of its own, no
// bridge), base-image.sh (the python:3.11-slim-bookworm stand-in) and pip-index.py (this machine's
// package index on loopback, for the builds). It shares its state directory, and so its layer
// cache, with `npm test -- docker` (BANK_DOCKER_STATE, default ~/.cache/jenkins-fleet/docker-engine)
// and holds that suite's lock while it runs. One engine per JVM, stopped when the JVM ends.
class DockerEngine {
  /** The tools these cases mean to use, and nothing else of the machine. */
  static final String PATH = '/usr/sbin:/usr/bin:/sbin:/bin'
  static final String MARIADB_STAND_IN = 'bank-pipeline-test/mariadb:10.11-stand-in'
  private static DockerEngine started
  /** Why the engine could not start: later cases fail with it rather than wait for the lock again. */
  private static Throwable failed

  final File state
  /** unix://... of the engine, for DOCKER_HOST. */
  String host
  /** --build-arg values that point pip at this machine's package index on loopback. */
  Map<String, String> buildArgs = [:]
  private Process lock
  private Process pipIndex

  private DockerEngine(File state) { this.state = state }

  /** The engine of this JVM, started on first use; fails saying what to install when it cannot run. */
  static synchronized DockerEngine get() {
    if (failed != null) {
      throw new IllegalStateException("the Docker engine did not start: ${failed.message}", failed)
    }
    if (started == null) {
      DockerEngine engine = new DockerEngine(new File(System.getenv('BANK_DOCKER_STATE') ?:
          "${System.getProperty('user.home')}/.cache/jenkins-fleet/docker-engine"))
      try {
        engine.start()
      } catch (Throwable e) {
        failed = e
        engine.stop()
        throw e
      }
      started = engine
      Runtime.runtime.addShutdownHook { engine.stop() }
    }
    return started
  }

  Map<String, String> environment() {
    Map<String, String> env = [PATH: PATH, HOME: System.getProperty('user.home'), LANG: 'C.UTF-8']
    if (host) env.DOCKER_HOST = host
    return env
  }

  /** Runs a command with the engine's environment; its output, or an AssertionError naming it. */
  String run(List<String> command, File directory = Build.repo) {
    ProcessBuilder pb = new ProcessBuilder(command).directory(directory).redirectErrorStream(true)
    pb.environment().clear()
    pb.environment().putAll(environment())
    Process p = pb.start()
    p.outputStream.close()
    String output = p.inputStream.getText('UTF-8')
    if (p.waitFor() != 0) {
      throw new AssertionError((Object) "${command.join(' ')} exited ${p.exitValue()}:\n${output.readLines().takeRight(30).join('\n')}".toString())
    }
    return output
  }

  private void start() {
    ['dockerd': 'docker.io', 'docker': 'docker.io', 'debootstrap': 'debootstrap'].each { String tool, String pkg ->
      if (!PATH.split(':').any { new File(it, tool).canExecute() }) {
        throw new IllegalStateException("${tool} not found: apt-get install ${pkg} (see scripts/system-packages.txt)")
      }
    }
    if (['id', '-u'].execute().text.trim() != '0') {
      throw new IllegalStateException('the Docker engine needs root: run the docker cases as root')
    }
    state.mkdirs()
    // The docker suite's lock (a flock), held by a child process until this JVM stops the engine.
    lock = new ProcessBuilder('flock', new File(state, 'suite.lock').path, 'sh', '-c', 'echo held; exec cat').start()
    if (lock.inputStream.newReader().readLine() != 'held') {
      throw new IllegalStateException("could not take ${state}/suite.lock")
    }
    String line = run(['bash', 'scripts/docker/engine.sh', 'start', state.path]).readLines().find { it.startsWith('DOCKER_HOST=') }
    host = line.substring('DOCKER_HOST='.length())
    run(['bash', 'scripts/docker/base-image.sh', 'python:3.11-slim-bookworm'])
    startPipIndex()
  }

  // The same port as the docker suite's last run when it is free: build arguments are part of the
  // layer cache's key, so the test target's layers are shared.
  private void startPipIndex() {
    File portFile = new File(state, 'pip-index.port')
    for (String port in [portFile.exists() ? portFile.text.trim() : '0', '0']) {
      ProcessBuilder pb = new ProcessBuilder('python3.11', 'scripts/docker/pip-index.py', '--port', port).directory(Build.repo)
      pb.environment().put('PATH', System.getenv('PATH'))
      Process server = pb.start()
      String first = server.inputStream.newReader().readLine()
      if (first) {
        pipIndex = server
        Map urls = (Map) new groovy.json.JsonSlurper().parseText(first)
        urls.each { k, v -> if (v) buildArgs[k.toString()] = v.toString() }
        portFile.text = buildArgs.PIP_INDEX_URL.split(':')[2].split('/')[0]
        return
      }
      server.waitFor()
    }
    throw new IllegalStateException('scripts/docker/pip-index.py printed nothing: is pip configured with an index (pip config list)?')
  }

  /** The stand-in for mariadb:10.11 (test/library/fixtures/mariadb-image), built once. */
  String mariadb() {
    run(['docker', 'build', '--network', 'host', '--tag', MARIADB_STAND_IN, 'test/library/fixtures/mariadb-image'])
    return MARIADB_STAND_IN
  }

  /** Stops what this JVM started (the index, the engine) and gives the lock back. */
  void stop() {
    try {
      pipIndex?.destroy()
      if (host) run(['bash', 'scripts/docker/engine.sh', 'stop', state.path])
    } finally {
      if (lock != null) {
        lock.outputStream.close()
        lock.waitFor()
        lock = null
      }
    }
  }
}
