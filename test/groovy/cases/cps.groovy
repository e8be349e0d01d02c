// The CPS rules Jenkins imposes on the library, checked on the Groovy AST of every var (the
// harness itself runs plain Groovy, so it cannot notice): @NonCPS methods call no pipeline step,
// and CPS methods pass no closure to Groovy's collection methods (each, collect, ...), which
// run closures outside CPS.
import org.codehaus.groovy.ast.ClassCodeVisitorSupport
import org.codehaus.groovy.ast.MethodNode
import org.codehaus.groovy.ast.expr.ArgumentListExpression
import org.codehaus.groovy.ast.expr.ClosureExpression
import org.codehaus.groovy.ast.expr.MethodCallExpression
import org.codehaus.groovy.control.CompilationUnit
import org.codehaus.groovy.control.Phases
import org.codehaus.groovy.control.SourceUnit

Set<String> steps = ['sh', 'echo', 'error', 'withEnv', 'withCredentials', 'writeFile', 'readFile', 'fileExists',
  'libraryResource', 'archiveArtifacts', 'junit', 'input', 'lock', 'usernamePassword', 'stash', 'unstash', 'dir',
  'timeout'] as Set
Set<String> iterators = ['each', 'eachWithIndex', 'collect', 'collectMany', 'collectEntries', 'find', 'findAll',
  'any', 'every', 'inject', 'sort', 'sum', 'count', 'groupBy', 'with'] as Set

// "method: problem" for each rule broken in the file.
Closure cpsProblems = { File file ->
  CompilationUnit unit = new CompilationUnit(Build.loader)
  SourceUnit source = unit.addSource(file)
  unit.compile(Phases.CONVERSION)
  List<String> problems = []
  source.AST.classes.each { cls ->
    cls.methods.each { MethodNode method ->
      boolean nonCps = method.annotations.any { it.classNode.nameWithoutPackage == 'NonCPS' }
      def visitor = new ClassCodeVisitorSupport() {
        protected SourceUnit getSourceUnit() { source }
        void visitMethodCallExpression(MethodCallExpression call) {
          // In vars/ a step is called on the script itself; in src/ through the script passed in.
          if (nonCps && call.methodAsString in steps && (call.implicitThis || call.objectExpression.text == 'script')) {
            problems << "${method.name}: @NonCPS method calls the step ${call.methodAsString} (line ${call.lineNumber})".toString()
          }
          List args = call.arguments instanceof ArgumentListExpression ? ((ArgumentListExpression) call.arguments).expressions : []
          if (!nonCps && !call.implicitThis && call.methodAsString in iterators && args && args[-1] instanceof ClosureExpression) {
            problems << "${method.name}: CPS method passes a closure to ${call.methodAsString} (line ${call.lineNumber})".toString()
          }
          super.visitMethodCallExpression(call)
        }
      }
      method.code?.visit(visitor)
    }
  }
  return problems
}

List<File> libraryFiles = new File(Build.repo, 'vars').listFiles().findAll { it.name.endsWith('.groovy') }.sort { it.name }
new File(Build.repo, 'src').eachFileRecurse(groovy.io.FileType.FILES) { if (it.name.endsWith('.groovy')) libraryFiles << it }

libraryFiles.each { File file ->
  test("${file.name} keeps the CPS rules: no step in @NonCPS, no closure iteration in CPS code") {
    assert cpsProblems(file) == []
  }
}

test('the library\'s shared classes in src/ are found and checked') {
  assert libraryFiles*.name.containsAll(['StepArguments.groovy', 'NodeTools.groovy'])
}

test('the CPS check finds a step in @NonCPS and a closure iteration in CPS code') {
  File bad = File.createTempFile('cps', '.groovy')
  try {
    bad.text = '''def call(Map args) {
  args.each { k, v -> echo k }
  helper()
}
@NonCPS
def helper() {
  [1, 2].each { echo "${it}" }
  sh 'true'
}
@NonCPS
static void shared(Object script) {
  script.error('x')
}
'''
    assert cpsProblems(bad) == [
      'call: CPS method passes a closure to each (line 2)',
      'helper: @NonCPS method calls the step echo (line 7)',
      'helper: @NonCPS method calls the step sh (line 8)',
      'shared: @NonCPS method calls the step error (line 12)',
    ]
  } finally {
    bad.delete()
  }
}
