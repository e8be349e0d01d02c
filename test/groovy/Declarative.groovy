// A model of Declarative Pipeline, enough to interpret the bank's Jenkinsfile: `pipeline`,
// `agent` (none, label), `options`, `stages`, `stage`, `when` (branch, changeRequest, not, anyOf,
// allOf, beforeAgent), `steps`, `script` and `post` (always, success, failure). Stages run in order;
// a failing stage runs its post and skips the rest, as Jenkins does. Steps go to `dispatch`: a
// recorder by default, or the library's real vars through a Build.
class Declarative {
  Object agent
  final Map<String, Object> options = [:]
  final List<Stage> stages = []
  final Map<String, Closure> post = [:]

  static class Stage {
    String name
    String label
    boolean beforeAgent
    final List<Closure> conditions = []
    Closure steps
    final Map<String, Closure> post = [:]
  }

  /** What happened to one stage in a run. */
  static class StageRun {
    String name
    String label
    boolean ran
    String result
    final List<Map> steps = []
  }

  /** The `@Library` identifiers of a Jenkinsfile, as written (`@Library('a') _`, `@Library(['a', 'b']) _`). */
  static List<String> libraryIdentifiers(String source) {
    org.codehaus.groovy.control.CompilationUnit unit = new org.codehaus.groovy.control.CompilationUnit(Build.loader)
    org.codehaus.groovy.control.SourceUnit unitSource = unit.addSource('Jenkinsfile', source)
    unit.compile(org.codehaus.groovy.control.Phases.CONVERSION)
    List<String> identifiers = []
    List<org.codehaus.groovy.ast.AnnotationNode> annotations = []
    unitSource.AST.imports.each { annotations.addAll(it.annotations) }
    unitSource.AST.statementBlock.statements.each { statement ->
      if (statement instanceof org.codehaus.groovy.ast.stmt.ExpressionStatement &&
          statement.expression instanceof org.codehaus.groovy.ast.expr.DeclarationExpression) {
        annotations.addAll(((org.codehaus.groovy.ast.expr.DeclarationExpression) statement.expression).annotations)
      }
    }
    annotations.findAll { it.classNode.nameWithoutPackage == 'Library' }.each { annotation ->
      def value = annotation.getMember('value')
      List items = value instanceof org.codehaus.groovy.ast.expr.ListExpression ? value.expressions : [value]
      items.each { identifiers << it.text }
    }
    return identifiers
  }

  /** The libraries Jenkins would load for this Jenkinsfile (name -> version), resolved as LibraryResolution does. */
  final Map<String, String> libraries = [:]

  static Declarative load(File jenkinsfile, Map<String, Object> env, List<Map> configuredLibraries = LibraryResolution.configured()) {
    Declarative model = new Declarative()
    // Jenkins resolves @Library while compiling the Jenkinsfile: a refusal aborts the build before any stage.
    for (String identifier : libraryIdentifiers(jenkinsfile.getText('UTF-8'))) {
      String name = identifier.contains('@') ? identifier.substring(0, identifier.indexOf('@')) : identifier
      model.libraries[name] = LibraryResolution.resolve(identifier, configuredLibraries)
    }
    Script script = (Script) Build.loader.parseClass(jenkinsfile.getText('UTF-8'), 'Jenkinsfile').newInstance()
    Binding binding = new Binding()
    binding.setVariable('env', env)
    binding.setVariable('pipeline', { Closure body -> model.with(body, new PipelineDsl(model)) })
    // `@Library(...) _` reads the variable `_`.
    binding.setVariable('_', null)
    script.binding = binding
    script.run()
    return model
  }

  static Object with(Closure body, Object delegate) {
    Closure c = (Closure) body.clone()
    c.resolveStrategy = Closure.DELEGATE_FIRST
    c.delegate = delegate
    return c.call()
  }

  static String agentLabel(Closure body) {
    Map found = [:]
    Declarative.with(body, new Object() {
      void label(String l) { found.label = l }
    })
    return found.label
  }

  static class StagesDsl {
    final List<Stage> stages
    StagesDsl(List<Stage> stages) { this.stages = stages }
    void stage(String name, Closure body) {
      Stage s = new Stage(name: name)
      Declarative.with(body, new StageDsl(s))
      stages << s
    }
  }

  static class StageDsl {
    final Stage stage
    StageDsl(Stage stage) { this.stage = stage }
    void agent(Closure body) { stage.label = agentLabel(body) }
    void when(Closure body) { Declarative.with(body, new WhenDsl(stage, stage.conditions)) }
    void steps(Closure body) { stage.steps = body }
    void post(Closure body) { Declarative.with(body, new PostDsl(stage.post)) }
  }

  static boolean glob(String pattern, String value) {
    value != null && value ==~ pattern.replace('.', '\\.').replace('*', '.*').replace('?', '.')
  }

  // Each condition is a closure of env -> boolean.
  static class WhenDsl {
    final Stage stage
    final List<Closure> conditions
    WhenDsl(Stage stage, List<Closure> conditions) { this.stage = stage; this.conditions = conditions }
    void beforeAgent(boolean value) { stage.beforeAgent = value }
    void branch(String pattern) { conditions << { Map env -> glob(pattern, env.BRANCH_NAME) } }
    void changeRequest(Map args = [:]) {
      conditions << { Map env -> env.CHANGE_ID != null && (args.target == null || glob(args.target, env.CHANGE_TARGET)) }
    }
    private List<Closure> nested(Closure body) {
      List<Closure> inner = []
      Declarative.with(body, new WhenDsl(stage, inner))
      return inner
    }
    void not(Closure body) { List<Closure> inner = nested(body); conditions << { Map env -> !inner.every { it(env) } } }
    void allOf(Closure body) { List<Closure> inner = nested(body); conditions << { Map env -> inner.every { it(env) } } }
    void anyOf(Closure body) { List<Closure> inner = nested(body); conditions << { Map env -> inner.any { it(env) } } }
  }

  static class PostDsl {
    final Map<String, Closure> post
    PostDsl(Map<String, Closure> post) { this.post = post }
    void always(Closure body) { post.always = body }
    void success(Closure body) { post.success = body }
    void failure(Closure body) { post.failure = body }
  }

  /**
   * Runs the pipeline for a build with this env. `dispatch(name, args)` performs a step and
   * returns its result; a StepError from it fails the stage. Returns every stage, run or not.
   */
  List<StageRun> run(Map<String, Object> env, Closure dispatch = { String name, Object args -> null }) {
    List<StageRun> runs = []
    boolean failed = false
    for (Stage stage in stages) {
      StageRun r = new StageRun(name: stage.name, label: stage.label)
      runs << r
      if (failed || !stage.conditions.every { it(env) }) {
        r.ran = false
        r.result = failed ? 'skipped after a failure' : 'skipped by when'
        continue
      }
      r.ran = true
      StepsDsl steps = new StepsDsl(env, r, dispatch)
      try {
        Declarative.with(stage.steps, steps)
        r.result = 'SUCCESS'
      } catch (StepError e) {
        r.result = "FAILURE: ${e.message}"
        failed = true
      }
      ['always', failed ? 'failure' : 'success'].each { String when ->
        if (stage.post[when]) Declarative.with(stage.post[when], steps)
      }
    }
    return runs
  }
}

// The DSL delegates with methodMissing/propertyMissing must be top-level classes in Groovy 2.4.
class PipelineDsl {
  final Declarative model
  PipelineDsl(Declarative model) { this.model = model }
  Object propertyMissing(String name) { name }   // `agent none`, `agent any`
  void agent(Object what) { model.agent = what instanceof Closure ? Declarative.agentLabel((Closure) what) : what }
  void options(Closure body) { Declarative.with(body, new OptionsDsl(model.options)) }
  void stages(Closure body) { Declarative.with(body, new Declarative.StagesDsl(model.stages)) }
  void post(Closure body) { Declarative.with(body, new Declarative.PostDsl(model.post)) }
}

class OptionsDsl {
  final Map<String, Object> options
  OptionsDsl(Map<String, Object> options) { this.options = options }
  Object methodMissing(String name, Object args) {
    Object[] a = (Object[]) args
    options[name] = a.length == 0 ? true : a.length == 1 ? a[0] : a.toList()
    return [(name): options[name]]
  }
}

// Steps inside `steps {}` and `post {}`: `script {}` runs its body, everything else is dispatched.
class StepsDsl {
  final Map<String, Object> env
  final Declarative.StageRun run
  final Closure dispatch
  StepsDsl(Map<String, Object> env, Declarative.StageRun run, Closure dispatch) { this.env = env; this.run = run; this.dispatch = dispatch }
  Object script(Closure body) { Declarative.with(body, this) }
  Object methodMissing(String name, Object args) {
    Object[] a = (Object[]) args
    run.steps << [step: name, args: a.length == 1 ? a[0] : a.toList()]
    return dispatch(name, a.length == 0 ? [:] : a[0])
  }
}
