// What Jenkins' `error` step and a failing `sh` throw (hudson.AbortException): the build fails
// with this message.
class StepError extends RuntimeException {
  StepError(String message) {
    super(message)
  }
}
