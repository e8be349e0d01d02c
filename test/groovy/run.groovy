// The shared library's test harness: one JVM runs every case under test/groovy/cases/ (each case
// file compiled once) and prints `N passed, N failed`. `groovy test/groovy/run.groovy [--docker] [FILTER]`
// runs only the cases whose name contains FILTER; --docker runs the real-engine cases instead.
// Exit 1 when a case failed.
import org.codehaus.groovy.control.CompilerConfiguration

File root = new File(System.getProperty('repo.root', '.')).canonicalFile
// --docker: only the cases that need the real Docker engine (cases/realEngine.groovy), which the
// default run leaves to that suite (npm test -- library-docker).
boolean docker = args && args[0] == '--docker'
List<String> rest = docker ? args.drop(1).toList() : (args as List<String>)
String filter = rest ? rest[0] : null

// A case file calls `test(name) { ... }` to add a case.
List<Map> cases = []
File casesDir = new File(root, 'test/groovy/cases')
casesDir.listFiles().findAll { it.name.endsWith('.groovy') && (it.name == 'realEngine.groovy') == docker }.sort { it.name }.each { File file ->
  Binding binding = new Binding()
  binding.setVariable('test', { String name, Closure body -> cases << [file: file.name, name: name, body: body] })
  Script script = (Script) Build.loader.parseClass(file.getText('UTF-8'), file.name).newInstance()
  script.binding = binding
  script.run()
}

int passed = 0
int failed = 0
long started = System.currentTimeMillis()
cases.findAll { filter == null || it.name.contains(filter) }.each { Map c ->
  long t0 = System.currentTimeMillis()
  Build.latest = null
  try {
    c.body()
    passed++
    println "ok   ${c.name} (${System.currentTimeMillis() - t0} ms)"
  } catch (Throwable e) {
    failed++
    println "FAIL ${c.name} [${c.file}]"
    println e.toString().readLines().take(40).collect { "     ${it.take(300)}" }.join('\n')
    if (!(e instanceof AssertionError) && !(e instanceof StepError)) {
      e.stackTrace.findAll { it.fileName?.endsWith('.groovy') }.take(8).each { println "       at ${it}" }
    }
    if (Build.latest?.log) {
      println '     the build log ended with:'
      println Build.latest.log.toString().readLines().takeRight(15).collect { "       | ${it.take(300)}" }.join('\n')
    }
  }
}
println "groovy harness: ${(System.currentTimeMillis() - started) / 1000} s"
println "${passed} passed, ${failed} failed"
System.exit(failed == 0 && passed > 0 ? 0 : 1)
