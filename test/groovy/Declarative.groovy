// A model of Declarative Pipeline, enough to interpret the bank's Jenkinsfile: `pipeline`, `agent`
// (none, label), `options`, `stages` (also nested in a stage), `stage`, `when` (branch,
// changeRequest, buildingTag, environment, not, anyOf, allOf, beforeAgent, beforeInput), `input`,
// `steps`, `script` and `post` (always, success, failure). Stages run in order; a failing stage runs
// its post and skips the rest, as Jenkins does. The order within a stage is Declarative's: options,
// then `when` if beforeInput, the input, `when` (if not yet), the agent, the steps. A stage runs on
// its own agent or its parent's: an input inside one is answered while that executor is held,
// which the run records. Steps (the input too) go to `dispatch`: a recorder by default, or the
// library's real vars through a Build.
class Declarative {
  Object agent
  final Map<String, Object> options = [:]
  final List<Stage> stages = []
  final Map<String, Closure> post = [:]

  static class Stage {
    String name
    String label
    boolean beforeAgent
    boolean beforeInput
    final List<Closure> conditions = []
    final Map<String, Object> options = [:]
    /** The input directive's body, evaluated when the stage is reached (its message reads env). */
    Closure input
    Closure steps
    final List<Stage> stages = []
    final Map<String, Closure> post = [:]
  }

  /** What happened to one stage in a run. */
  static class StageRun {
    String name
    /** The label of the agent the stage's steps ran on (its own or its parent's). */
    String label
    boolean ran
    String result
    final List<Map> steps = []
    /** The input asked, as the `input` step got it; null when the stage has none or skipped before it. */
    Map input
    /** The label of the agent held while the input waited (null: none). */
    String agentDuringInput
    Map<String, Object> options
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
    // Declarative refuses a pipeline that names two stages alike, nested ones included.
    List<String> names = model.allStages()*.name
    List<String> repeated = names.findAll { n -> names.count(n) > 1 }.unique()
    if (repeated) {
      throw new StepError("Duplicate stage name: ${repeated.join(', ')}")
    }
    return model
  }

  List<Stage> allStages(List<Stage> from = stages) {
    from.collectMany { [it] + allStages(it.stages) }
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
    void options(Closure body) { Declarative.with(body, new OptionsDsl(stage.options)) }
    void input(Closure body) { stage.input = body }
    void steps(Closure body) { stage.steps = body }
    void stages(Closure body) { Declarative.with(body, new StagesDsl(stage.stages)) }
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
    void beforeInput(boolean value) { stage.beforeInput = value }
    void branch(String pattern) { conditions << { Map env -> glob(pattern, env.BRANCH_NAME) } }
    void buildingTag() { conditions << { Map env -> env.TAG_NAME != null } }
    void environment(Map args) { conditions << { Map env -> env[args.name] == args.value } }
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
   * returns its result; a StepError from it fails the stage. Returns every stage, run or not,
   * nested ones after their parent.
   */
  List<StageRun> run(Map<String, Object> env, Closure dispatch = { String name, Object args -> null }) {
    List<StageRun> runs = []
    runStages(stages, null, env, dispatch, runs, [failed: false])
    return runs
  }

  private void runStages(List<Stage> list, String parentLabel, Map<String, Object> env, Closure dispatch, List<StageRun> runs, Map state) {
    for (Stage stage in list) {
      String label = stage.label ?: parentLabel
      StageRun r = new StageRun(name: stage.name, label: label, options: stage.options)
      runs << r
      if (state.failed) {
        r.result = 'skipped after a failure'
        skipNested(stage, runs, r.result)
        continue
      }
      boolean evaluated = false
      if (stage.beforeInput || stage.input == null) {
        evaluated = true
        if (!stage.conditions.every { it(env) }) {
          r.result = 'skipped by when'
          skipNested(stage, runs, r.result)
          continue
        }
      }
      StepsDsl steps = new StepsDsl(env, r, dispatch)
      if (stage.input != null) {
        InputDsl input = new InputDsl(env)
        Declarative.with(stage.input, input)
        r.input = input.args
        // The stage's own agent comes after its input: only a parent's agent is held meanwhile.
        r.agentDuringInput = parentLabel
        try {
          Object approver = dispatch('input', input.args)
          if (input.args.submitterParameter) {
            env[input.args.submitterParameter.toString()] = approver
          }
        } catch (StepError e) {
          r.ran = false
          r.result = "ABORTED: ${e.message}"
          state.failed = true
          skipNested(stage, runs, 'skipped after a failure')
          continue
        }
        if (!evaluated && !stage.conditions.every { it(env) }) {
          r.result = 'skipped by when'
          skipNested(stage, runs, r.result)
          continue
        }
      }
      r.ran = true
      boolean failed = false
      if (stage.stages) {
        runStages(stage.stages, label, env, dispatch, runs, state)
        failed = state.failed
      } else {
        try {
          Declarative.with(stage.steps, steps)
        } catch (StepError e) {
          r.result = "FAILURE: ${e.message}"
          failed = true
        }
      }
      r.result = r.result ?: (failed ? 'FAILURE' : 'SUCCESS')
      ['always', failed ? 'failure' : 'success'].each { String when ->
        if (stage.post[when]) Declarative.with(stage.post[when], steps)
      }
      if (failed) state.failed = true
    }
  }

  private static void skipNested(Stage stage, List<StageRun> runs, String result) {
    stage.stages.each { Stage inner ->
      runs << new StageRun(name: inner.name, label: inner.label, ran: false, result: result, options: inner.options)
      skipNested(inner, runs, result)
    }
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

// The input directive: message, ok, submitter, submitterParameter (each one value), evaluated
// when the stage is reached, so its message can read what earlier stages put in env.
class InputDsl {
  final Map<String, Object> env
  final Map<String, Object> args = [:]
  InputDsl(Map<String, Object> env) { this.env = env }
  Object methodMissing(String name, Object values) {
    Object[] a = (Object[]) values
    args[name] = a[0] instanceof GString ? a[0].toString() : a[0]
    return null
  }
}

// Steps inside `steps {}` and `post {}`: `script {}` runs its body, everything else is dispatched.
// A bare name reads the build's environment, as in Jenkins (`${APPROVED_BY}`).
class StepsDsl {
  final Map<String, Object> env
  final Declarative.StageRun run
  final Closure dispatch
  StepsDsl(Map<String, Object> env, Declarative.StageRun run, Closure dispatch) { this.env = env; this.run = run; this.dispatch = dispatch }
  Object script(Closure body) { Declarative.with(body, this) }
  Object propertyMissing(String name) {
    if (!env.containsKey(name)) throw new MissingPropertyException(name, StepsDsl)
    return env[name]
  }
  Object methodMissing(String name, Object args) {
    Object[] a = (Object[]) args
    run.steps << [step: name, args: a.length == 1 ? a[0] : a.toList()]
    return dispatch(name, a.length == 0 ? [:] : a[0])
  }
}
