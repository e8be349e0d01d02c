// How Jenkins builds the environment of a `sh` step from `withEnv` and `withCredentials`
// (docs/FIDELITY.md, Pipeline (Groovy harness)):
// - workflow-basic-steps EnvStep: an entry without '=' is refused (IllegalArgumentException);
//   the entries of one withEnv go into a map, so a repeated name keeps its last value;
//   they are applied with EnvVars.overrideAll.
// - hudson.EnvVars.override: an empty (or null) value removes the variable; NAME+X=v prepends v
//   to NAME with the path separator (PATH+TOOLS=/opt/bin); names compare ignoring case (EnvVars is
//   a TreeMap with a case-insensitive comparator).
// - credentials-binding BindingStep applies a binding's variables the same way.
class JenkinsEnv {
  /** A Jenkins environment: names compare ignoring case, as EnvVars does. */
  static Map<String, String> newEnvironment(Map<String, String> from = [:]) {
    TreeMap<String, String> env = new TreeMap<String, String>(String.CASE_INSENSITIVE_ORDER)
    env.putAll(from)
    return env
  }

  /** One withEnv's entries as EnvStep keeps them; throws what EnvStep's constructor throws. */
  static Map<String, String> overrides(List entries) {
    Map<String, String> map = [:]
    for (Object entry : entries) {
      String pair = entry.toString()
      int split = pair.indexOf('=')
      if (split == -1) {
        throw new StepError("java.lang.IllegalArgumentException: ${pair}")
      }
      map[pair.substring(0, split)] = pair.substring(split + 1)
    }
    return map
  }

  /** EnvVars.override for each entry. */
  static void overrideAll(Map<String, String> env, Map<String, String> overrides) {
    overrides.each { String key, String value -> override(env, key, value) }
  }

  static void override(Map<String, String> env, String key, String value) {
    if (value == null || value.isEmpty()) {
      env.remove(key)
      return
    }
    int plus = key.indexOf('+')
    if (plus > 0) {
      String real = key.substring(0, plus)
      String current = env[real]
      env[real] = current == null ? value : "${value}:${current}".toString()
      return
    }
    env[key] = value
  }
}
