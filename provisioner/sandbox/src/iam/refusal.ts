// What IAM decided against a request, and how the services word it: kept apart from the evaluator
// so that the sandbox loads @cloud-copilot/iam-simulate only when it evaluates (--fleet).

/** One authorisation: an action on one resource ARN (or "*"), with the request's context keys. */
export interface AccessRequest {
  action: string;
  resource: string;
  context?: Record<string, string | string[]>;
}

export interface Refusal {
  request: AccessRequest;
  /** Denied by a Deny statement (rather than allowed by none). */
  explicit: boolean;
  /** "User: ... is not authorized to perform: ACTION on resource: ARN because ..." */
  message: string;
}

/**
 * EC2's UnauthorizedOperation text: the refusal and an "encoded authorization failure message".
 * EC2 encrypts that message for sts:DecodeAuthorizationMessage; the sandbox's is base64 JSON of the
 * same facts (allowed, explicitDeny, the action, resource and context).
 */
export function ec2UnauthorizedMessage(refusal: Refusal): string {
  const encoded = Buffer.from(JSON.stringify({
    allowed: false,
    explicitDeny: refusal.explicit,
    context: { action: refusal.request.action, resource: refusal.request.resource, conditions: refusal.request.context ?? {} },
  })).toString('base64');
  return `You are not authorized to perform this operation. ${refusal.message}. Encoded authorization failure message: ${encoded}`;
}
