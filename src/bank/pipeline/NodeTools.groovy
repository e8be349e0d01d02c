package bank.pipeline

/**
 * Whether the node a step runs on has the step's tool. CPS code: `script` is the calling var
 * (vars/NAME.groovy), through which the pipeline steps withEnv, sh and error are called.
 */
class NodeTools implements Serializable {

  private static final long serialVersionUID = 1L

  /** Fails the build, naming the pools that provide the tool (`hint`), when the node lacks it. */
  static void require(Object script, String step, String command, String hint) {
    int found = 1
    script.withEnv(["STEP_TOOL=${command}"]) {
      found = script.sh(label: "${step}: look for ${command}", returnStatus: true,
          script: 'command -v "$STEP_TOOL" >/dev/null 2>&1')
    }
    if (found != 0) {
      script.error("${step}: ${command} was not found on node ${script.env.NODE_NAME ?: '(unnamed)'}; ${hint}")
    }
  }

}
