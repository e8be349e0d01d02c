// Every `sh` in the library and the Jenkinsfile runs a constant script: read from the Groovy AST,
// so no future edit can slip a GString (a value, or a secret) into shell unnoticed.
import org.codehaus.groovy.ast.ClassCodeVisitorSupport
import org.codehaus.groovy.ast.expr.ArgumentListExpression
import org.codehaus.groovy.ast.expr.ConstantExpression
import org.codehaus.groovy.ast.expr.MapExpression
import org.codehaus.groovy.ast.expr.MethodCallExpression
import org.codehaus.groovy.ast.expr.TupleExpression
import org.codehaus.groovy.control.CompilationUnit
import org.codehaus.groovy.control.Phases
import org.codehaus.groovy.control.SourceUnit

// [file, line, how the script is given] of every sh call.
Closure shCalls = { File file ->
  CompilationUnit unit = new CompilationUnit(Build.loader)
  SourceUnit source = unit.addSource(file)
  unit.compile(Phases.CONVERSION)
  List<List> found = []
  def visitor = new ClassCodeVisitorSupport() {
    protected SourceUnit getSourceUnit() { source }
    void visitMethodCallExpression(MethodCallExpression call) {
      if (call.methodAsString == 'sh') {
        List args = call.arguments instanceof TupleExpression ? ((TupleExpression) call.arguments).expressions : [call.arguments]
        def script = args.size() == 1 && args[0] instanceof MapExpression ?
          ((MapExpression) args[0]).mapEntryExpressions.find { it.keyExpression.text == 'script' }?.valueExpression : args[0]
        found << [file.name, call.lineNumber, script instanceof ConstantExpression ? 'constant' : script?.getClass()?.simpleName]
      }
      super.visitMethodCallExpression(call)
    }
  }
  source.AST.classes.each { visitor.visitClass(it) }
  source.AST.statementBlock.visit(visitor)
  return found
}

List<File> files = new File(Build.repo, 'vars').listFiles().findAll { it.name.endsWith('.groovy') }.sort { it.name } +
  new File(Build.repo, 'src').with { File src ->
    List<File> found = []
    src.eachFileRecurse(groovy.io.FileType.FILES) { if (it.name.endsWith('.groovy')) found << it }
    found.sort { it.path }
  } +
  [new File(Build.repo, 'Jenkinsfile')]

files.each { File file ->
  test("every sh in ${file.name} runs a constant script (values only through withEnv)") {
    List<List> calls = shCalls(file)
    if (file.parentFile.name == 'vars') {
      assert calls.size() >= 1 : "expected the step's script in ${file.name}"
    }
    assert calls.findAll { it[2] != 'constant' }.isEmpty()
  }
}

test('the tool check in src/ runs its sh as a constant script too') {
  assert shCalls(new File(Build.repo, 'src/bank/pipeline/NodeTools.groovy'))*.getAt(2) == ['constant']
}

test('the AST check finds an interpolated sh script') {
  File bad = File.createTempFile('interpolated', '.groovy')
  try {
    bad.text = 'def call(Map args) {\n  sh(label: "x", script: "echo ${args.dir}")\n  sh "ls ${args.dir}"\n  sh \'true\'\n}\n'
    assert shCalls(bad)*.getAt(2) == ['GStringExpression', 'GStringExpression', 'constant']
  } finally {
    bad.delete()
  }
}
