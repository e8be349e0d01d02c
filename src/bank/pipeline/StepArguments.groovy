package bank.pipeline

import com.cloudbees.groovy.cps.NonCPS

/**
 * The argument rules every step of the bank-pipeline library shares: a step's defaults and rules
 * (rendered into vars/NAME.groovy from fleet.yaml) against what the caller passed. All of it is
 * pure and @NonCPS (no pipeline step is called), except `check`, which fails the build through
 * the calling var's `error` step.
 *
 * A rule is a Map: type ('String', 'Boolean', 'List' of Strings, 'Map' of names to scalars),
 * nullable, pattern (a Java regex the whole text must match), keyPattern (for Map keys),
 * expected (what the pattern means, for the message), valueExpected (what a Map value's pattern
 * means, when it differs from the keys').
 */
class StepArguments implements Serializable {

  private static final long serialVersionUID = 1L

  /** The arguments merged over the defaults, or the build fails listing every problem. */
  static Map check(Object script, String step, Map defaults, Map rules, Map args) {
    List<String> problems = problems(step, defaults, rules, args)
    if (problems) {
      script.error(problems.join('\n'))
    }
    return merge(defaults, args)
  }

  /** Every problem with args, one sentence each naming the step and the key; empty when all is well. */
  @NonCPS
  static List<String> problems(String step, Map defaults, Map rules, Map args) {
    List<String> problems = []
    for (Object name in args.keySet()) {
      String key = name.toString()
      if (!defaults.containsKey(key)) {
        problems << "${step}: unknown parameter '${key}'; the parameters are ${defaults.keySet().join(', ')}".toString()
        continue
      }
      Map rule = rules[key]
      Object value = args[name]
      if (value == null) {
        if (!rule.nullable) {
          problems << "${step}: parameter '${key}' must be a ${rule.type}, got null".toString()
        }
        continue
      }
      problems.addAll(valueProblems(step, key, rule, value))
    }
    return problems
  }

  /** The caller's arguments over the defaults; GStrings become Strings, also inside Lists and Maps. */
  @NonCPS
  static Map merge(Map defaults, Map args) {
    Map merged = [:]
    merged.putAll(defaults)
    for (Object key in args.keySet()) {
      merged[key.toString()] = plain(args[key])
    }
    return merged
  }

  /** Problems of one value against its rule (also used for values a step computes, such as tags). */
  @NonCPS
  static List<String> valueProblems(String step, String key, Map rule, Object value) {
    String found = value.getClass().simpleName
    if (rule.type == 'String') {
      if (value instanceof CharSequence) {
        return patternProblems(step, key, rule.pattern, rule.expected, value.toString())
      }
      return ["${step}: parameter '${key}' must be a String, got ${found}".toString()]
    }
    if (rule.type == 'Boolean') {
      if (value instanceof Boolean) {
        return []
      }
      return ["${step}: parameter '${key}' must be a Boolean (true or false), got ${found}".toString()]
    }
    if (rule.type == 'List') {
      if (value instanceof List) {
        return listProblems(step, key, rule, (List) value)
      }
      return ["${step}: parameter '${key}' must be a List of Strings, got ${found}".toString()]
    }
    if (rule.type == 'Map') {
      if (value instanceof Map) {
        return mapProblems(step, key, rule, (Map) value)
      }
      return ["${step}: parameter '${key}' must be a Map, got ${found}".toString()]
    }
    throw new IllegalArgumentException("${step}: the rule of '${key}' has an unknown type ${rule.type}")
  }

  @NonCPS
  private static List<String> listProblems(String step, String key, Map rule, List items) {
    List<String> problems = []
    int index = 0
    for (Object item in items) {
      if (item instanceof CharSequence) {
        problems.addAll(patternProblems(step, "${key}[${index}]", rule.pattern, rule.expected, item.toString()))
      } else {
        String itemType = item == null ? 'null' : item.getClass().simpleName
        problems << "${step}: parameter '${key}' must be a List of Strings; item ${index} is a ${itemType}".toString()
      }
      index++
    }
    return problems
  }

  // Map keys become environment variable names (TF_VAR_name, build arguments): Jenkins' EnvVars
  // compares names ignoring case, so two keys that differ only in case would silently merge.
  @NonCPS
  private static List<String> mapProblems(String step, String key, Map rule, Map entries) {
    List<String> problems = []
    Map<String, String> seen = [:]
    for (Object entryKey in entries.keySet()) {
      String name = entryKey.toString()
      problems.addAll(patternProblems(step, "${key} key", rule.keyPattern, rule.expected, name))
      String folded = name.toUpperCase(Locale.ROOT)
      if (seen.containsKey(folded)) {
        problems << ("${step}: parameter '${key}' has keys '${seen[folded]}' and '${name}', " +
            'which differ only in case').toString()
      }
      seen[folded] = name
      Object entryValue = entries[entryKey]
      if (entryValue instanceof CharSequence || entryValue instanceof Number || entryValue instanceof Boolean) {
        Object valueExpected = rule.valueExpected ?: rule.expected
        problems.addAll(patternProblems(step, "${key}.${name}", rule.pattern, valueExpected, entryValue.toString()))
      } else {
        String valueType = entryValue == null ? 'null' : entryValue.getClass().simpleName
        problems << "${step}: parameter '${key}.${name}' must be a String, number or Boolean, got ${valueType}"
            .toString()
      }
    }
    return problems
  }

  @NonCPS
  private static List<String> patternProblems(String step, String key, Object pattern, Object expected, String text) {
    if (pattern == null || text ==~ pattern.toString()) {
      return []
    }
    return ["${step}: parameter '${key}' must be ${expected}, got '${text}'".toString()]
  }

  // GStrings become Strings, so values compare and print as the caller wrote them.
  @NonCPS
  private static Object plain(Object value) {
    if (value instanceof CharSequence) {
      return value.toString()
    }
    if (value instanceof List) {
      List copy = []
      for (Object item in value) {
        copy << plain(item)
      }
      return copy
    }
    if (value instanceof Map) {
      Map copy = [:]
      for (Object key in value.keySet()) {
        copy[key.toString()] = plain(value[key])
      }
      return copy
    }
    return value
  }

}
