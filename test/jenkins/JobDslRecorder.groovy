// Stands in for the Job DSL API when testing the controller's Job DSL without a Jenkins: every
// call becomes a node {name, args, children} and the tree of each script is printed as one JSON
// line. Compiling with Debian's groovy (2.4.21, the Groovy of Jenkins) catches syntax errors;
// the test then checks the recorded tree. Usage: groovy JobDslRecorder.groovy SCRIPT...
import groovy.json.JsonOutput
import org.codehaus.groovy.control.CompilerConfiguration

class DslCall {
  String name
  List args = []
  List<DslCall> children = []

  Map toMap() {
    [name: name, args: args.collect { it instanceof GString ? it.toString() : it }, children: children*.toMap()]
  }
}

class DslRecorder {
  final DslCall into

  DslRecorder(DslCall into) { this.into = into }

  static void record(DslCall parent, String name, Object argList) {
    DslCall call = new DslCall(name: name)
    for (Object arg : (argList as Object[])) {
      if (arg instanceof Closure) {
        Closure body = (Closure) arg.clone()
        body.delegate = new DslRecorder(call)
        body.resolveStrategy = Closure.DELEGATE_ONLY
        body.call()
      } else {
        call.args << arg
      }
    }
    parent.children << call
  }

  def methodMissing(String name, Object args) { record(into, name, args); null }

  // Job DSL allows `id = 'x'` inside some contexts; record it as a call too.
  def propertyMissing(String name, Object value) { record(into, name, [value] as Object[]) }
}

abstract class RecordedDslScript extends Script {
  DslCall root = new DslCall(name: 'root')

  def methodMissing(String name, Object args) { DslRecorder.record(root, name, args); null }
}

CompilerConfiguration config = new CompilerConfiguration()
config.scriptBaseClass = RecordedDslScript.name
GroovyShell shell = new GroovyShell(this.class.classLoader, new Binding(), config)
int failures = 0
for (String path : args) {
  try {
    RecordedDslScript script = (RecordedDslScript) shell.parse(new File(path))
    script.run()
    println JsonOutput.toJson([file: path, ok: true, calls: script.root.toMap().children])
  } catch (Throwable problem) {
    failures++
    println JsonOutput.toJson([file: path, ok: false, error: problem.toString()])
  }
}
System.exit(failures == 0 ? 0 : 1)
