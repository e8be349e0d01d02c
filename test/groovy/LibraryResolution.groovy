// How Jenkins resolves `@Library('NAME[@VERSION]')` against the global libraries of casc.yaml
// (docs/FIDELITY.md, Pipeline (Groovy harness)):
// - pipeline-groovy-lib LibraryAdder: the identifier splits at its first '@'; a name no library
//   has fails the build.
// - LibraryConfiguration.defaultedVersion: no version -> defaultVersion, or "No version specified
//   for library NAME" when there is none; a version (even the default one) -> it only when
//   allowVersionOverride is true, else "Version override not permitted for library NAME".
//   (The ${BRANCH_NAME} form, allowBRANCH_NAME, is not modelled: the bank does not use it.)
class LibraryResolution {
  /** The version Jenkins would load for `identifier`, or the StepError it aborts the build with. */
  static String resolve(String identifier, List<Map> libraries) {
    int at = identifier.indexOf('@')
    String name = at == -1 ? identifier : identifier.substring(0, at)
    String version = at == -1 ? null : identifier.substring(at + 1)
    Map library = libraries.find { it.name == name }
    if (library == null) {
      throw new StepError("Could not find any definition of libraries [${name}]")
    }
    String defaultVersion = library.defaultVersion?.toString()?.trim() ?: null
    if (version == null) {
      if (defaultVersion == null) {
        throw new StepError("No version specified for library ${name}")
      }
      return defaultVersion
    }
    // JCasC leaves a key it is not given at the field's default: allowVersionOverride is true.
    if (library.allowVersionOverride != false) {
      return version
    }
    throw new StepError("Version override not permitted for library ${name}")
  }

  /** The global libraries of jenkins/casc.yaml (run.sh converts it to JSON for this JVM). */
  static List<Map> configured() {
    String path = System.getProperty('casc.json')
    if (path == null) {
      throw new IllegalStateException('casc.json is not set: run the harness through test/groovy/run.sh')
    }
    Map casc = (Map) new groovy.json.JsonSlurper().parse(new File(path))
    return (List<Map>) (casc.unclassified?.globalLibraries?.libraries ?: [])
  }
}
