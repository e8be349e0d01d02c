// How the Jenkins stand-in decides who may do what, as Jenkins core does: Basic authentication
// with an API token or the user's password (BasicHeaderProcessor), the anonymous user, permissions
// checked one at a time with Jenkins' implication chains (matrix authorization walks `impliedBy`),
// the 403s Jenkins writes for a missing permission (AccessDeniedException3 headers), and CSRF
// crumbs, which Jenkins waives only for requests authenticated with an API token.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** One Jenkins permission: its id (X-Required-Permission), its name in the security matrix, and what implies it. */
interface PermissionInfo {
  title: string;
  impliedBy?: string;
}

/**
 * The permissions the stand-in checks, with `impliedBy` exactly as declared in core
 * (hudson.security.Permission, jenkins.model.Jenkins, hudson.model.Computer, hudson.model.Item).
 */
export const permissions: Record<string, PermissionInfo> = {
  'hudson.model.Hudson.Administer': { title: 'Overall/Administer' },
  'hudson.security.Permission.GenericRead': { title: 'N/A/GenericRead', impliedBy: 'hudson.model.Hudson.Administer' },
  'hudson.security.Permission.GenericWrite': { title: 'N/A/GenericWrite', impliedBy: 'hudson.model.Hudson.Administer' },
  'hudson.security.Permission.GenericCreate': { title: 'N/A/GenericCreate', impliedBy: 'hudson.security.Permission.GenericWrite' },
  'hudson.security.Permission.GenericUpdate': { title: 'N/A/GenericUpdate', impliedBy: 'hudson.security.Permission.GenericWrite' },
  'hudson.security.Permission.GenericDelete': { title: 'N/A/GenericDelete', impliedBy: 'hudson.security.Permission.GenericWrite' },
  'hudson.security.Permission.GenericConfigure': { title: 'N/A/GenericConfigure', impliedBy: 'hudson.security.Permission.GenericUpdate' },
  'hudson.model.Hudson.Read': { title: 'Overall/Read', impliedBy: 'hudson.security.Permission.GenericRead' },
  'hudson.model.Computer.Configure': { title: 'Agent/Configure', impliedBy: 'hudson.security.Permission.GenericConfigure' },
  'hudson.model.Computer.ExtendedRead': { title: 'Agent/ExtendedRead', impliedBy: 'hudson.model.Computer.Configure' },
  'hudson.model.Computer.Delete': { title: 'Agent/Delete', impliedBy: 'hudson.security.Permission.GenericDelete' },
  'hudson.model.Computer.Create': { title: 'Agent/Create', impliedBy: 'hudson.security.Permission.GenericCreate' },
  'hudson.model.Computer.Disconnect': { title: 'Agent/Disconnect', impliedBy: 'hudson.model.Hudson.Administer' },
  'hudson.model.Computer.Connect': { title: 'Agent/Connect', impliedBy: 'hudson.model.Computer.Disconnect' },
  'hudson.model.Computer.Build': { title: 'Agent/Build', impliedBy: 'hudson.security.Permission.GenericWrite' },
  'hudson.model.Item.Read': { title: 'Job/Read', impliedBy: 'hudson.security.Permission.GenericRead' },
  'hudson.model.Item.Discover': { title: 'Job/Discover', impliedBy: 'hudson.model.Item.Read' },
};

/** The permission ids by the names the security matrix (and casc.yaml) uses. */
export const permissionByTitle: Record<string, string> = Object.fromEntries(Object.entries(permissions).map(([id, p]) => [p.title, id]));

export const Permission = {
  administer: 'hudson.model.Hudson.Administer',
  read: 'hudson.model.Hudson.Read',
  agentCreate: 'hudson.model.Computer.Create',
  agentConfigure: 'hudson.model.Computer.Configure',
  agentExtendedRead: 'hudson.model.Computer.ExtendedRead',
  agentConnect: 'hudson.model.Computer.Connect',
  agentDisconnect: 'hudson.model.Computer.Disconnect',
  agentDelete: 'hudson.model.Computer.Delete',
  jobRead: 'hudson.model.Item.Read',
} as const;

/** A user of the stand-in: an API token, a password, and the permissions granted (ids). */
export interface JenkinsUser {
  name: string;
  token: string;
  password: string;
  permissions: string[];
}

/** Who a request runs as, and how it proved it. */
export type Caller =
  | { kind: 'anonymous'; name: 'anonymous'; permissions: string[] }
  | { kind: 'token' | 'password'; name: string; permissions: string[] };

/** What the anonymous user is granted: nothing, as casc.yaml's matrix leaves it. */
export const anonymous: Caller = { kind: 'anonymous', name: 'anonymous', permissions: [] };

/** Matrix authorization: a permission is held when it or anything that implies it is granted. */
export function hasPermission(caller: Caller, permission: string): boolean {
  for (let p: string | undefined = permission; p; p = permissions[p]?.impliedBy) {
    if (caller.permissions.includes(p)) return true;
  }
  return false;
}

function equalSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * BasicHeaderProcessor: no Authorization header is the anonymous user; `user:secret` is tried as an
 * API token first (BasicHeaderApiTokenAuthenticator, which marks the request exempt from crumbs),
 * then as the password (BasicHeaderRealPasswordAuthenticator); neither is a 401.
 */
export function authenticate(headers: IncomingMessage['headers'], users: JenkinsUser[]): Caller | { refused: string } {
  const header = headers.authorization;
  if (!header || !/^basic /i.test(header)) return anonymous;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return { refused: 'Malformed HTTP basic Authorization header' };
  const name = decoded.slice(0, colon);
  const secret = decoded.slice(colon + 1);
  const user = users.find((u) => u.name === name);
  if (user && equalSecret(secret, user.token)) return { kind: 'token', name, permissions: user.permissions };
  if (user && equalSecret(secret, user.password)) return { kind: 'password', name, permissions: user.permissions };
  return { refused: `Invalid password/token for user: ${name}` };
}

/** DefaultCrumbIssuer.issueCrumb: a digest of the user's name and the HTTP session, salted. */
export function crumbFor(salt: string, user: string, session: string): string {
  return createHmac('sha256', salt).update(`${user};${session}`).digest('hex');
}

/** The session a request carries in its JSESSIONID cookie (Jetty names it JSESSIONID.<node>). */
export function sessionOf(headers: IncomingMessage['headers']): string | undefined {
  const cookie = String(headers.cookie ?? '');
  const m = /(?:^|;\s*)JSESSIONID\.[^=]*=node0([0-9a-f]+)\.node0/.exec(cookie);
  return m?.[1];
}

/**
 * CrumbFilter: a POST is let through when it was authenticated with an API token (ApiCrumbExclusion)
 * or carries the crumb of its user and session in the `Jenkins-Crumb` header or form field.
 */
export function crumbAccepted(caller: Caller, salt: string, headers: IncomingMessage['headers'], form: URLSearchParams): boolean {
  if (caller.kind === 'token') return true;
  const crumb = String(headers['jenkins-crumb'] ?? form.get('Jenkins-Crumb') ?? '');
  const session = sessionOf(headers);
  if (!crumb || !session) return false;
  return equalSecret(crumb, crumbFor(salt, caller.name, session));
}
