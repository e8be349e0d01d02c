// The Terraform policy: rules that read the repository's .tf files (parsed to JSON by
// @cdktf/hcl2json, no provider needed) and name every resource that breaks the bank's baseline.
// It sees only what is written in the code: see terraform/README.md for what it cannot see.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { parse as parseYaml } from 'yaml';

/** A parsed HCL body: attributes are values, blocks are arrays of bodies. */
export type Body = Record<string, unknown>;

export interface TfFile {
  /** Path relative to the repository, with `/` separators, e.g. `terraform/app/main.tf`. */
  path: string;
  body: Body;
}

export interface Finding {
  rule: RuleId;
  /** `file: address`, e.g. `terraform/app/main.tf: aws_db_instance.primary`. */
  where: string;
  message: string;
}

export type RuleId =
  | 'open-ingress'
  | 'ssh'
  | 'database'
  | 'imdsv2'
  | 'encrypted-volumes'
  | 'public-ip'
  | 'variables'
  | 'credentials'
  | 'hard-coded-ids'
  | 'region'
  | 'app-regions'
  | 'pinned-versions'
  | 'backend'
  | 'fleet-tags'
  | 'iam-wildcards'
  | 'provisioner-iam'
  | 'agent-iam'
  | 'load-balancers'
  | 'controller-exposure'
  | 'log-encryption'
  | 'kms-key-policies'
  | 'database-network'
  | 'app-container'
  | 'pipeline-roles'
  | 'no-automatic-failover'
  | 'database-controls'
  | 'alarms'
  | 'app-liveness'
  | 'account-settings'
  | 'vpc-endpoints'
  | 'run-lock-table'
  | 'watch-service'
  | 'execution-roles'
  | 'controller-role';

export interface Rule {
  id: RuleId;
  /** One sentence: what the rule demands. */
  description: string;
  check(tree: Tree): Finding[];
}

/** One directory of .tf files: a module or a root configuration. */
export interface Configuration {
  dir: string;
  files: TfFile[];
  /** Root configurations are the directories not under a `modules/` folder. */
  isRoot: boolean;
}

export interface Tree {
  configurations: Configuration[];
  /** YAML data files beside the configurations (terraform/app-topology.yaml), parsed, by path. */
  documents: Record<string, unknown>;
}

/** A resource, data source, module call, provider or variable, with where it was declared. */
interface Declared {
  file: TfFile;
  config: Configuration;
  address: string;
  type: string;
  name: string;
  body: Body;
}

// ---------------------------------------------------------------------------------------------
// Loading

export async function parseFile(path: string, source: string): Promise<TfFile> {
  try {
    return { path, body: (await parse(path, source)) as Body };
  } catch (err) {
    throw new Error(`${path}: not valid HCL: ${(err as Error).message}`, { cause: err });
  }
}

/** Parses in-memory files, keyed by repository-relative path (used by the rule tests); `.yaml` ones are data. */
export async function treeFromSources(sources: Record<string, string>): Promise<Tree> {
  const tf = Object.entries(sources).filter(([path]) => !path.endsWith('.yaml'));
  const files = await Promise.all(tf.map(([path, source]) => parseFile(path, source)));
  const documents = Object.fromEntries(Object.entries(sources).filter(([path]) => path.endsWith('.yaml')).map(([path, source]) => [path, parseYaml(source) as unknown]));
  return treeFromFiles(files, documents);
}

/** Parses every .tf (and .yaml) file under `dir` (skipping `.terraform/`), paths relative to `repoRoot`. */
export async function loadTree(repoRoot: string, dir: string): Promise<Tree> {
  const sources: Record<string, string> = {};
  const walk = (at: string): void => {
    for (const entry of readdirSync(at).sort()) {
      if (entry === '.terraform') continue;
      const full = join(at, entry);
      if (statSync(full).isDirectory()) walk(full);
      else if (entry.endsWith('.tf') || entry.endsWith('.yaml')) sources[relative(repoRoot, full).split(sep).join('/')] = readFileSync(full, 'utf8');
    }
  };
  walk(join(repoRoot, dir));
  return treeFromSources(sources);
}

export function treeFromFiles(files: TfFile[], documents: Record<string, unknown> = {}): Tree {
  const byDir = new Map<string, TfFile[]>();
  for (const file of files) {
    const dir = dirname(file.path);
    byDir.set(dir, [...(byDir.get(dir) ?? []), file]);
  }
  return {
    configurations: [...byDir.entries()].map(([dir, dirFiles]) => ({
      dir,
      files: dirFiles,
      isRoot: !dir.split('/').includes('modules'),
    })),
    documents,
  };
}

export function checkTree(tree: Tree, rules: Rule[] = RULES): Finding[] {
  return rules.flatMap((rule) => rule.check(tree));
}

// ---------------------------------------------------------------------------------------------
// Reading parsed HCL

function asBodies(value: unknown): Body[] {
  if (Array.isArray(value)) return value.filter((v): v is Body => typeof v === 'object' && v !== null);
  if (typeof value === 'object' && value !== null) return [value as Body];
  return [];
}

/** Every `resource "TYPE" "NAME"` (or `data`) of the given types across the tree (or one configuration). */
function declared(tree: Tree, kind: 'resource' | 'data', types: string[], only?: Configuration): Declared[] {
  const found: Declared[] = [];
  for (const config of tree.configurations) {
    if (only !== undefined && config !== only) continue;
    for (const file of config.files) {
      const section = (file.body[kind] ?? {}) as Record<string, Record<string, unknown>>;
      for (const type of types) {
        for (const [name, bodies] of Object.entries(section[type] ?? {})) {
          for (const body of asBodies(bodies)) {
            const address = kind === 'data' ? `data.${type}.${name}` : `${type}.${name}`;
            found.push({ file, config, address, type, name, body });
          }
        }
      }
    }
  }
  return found;
}

/** Named top-level blocks with one label: `variable`, `module`, `output`, `provider`. */
function labelled(config: Configuration, kind: 'variable' | 'module' | 'output' | 'provider'): Declared[] {
  const found: Declared[] = [];
  for (const file of config.files) {
    const section = (file.body[kind] ?? {}) as Record<string, unknown>;
    for (const [name, bodies] of Object.entries(section)) {
      for (const body of asBodies(bodies)) {
        found.push({ file, config, address: `${kind}.${name}`, type: kind, name, body });
      }
    }
  }
  return found;
}

/** The nested blocks named `name`, including the content of `dynamic "name"` blocks. */
function nested(body: Body, name: string): Body[] {
  const direct = asBodies(body[name]);
  const dynamic = asBodies(body.dynamic).flatMap((d) => asBodies(d[name])).flatMap((d) => asBodies(d.content));
  return [...direct, ...dynamic];
}

function isExpression(value: unknown): value is string {
  return typeof value === 'string' && value.includes('${');
}

/** Every string anywhere in a body, with the attribute path that leads to it. */
function strings(value: unknown, path: string[] = []): Array<{ path: string[]; value: string }> {
  if (typeof value === 'string') return [{ path, value }];
  if (Array.isArray(value)) return value.flatMap((v) => strings(v, path));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([k, v]) => strings(v, [...path, k]));
  }
  return [];
}

function asNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return Number(value);
  return undefined;
}

function asBool(value: unknown): boolean | undefined {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  return undefined;
}

/** The configuration a module call's local `source` points at. */
function moduleTarget(tree: Tree, call: Declared): Configuration | undefined {
  const source = call.body.source;
  if (typeof source !== 'string' || !(source.startsWith('./') || source.startsWith('../'))) return undefined;
  const dir = posix.normalize(posix.join(call.config.dir, source)).replace(/\/$/, '');
  return tree.configurations.find((c) => c.dir === dir);
}

/** Every module call, anywhere in the tree, of the configuration `config`. */
function callersOf(tree: Tree, config: Configuration): Declared[] {
  return tree.configurations.flatMap((c) => labelled(c, 'module')).filter((m) => moduleTarget(tree, m) === config);
}

// ---------------------------------------------------------------------------------------------
// What a value can be, as far as the code tells

/**
 * Every value an attribute can take: literals as they are; `${var.NAME}` as what each caller of
 * the module passes for it (or its default, where a caller passes nothing and for root
 * configurations; callers may pass something else at apply time, the README says so);
 * `${each.key}` / `${each.value}` as the elements of the block's `for_each`. `undefined` when the
 * code alone cannot tell (references to resources, locals computed by functions, ...).
 */
function valuesOf(tree: Tree, value: unknown, config: Configuration, owner?: Body, depth = 0): unknown[] | undefined {
  if (depth > 8) return undefined;
  if (!isExpression(value)) return [value];
  const variable = /^\$\{var\.([A-Za-z0-9_-]+)\}$/.exec(value);
  if (variable) return variableValues(tree, config, variable[1]!, depth);
  const each = /^\$\{each\.(key|value)\}$/.exec(value);
  if (each && owner !== undefined) {
    const collections = looseValuesOf(tree, owner.for_each, config, depth + 1);
    if (collections === undefined) return undefined;
    return collections.flatMap((c) => {
      if (Array.isArray(c)) return c;
      if (typeof c === 'object' && c !== null) return each[1] === 'key' ? Object.keys(c) : Object.values(c);
      return [c];
    });
  }
  return undefined;
}

/**
 * For `for_each` expressions: every value of every variable the expression mentions (an
 * over-approximation, e.g. `toset(var.internal ? var.cidrs : [])` gives every element of
 * `var.cidrs` and `var.internal`), or `undefined` if it mentions anything but variables.
 */
function looseValuesOf(tree: Tree, value: unknown, config: Configuration, depth: number): unknown[] | undefined {
  if (!isExpression(value)) return [value];
  const inner = value.slice(2, -1);
  const withoutVars = inner.replace(/\bvar\.[A-Za-z0-9_-]+/g, '');
  if (/\b(local|module|data|each|count|self|aws_[a-z0-9_]+)\.[A-Za-z_]/.test(withoutVars)) return undefined;
  const names = [...inner.matchAll(/\bvar\.([A-Za-z0-9_-]+)/g)].map((m) => m[1]!);
  const out: unknown[] = [];
  for (const name of names) {
    const values = variableValues(tree, config, name, depth);
    if (values === undefined) return undefined;
    out.push(...values);
  }
  // Literal collections written inside the expression ([] or {}) add nothing to iterate over.
  return out.filter((v) => Array.isArray(v) || (typeof v === 'object' && v !== null));
}

function variableValues(tree: Tree, config: Configuration, name: string, depth: number): unknown[] | undefined {
  const variable = labelled(config, 'variable').find((v) => v.name === name);
  const fallback = variable?.body.default;
  const callers = config.isRoot ? [] : callersOf(tree, config);
  if (callers.length === 0) return fallback === undefined ? undefined : [fallback];
  const out: unknown[] = [];
  for (const call of callers) {
    const passed = call.body[name];
    const values = passed === undefined ? (fallback === undefined ? undefined : [fallback]) : valuesOf(tree, passed, call.config, undefined, depth + 1);
    if (values === undefined) return undefined;
    out.push(...values);
  }
  return out;
}

/**
 * Whether an attribute can end up unset: absent or null as written, or a variable that some
 * caller (among `callers`, when given) leaves at a null default or sets to something that can be
 * null. Expressions the code cannot follow count as set.
 */
function mayBeNull(tree: Tree, value: unknown, config: Configuration, within?: Configuration[], depth = 0): boolean {
  if (value === undefined || value === null) return true;
  if (depth > 8 || !isExpression(value)) return false;
  const variable = /^\$\{var\.([A-Za-z0-9_-]+)\}$/.exec(value);
  if (!variable) return false;
  const fallback = labelled(config, 'variable').find((v) => v.name === variable[1])?.body.default;
  const callers = (config.isRoot ? [] : callersOf(tree, config)).filter((c) => within === undefined || within.includes(c.config));
  if (callers.length === 0) return fallback === undefined || fallback === null;
  return callers.some((c) => (c.body[variable[1]!] === undefined ? fallback === undefined || fallback === null : mayBeNull(tree, c.body[variable[1]!], c.config, within, depth + 1)));
}

/** The one value an attribute has, when every way of reaching it agrees; `undefined` otherwise. */
function resolve(tree: Tree, value: unknown, config: Configuration, owner?: Body): unknown {
  const values = valuesOf(tree, value, config, owner);
  if (values === undefined || values.length === 0) return undefined;
  const first = JSON.stringify(values[0]);
  return values.every((v) => JSON.stringify(v) === first) ? values[0] : undefined;
}

// ---------------------------------------------------------------------------------------------
// Reporting

/** Where a finding is: a declaration, a policy statement, or a place written out. */
type Where = Declared | Statement | string;

type Report = (where: Where, message: string) => void;

function whereOf(at: Where): string {
  if (typeof at === 'string') return at;
  if ('sid' in at) return `${at.owner.file.path}: ${at.owner.address} statement ${at.sid}`;
  return `${at.file.path}: ${at.address}`;
}

/** A rule whose check reports findings instead of building them. */
function defineRule(id: RuleId, description: string, check: (tree: Tree, report: Report) => void): Rule {
  return {
    id,
    description,
    check(tree) {
      const out: Finding[] = [];
      check(tree, (at, message) => void out.push({ rule: id, where: whereOf(at), message }));
      return out;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Security group rules, whichever of the three ways they are written

interface SgRule {
  owner: Declared;
  direction: 'ingress' | 'egress';
  /** The `aws_security_group` NAME the rule belongs to, when the code says. */
  group: string | undefined;
  /** Every value the protocol and the ports can take; `undefined` where the code cannot tell. */
  protocols: unknown[] | undefined;
  fromPorts: unknown[] | undefined;
  toPorts: unknown[] | undefined;
  /** CIDRs as resolved; `undefined` for an expression the code alone cannot resolve. */
  cidrs: Array<string | undefined>;
  /** Whether the rule names a security group (or prefix list) instead of addresses. */
  referencesGroup: boolean;
}

function groupName(ref: unknown): string | undefined {
  if (typeof ref !== 'string') return undefined;
  return /aws_security_group\.([A-Za-z0-9_-]+)/.exec(ref)?.[1];
}

/** Stands for the VPC's own range in a rule: private by definition, whatever it is. */
const OWN_VPC = 'the VPC\'s own range';

function cidrList(tree: Tree, value: unknown, config: Configuration, owner: Body): Array<string | undefined> {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string' && /^\$\{aws_vpc\.[A-Za-z0-9_-]+\.cidr_block\}$/.test(value)) return [OWN_VPC];
  const values = valuesOf(tree, value, config, owner);
  if (values === undefined) return [undefined];
  return values.flatMap((v) => (Array.isArray(v) ? v : [v])).map((c) => {
    const r = resolve(tree, c, config, owner);
    return typeof r === 'string' ? r : undefined;
  });
}

function securityGroupRules(tree: Tree): SgRule[] {
  const rules: SgRule[] = [];
  const of = (d: Declared, body: Body, value: unknown): unknown[] | undefined => valuesOf(tree, value, d.config, body);
  for (const sg of declared(tree, 'resource', ['aws_security_group'])) {
    for (const direction of ['ingress', 'egress'] as const) {
      for (const block of nested(sg.body, direction)) {
        rules.push({
          owner: sg,
          direction,
          group: sg.name,
          protocols: of(sg, sg.body, block.protocol),
          fromPorts: of(sg, sg.body, block.from_port),
          toPorts: of(sg, sg.body, block.to_port),
          cidrs: [...cidrList(tree, block.cidr_blocks, sg.config, sg.body), ...cidrList(tree, block.ipv6_cidr_blocks, sg.config, sg.body)],
          referencesGroup: block.security_groups !== undefined || block.prefix_list_ids !== undefined,
        });
      }
    }
  }
  for (const r of declared(tree, 'resource', ['aws_security_group_rule'])) {
    rules.push({
      owner: r,
      direction: resolve(tree, r.body.type, r.config) === 'egress' ? 'egress' : 'ingress',
      group: groupName(r.body.security_group_id),
      protocols: of(r, r.body, r.body.protocol),
      fromPorts: of(r, r.body, r.body.from_port),
      toPorts: of(r, r.body, r.body.to_port),
      cidrs: [...cidrList(tree, r.body.cidr_blocks, r.config, r.body), ...cidrList(tree, r.body.ipv6_cidr_blocks, r.config, r.body)],
      referencesGroup: r.body.source_security_group_id !== undefined || r.body.prefix_list_ids !== undefined,
    });
  }
  for (const direction of ['ingress', 'egress'] as const) {
    for (const r of declared(tree, 'resource', [`aws_vpc_security_group_${direction}_rule`])) {
      rules.push({
        owner: r,
        direction,
        group: groupName(r.body.security_group_id),
        protocols: of(r, r.body, r.body.ip_protocol),
        fromPorts: of(r, r.body, r.body.from_port),
        toPorts: of(r, r.body, r.body.to_port),
        cidrs: [...cidrList(tree, r.body.cidr_ipv4, r.config, r.body), ...cidrList(tree, r.body.cidr_ipv6, r.config, r.body)],
        referencesGroup: r.body.referenced_security_group_id !== undefined || r.body.prefix_list_id !== undefined,
      });
    }
  }
  return rules;
}

/** Security groups (by NAME, per configuration) attached to a load balancer in the same configuration. */
function loadBalancerGroups(tree: Tree): Set<string> {
  const groups = new Set<string>();
  for (const lb of declared(tree, 'resource', ['aws_lb', 'aws_alb'])) {
    for (const s of strings(lb.body.security_groups)) {
      for (const m of s.value.matchAll(/aws_security_group\.([A-Za-z0-9_-]+)/g)) groups.add(`${lb.config.dir}|${m[1]}`);
    }
  }
  return groups;
}

const WORLD = new Set(['0.0.0.0/0', '::/0']);
const ALL_PROTOCOLS = new Set(['-1', 'all', -1]);

function allProtocols(rule: SgRule): boolean {
  return rule.protocols !== undefined && rule.protocols.some((p) => ALL_PROTOCOLS.has(p as string | number));
}

/** Every (from, to) port range the rule can have; `undefined` when the code cannot tell. */
function portRanges(rule: SgRule): Array<[number, number]> | undefined {
  if (rule.fromPorts === undefined || rule.toPorts === undefined) return undefined;
  const froms = rule.fromPorts.map(asNumber);
  const tos = rule.toPorts.map(asNumber);
  if (froms.length === 0 || froms.some((f) => f === undefined) || tos.some((t) => t === undefined)) return undefined;
  // Each value of from_port comes with the to_port written beside it.
  return froms.map((f, i) => [f!, tos[Math.min(i, tos.length - 1)]!]);
}

function portsCover(rule: SgRule, port: number): boolean {
  if (allProtocols(rule)) return true;
  return (portRanges(rule) ?? []).some(([from, to]) => from <= port && port <= to);
}

function describePorts(rule: SgRule): string {
  if (allProtocols(rule)) return 'all ports';
  const ranges = portRanges(rule) ?? [];
  return ranges.map(([from, to]) => (from === to ? `port ${from}` : `ports ${from}-${to}`)).join(', ') || 'unknown ports';
}

// ---------------------------------------------------------------------------------------------
// IAM policy documents (data "aws_iam_policy_document"), read statement by statement

interface Condition {
  test: string;
  variable: string;
  values: string[];
}

interface Statement {
  owner: Declared;
  sid: string;
  effect: 'Allow' | 'Deny';
  actions: string[];
  resources: string[];
  notResources: string[];
  conditions: Condition[];
  /** `principals` blocks: the statement belongs to a resource policy (key, bucket, trust policy). */
  principals: Array<{ type: string; identifiers: string[] }>;
}

/** Replaces `${local.NAME}` by that local's value when the local is a string, a few levels deep. */
function expandLocals(value: string, config: Configuration): string {
  const locals: Record<string, unknown> = Object.assign({}, ...config.files.flatMap((f) => asBodies(f.body.locals)));
  let out = value;
  for (let depth = 0; depth < 5; depth++) {
    const next = out.replace(/\$\{local\.([A-Za-z0-9_]+)\}/g, (whole, name: string) => {
      const v = locals[name];
      return typeof v === 'string' && !/^\$\{.*\}$/.test(v) ? v : whole;
    });
    if (next === out) break;
    out = next;
  }
  return out;
}

function stringList(value: unknown, config: Configuration): string[] {
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return list.map((v) => expandLocals(String(v), config));
}

function policyStatements(tree: Tree, dirSuffix?: string): Statement[] {
  const out: Statement[] = [];
  for (const doc of declared(tree, 'data', ['aws_iam_policy_document'])) {
    if (dirSuffix !== undefined && !doc.config.dir.endsWith(dirSuffix)) continue;
    for (const st of nested(doc.body, 'statement')) {
      out.push({
        owner: doc,
        sid: typeof st.sid === 'string' ? st.sid : '(no sid)',
        effect: st.effect === 'Deny' ? 'Deny' : 'Allow',
        actions: stringList(st.actions, doc.config),
        resources: stringList(st.resources, doc.config),
        notResources: stringList(st.not_resources, doc.config),
        conditions: nested(st, 'condition').map((c) => ({
          test: String(c.test),
          variable: expandLocals(String(c.variable), doc.config),
          values: stringList(c.values, doc.config),
        })),
        principals: nested(st, 'principals').map((p) => ({ type: String(p.type), identifiers: stringList(p.identifiers, doc.config) })),
      });
    }
  }
  return out;
}

function hasCondition(st: Statement, test: string, variable: string, value: string): boolean {
  return st.conditions.some((c) => c.test === test && c.variable === variable && c.values.includes(value));
}

/**
 * Actions that AWS authorises only on "*" and that read without changing anything; and the
 * registry login ecr:GetAuthorizationToken (no resource-level permission in the ECR actions table),
 * which opens no repository by itself: pulling also needs ecr:BatchGetImage on the repository.
 */
const READ_ONLY_ON_ANY = /^[a-z0-9-]+:(Describe|List)[A-Za-z]*$|^ssm:GetCommandInvocation$|^ecr:GetAuthorizationToken$/;

// ---------------------------------------------------------------------------------------------
// The rules

const openIngress = defineRule(
  'open-ingress',
  'No ingress from 0.0.0.0/0 or ::/0, except TCP 80 and 443 on a security group attached to a load balancer; ingress CIDRs must be visible in the code.',
  (tree, report) => {
    const lbGroups = loadBalancerGroups(tree);
    for (const rule of securityGroupRules(tree)) {
      if (rule.direction !== 'ingress') continue;
      if (rule.cidrs.includes(undefined)) {
        report(rule.owner, 'ingress CIDRs come from an expression the policy cannot resolve; use a security group reference or a literal/variable default');
        continue;
      }
      if (!rule.cidrs.some((c) => c !== undefined && WORLD.has(c))) continue;
      const isLb = rule.group !== undefined && lbGroups.has(`${rule.owner.config.dir}|${rule.group}`);
      const tcp = rule.protocols !== undefined && rule.protocols.every((p) => p === 'tcp' || p === '6' || p === 6);
      const ranges = portRanges(rule);
      const webPort = tcp && ranges !== undefined && ranges.every(([from, to]) => from === to && (from === 80 || from === 443));
      if (!isLb) {
        report(rule.owner, `ingress from the whole internet on ${describePorts(rule)} to a security group that is not a load balancer's`);
      } else if (!webPort) {
        report(rule.owner, `load balancer ingress from the whole internet on ${describePorts(rule)}; only TCP 80 and 443 may be open`);
      }
    }
  },
);

const ssh = defineRule(
  'ssh',
  'No security group rule opens port 22 (all-protocol rules included) or hides its ports in an expression, and no instance or launch template carries an SSH key pair.',
  (tree, report) => {
    for (const rule of securityGroupRules(tree)) {
      if (!allProtocols(rule) && portRanges(rule) === undefined) {
        report(rule.owner, `${rule.direction} rule ports come from an expression the policy cannot resolve; write them as literals so port 22 can be ruled out`);
      } else if (portsCover(rule, 22)) {
        report(rule.owner, `${rule.direction} rule covers port 22 (${describePorts(rule)}); the fleet is reached through SSM, never SSH`);
      }
    }
    for (const d of declared(tree, 'resource', ['aws_instance', 'aws_launch_template', 'aws_launch_configuration'])) {
      if (d.body.key_name !== undefined && d.body.key_name !== null) {
        report(d, 'sets key_name: instances are managed through SSM and must not carry an SSH key pair');
      }
    }
  },
);

const database = defineRule(
  'database',
  'Every RDS instance or cluster is private (publicly_accessible absent or false), encrypted (storage_encrypted = true) and backed up (backup_retention_period >= 1).',
  (tree, report) => {
    for (const db of declared(tree, 'resource', ['aws_db_instance', 'aws_rds_cluster'])) {
      const pub = db.body.publicly_accessible;
      if (pub !== undefined && asBool(resolve(tree, pub, db.config)) !== false) {
        report(db, `publicly_accessible is ${JSON.stringify(pub)}; a database must not be reachable from the internet`);
      }
      if (asBool(resolve(tree, db.body.storage_encrypted, db.config)) !== true) {
        report(db, `storage_encrypted is ${JSON.stringify(db.body.storage_encrypted ?? 'absent')}; it must be true`);
      }
      const retention = asNumber(resolve(tree, db.body.backup_retention_period, db.config));
      if (retention === undefined || retention < 1) {
        report(db, `backup_retention_period is ${JSON.stringify(db.body.backup_retention_period ?? 'absent')}; it must be at least 1 day`);
      }
    }
  },
);

const imdsv2 = defineRule(
  'imdsv2',
  'Every instance and launch template requires IMDSv2 (metadata_options { http_tokens = "required" }).',
  (tree, report) => {
    for (const d of declared(tree, 'resource', ['aws_instance', 'aws_launch_template', 'aws_launch_configuration'])) {
      const tokens = nested(d.body, 'metadata_options').map((o) => resolve(tree, o.http_tokens, d.config));
      if (tokens.length === 0 || tokens.some((t) => t !== 'required')) {
        report(d, `metadata_options.http_tokens is ${tokens.length === 0 ? 'absent' : JSON.stringify(tokens[0])}; it must be "required" (IMDSv2 only)`);
      }
    }
  },
);

const encryptedVolumes = defineRule(
  'encrypted-volumes',
  'Every EBS volume is encrypted: aws_ebs_volume, instances\' root and EBS block devices, launch templates\' block device mappings.',
  (tree, report) => {
    const encrypted = (body: Body, d: Declared): boolean => asBool(resolve(tree, body.encrypted, d.config)) === true;
    for (const d of declared(tree, 'resource', ['aws_ebs_volume'])) {
      if (!encrypted(d.body, d)) report(d, 'encrypted is not true');
    }
    for (const d of declared(tree, 'resource', ['aws_instance'])) {
      const roots = nested(d.body, 'root_block_device');
      if (roots.length === 0) report(d, 'has no root_block_device, so its root volume is encrypted only if the AMI or account default says so; declare it with encrypted = true');
      for (const b of [...roots, ...nested(d.body, 'ebs_block_device')]) {
        if (!encrypted(b, d)) report(d, `a block device (${String(b.device_name ?? 'root')}) is not encrypted`);
      }
    }
    for (const d of declared(tree, 'resource', ['aws_launch_template'])) {
      const mappings = nested(d.body, 'block_device_mappings');
      if (mappings.length === 0) report(d, 'has no block_device_mappings, so its volumes are encrypted only if the AMI or account default says so');
      for (const m of mappings) {
        for (const ebs of nested(m, 'ebs')) {
          if (!encrypted(ebs, d)) report(d, `block device ${String(m.device_name ?? '?')} is not encrypted`);
        }
      }
    }
  },
);

const publicIp = defineRule(
  'public-ip',
  'No ECS service, instance or launch template gets a public IP address.',
  (tree, report) => {
    const flag = (value: unknown, d: Declared, what: string): void => {
      if (value !== undefined && asBool(resolve(tree, value, d.config)) !== false) report(d, `${what} is ${JSON.stringify(value)}; it must be false or absent`);
    };
    for (const d of declared(tree, 'resource', ['aws_ecs_service'])) {
      for (const n of nested(d.body, 'network_configuration')) flag(n.assign_public_ip, d, 'network_configuration.assign_public_ip');
    }
    for (const d of declared(tree, 'resource', ['aws_instance'])) flag(d.body.associate_public_ip_address, d, 'associate_public_ip_address');
    for (const d of declared(tree, 'resource', ['aws_launch_template'])) {
      for (const n of nested(d.body, 'network_interfaces')) flag(n.associate_public_ip_address, d, 'network_interfaces.associate_public_ip_address');
    }
  },
);

const variables = defineRule(
  'variables',
  'Every variable has a type and a description; the variables of root configurations, bools aside, also have a validation block.',
  (tree, report) => {
    for (const config of tree.configurations) {
      for (const v of labelled(config, 'variable')) {
        if (v.body.type === undefined) report(v, 'has no type');
        if (typeof v.body.description !== 'string' || v.body.description.trim() === '') report(v, 'has no description');
        // A bool's type already says everything a validation could.
        if (config.isRoot && v.body.type !== '${bool}' && asBodies(v.body.validation).length === 0) report(v, 'is an input of a root configuration and has no validation block');
      }
    }
  },
);

const ACCESS_KEY_ID = /\b(AKIA|ASIA)[A-Z0-9]{16}\b/;
const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;
/** Attribute names that hold a secret; their value may be an expression, never a literal. */
const SECRET_ATTRIBUTE = /(^|_)(password|passwd|secret|secret_key|access_key|token|api_key|secret_string|private_key)(_wo)?$/i;
/** A secret spelled out inside an expression or a heredoc, e.g. jsonencode({ password = "x" }). */
const INLINE_SECRET = /\b(password|passwd|secret_key|secret_access_key|access_key|api_key|token)\b["']?\s*[=:]\s*\\?["'][^"'$\\{][^"']*\\?["']/i;

const credentials = defineRule(
  'credentials',
  'No literal credential: no AWS access key id, private key, literal password/secret/token value, credential in a provider block, or default for a secret variable.',
  (tree, report) => {
    for (const config of tree.configurations) {
      for (const file of config.files) {
        for (const s of strings(file.body)) {
          const at = `${file.path}: ${s.path.join('.')}`;
          if (ACCESS_KEY_ID.test(s.value)) report(at, 'contains an AWS access key id');
          if (PRIVATE_KEY.test(s.value)) report(at, 'contains a private key');
          const attribute = s.path[s.path.length - 1] ?? '';
          const inVariable = s.path[0] === 'variable';
          const isPolicyText = s.path.some((p) => p === 'description' || p === 'error_message' || p === 'condition');
          if (!inVariable && !isPolicyText && SECRET_ATTRIBUTE.test(attribute) && !isExpression(s.value) && s.value !== '') {
            report(at, `${attribute} is a literal; pass it from Secrets Manager, SSM or a sensitive variable without default`);
          } else if (!isPolicyText && INLINE_SECRET.test(s.value)) {
            report(at, 'spells out a secret value inside a string or expression');
          }
        }
      }
      for (const p of labelled(config, 'provider')) {
        for (const key of ['access_key', 'secret_key', 'token']) {
          if (p.body[key] !== undefined) report(p, `sets ${key}: credentials come from the environment (role, profile, OIDC), never from the configuration`);
        }
      }
      for (const v of labelled(config, 'variable')) {
        // db_password holds a secret; db_password_version or db_password_secret_arn do not.
        if (/(password|passwd|secret|token|access_key|secret_key)$/i.test(v.name) && v.body.default !== undefined && v.body.default !== null) {
          report(v, 'is a secret with a default value');
        }
      }
    }
  },
);

const AMI_ID = /\bami-[0-9a-f]{8}(?:[0-9a-f]{9})?\b/;
const ACCOUNT_IN_ARN = /\barn:aws[a-z-]*:[^:]*:[^:]*:\d{12}:/;
const BARE_ACCOUNT = /^\d{12}$/;

const hardCodedIds = defineRule(
  'hard-coded-ids',
  'No AMI id or AWS account id written into the code (AMIs come from SSM public parameters, accounts from aws_caller_identity).',
  (tree, report) => {
    for (const config of tree.configurations) {
      for (const file of config.files) {
        for (const s of strings(file.body)) {
          const at = `${file.path}: ${s.path.join('.')}`;
          if (s.path.some((p) => p === 'description' || p === 'error_message')) continue;
          if (AMI_ID.test(s.value)) report(at, `contains an AMI id (${AMI_ID.exec(s.value)?.[0]}); resolve it from an SSM public parameter`);
          if (ACCOUNT_IN_ARN.test(s.value) || BARE_ACCOUNT.test(s.value)) report(at, 'contains an AWS account id; use data.aws_caller_identity');
        }
      }
    }
  },
);

const REGION_NAME = /\b(us|eu|ap|sa|ca|me|af|il|mx|cn)(-gov|-iso[a-z]?)?-(north|south|east|west|central|northeast|southeast|northwest|southwest)-\d+[a-z]?\b/;

const region = defineRule(
  'region',
  'Regions are parameters: every root configures the aws provider with a region from a variable (or terraform/app-topology.yaml through module.topology), and no region name is written outside variable blocks.',
  (tree, report) => {
    for (const config of tree.configurations) {
      const providers = labelled(config, 'provider').filter((p) => p.name === 'aws');
      if (config.isRoot && providers.length === 0) report(`${config.dir}: provider.aws`, 'root configuration has no provider "aws" block with region = var.…');
      for (const p of providers) {
        // A variable, or the committed topology the app roots share.
        if (!isExpression(p.body.region) || !/\b(var|module\.topology)\./.test(p.body.region)) report(p, `region is ${JSON.stringify(p.body.region ?? 'absent')}; it must come from a variable or the app's topology`);
      }
      for (const file of config.files) {
        for (const [kind, section] of Object.entries(file.body)) {
          // Variable defaults are where a region belongs; provider regions are checked above.
          if (kind === 'variable' || kind === 'provider') continue;
          for (const s of strings(section, [kind])) {
            const m = REGION_NAME.exec(s.value);
            if (m) report(`${file.path}: ${s.path.join('.')}`, `names the region ${m[0]}; take it from a variable or data.aws_region`);
          }
        }
      }
    }
  },
);

const APP_REGIONS = ['us-east-1', 'us-west-2'];
const TOPOLOGY = 'terraform/app-topology.yaml';
/** The roots that read the topology: each region of the app, its shared secrets, its traffic. */
const APP_ROOTS = ['terraform/app', 'terraform/app-secrets', 'terraform/app-traffic'];

interface Topology {
  regions?: Record<string, { role?: string; generation?: number }>;
  traffic?: string;
}

const appRegions = defineRule(
  'app-regions',
  'The app runs in us-east-1 and us-west-2 as terraform/app-topology.yaml says (one writer, customers sent to it), one state per region: terraform/app configures one provider from var.region and calls app-region once, and every app root (terraform/app, app-secrets, app-traffic) reads that topology through modules/app-topology.',
  (tree, report) => {
    const topology = tree.documents[TOPOLOGY] as Topology | undefined;
    if (!topology || typeof topology !== 'object') return report(TOPOLOGY, 'the app\'s topology is missing: nothing says which region writes');
    const regions = topology.regions ?? {};
    for (const r of APP_REGIONS) {
      if (!(r in regions)) report(TOPOLOGY, `does not name ${r}`);
    }
    const writers = Object.entries(regions).filter(([, r]) => r.role === 'writer').map(([name]) => name);
    if (writers.length !== 1) report(TOPOLOGY, `names ${writers.length} writer regions; exactly one database takes writes`);
    else if (topology.traffic !== writers[0]) report(TOPOLOGY, `sends customers to ${String(topology.traffic)}, not to the writer ${writers[0]}`);
    for (const dir of APP_ROOTS) {
      const config = tree.configurations.find((c) => c.dir === dir);
      if (!config) {
        report(dir, `the ${dir} root configuration is missing`);
        continue;
      }
      if (!labelled(config, 'module').some((m) => moduleTarget(tree, m)?.dir === 'terraform/modules/app-topology')) report(dir, 'does not read the topology (module "topology" { source = "../modules/app-topology" })');
    }
    const app = tree.configurations.find((c) => c.dir === 'terraform/app');
    if (!app) return;
    const providers = labelled(app, 'provider').filter((p) => p.name === 'aws');
    if (providers.length !== 1 || providers[0]!.body.alias !== undefined || providers[0]!.body.region !== '${var.region}') {
      report('terraform/app: provider.aws', 'terraform/app must configure exactly one aws provider, region = var.region: one region per state, so either region can be applied while the other is down');
    }
    const regionCalls = labelled(app, 'module').filter((m) => moduleTarget(tree, m)?.dir === 'terraform/modules/app-region');
    if (regionCalls.length !== 1) report('terraform/app', `calls the app-region module ${regionCalls.length} times; once, for var.region`);
  },
);

const pinnedVersions = defineRule(
  'pinned-versions',
  'Every configuration pins its providers (required_providers with source and version) and Terraform itself; modules come from local paths or pinned versions.',
  (tree, report) => {
    for (const config of tree.configurations) {
      const settings = config.files.flatMap((f) => asBodies(f.body.terraform));
      const providers = settings.flatMap((s) => asBodies(s.required_providers));
      const where = `${config.dir}: terraform`;
      if (!settings.some((s) => typeof s.required_version === 'string')) report(where, 'no required_version');
      if (providers.length === 0) report(where, 'no required_providers block');
      for (const block of providers) {
        for (const [name, spec] of Object.entries(block)) {
          const s = (spec ?? {}) as Body;
          if (typeof s.source !== 'string' || typeof s.version !== 'string' || s.version.trim() === '') report(where, `provider ${name} needs both source and version`);
        }
      }
      for (const m of labelled(config, 'module')) {
        const source = m.body.source;
        if (typeof source !== 'string') continue;
        const local = source.startsWith('./') || source.startsWith('../');
        const gitPinned = /^git::|github\.com/.test(source) && /[?&]ref=/.test(source);
        const registryPinned = typeof m.body.version === 'string';
        if (!local && !gitPinned && !registryPinned) report(m, `source ${source} is not pinned (version, or ?ref= for git)`);
      }
    }
  },
);

/** What a backend block may say in the code; the rest (bucket, key, region, table) is per environment. */
const BACKEND_LITERALS = new Set(['encrypt', 'use_lockfile']);

const backend = defineRule(
  'backend',
  'Every root configuration declares a partial backend "s3" {} whose bucket, key, region and lock come from -backend-config.',
  (tree, report) => {
    for (const config of tree.configurations.filter((c) => c.isRoot)) {
      const backends = config.files.flatMap((f) => asBodies(f.body.terraform)).flatMap((t) => asBodies(t.backend));
      const s3 = backends.flatMap((b) => asBodies(b.s3));
      const where = `${config.dir}: terraform.backend`;
      if (s3.length === 0) {
        report(where, 'root configuration has no backend "s3" block');
        continue;
      }
      for (const b of s3) {
        for (const key of Object.keys(b)) {
          if (!BACKEND_LITERALS.has(key)) report(where, `backend "s3" sets ${key} in code; pass it with -backend-config`);
        }
      }
    }
  },
);

/** A jenkins-fleet:* tag written as a key: an object key, or `"jenkins-fleet:x" =` inside an expression. */
const FLEET_TAG_KEY = /["']?jenkins-fleet:[A-Za-z-]+["']?\s*[=:]/;

function objectKeys(value: unknown, path: string[] = []): Array<{ path: string[]; key: string }> {
  if (Array.isArray(value)) return value.flatMap((v) => objectKeys(v, path));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([k, v]) => [{ path, key: k }, ...objectKeys(v, [...path, k])]);
  }
  return [];
}

const fleetTags = defineRule(
  'fleet-tags',
  'No Terraform-managed resource carries a jenkins-fleet:* tag: the provisioner may terminate and run commands on whatever carries jenkins-fleet:fleet, so only the instances it launched may have it.',
  (tree, report) => {
    for (const config of tree.configurations) {
      for (const file of config.files) {
        for (const kind of ['resource', 'provider', 'module', 'locals'] as const) {
          const section = file.body[kind];
          const at = (path: string[]): string => `${file.path}: ${[kind, ...path].join('.')}`;
          for (const k of objectKeys(section)) {
            if (k.key.startsWith('jenkins-fleet:')) report(at(k.path), `sets the tag ${k.key}, which only the provisioner's own instances may carry`);
          }
          for (const s of strings(section)) {
            if (FLEET_TAG_KEY.test(s.value)) report(at(s.path), 'sets a jenkins-fleet:* tag, which only the provisioner\'s own instances may carry');
          }
        }
      }
    }
  },
);

/**
 * Policy documents that are only ever used as permissions boundaries: a boundary grants nothing,
 * it caps what identity policies grant, so an Allow of "*" in it is the usual way to write it.
 */
function boundaryDocuments(tree: Tree): Set<string> {
  const boundaryPolicies = new Set<string>();
  for (const role of declared(tree, 'resource', ['aws_iam_role', 'aws_iam_user'])) {
    const m = /^\$\{aws_iam_policy\.([A-Za-z0-9_-]+)\.arn\}$/.exec(String(role.body.permissions_boundary ?? ''));
    if (m) boundaryPolicies.add(`${role.config.dir}|${m[1]}`);
  }
  const documents = new Set<string>();
  for (const policy of declared(tree, 'resource', ['aws_iam_policy'])) {
    if (!boundaryPolicies.has(`${policy.config.dir}|${policy.name}`)) continue;
    const m = /^\$\{data\.aws_iam_policy_document\.([A-Za-z0-9_-]+)\.json\}$/.exec(String(policy.body.policy ?? ''));
    if (m) documents.add(`${policy.config.dir}|data.aws_iam_policy_document.${m[1]}`);
  }
  return documents;
}

const iamWildcards = defineRule(
  'iam-wildcards',
  'No IAM statement allows every action of a service ("*", "svc:*"), and an identity policy allows Resource "*" only for read-only Describe/List calls and the ECR login (in a resource policy "*" is the resource itself; a permissions boundary grants nothing and may allow "*").',
  (tree, report) => {
    const boundaries = boundaryDocuments(tree);
    for (const st of policyStatements(tree)) {
      if (st.effect !== 'Allow' || boundaries.has(`${st.owner.config.dir}|${st.owner.address}`)) continue;
      for (const action of st.actions) {
        if (action === '*' || action.endsWith(':*')) report(st, `allows ${action}`);
      }
      if (st.resources.includes('*') && st.principals.length === 0) {
        const writes = st.actions.filter((a) => !READ_ONLY_ON_ANY.test(a));
        if (writes.length > 0) report(st, `allows ${writes.join(', ')} on every resource ("*")`);
      }
    }
  },
);

const FLEET_TAG = 'jenkins-fleet:fleet';
const FLEET_VALUE = '${var.fleet}';
const FLEET_PARAMETERS = /:parameter\/jenkins-fleet\/\$\{var\.fleet\}(\/([a-z0-9_-]+\/)*\*)?$/;
const PARAMETER_ACTIONS = /^ssm:(PutParameter|GetParameters?|GetParametersByPath|GetParameterHistory|DeleteParameters?|AddTagsToResource|LabelParameterVersion)$/;

/** What provisioner/src/aws/lease.ts calls: GetItem to read the lock, UpdateItem (conditional) for the rest. */
const RUN_LOCK_ACTIONS = ['dynamodb:GetItem', 'dynamodb:UpdateItem'];

const provisionerIam = defineRule(
  'provisioner-iam',
  'The provisioner\'s policy launches and tags only resources tagged jenkins-fleet:fleet = fleet at creation, terminates and runs AWS-RunShellScript only on instances carrying that tag, keeps parameters only under /jenkins-fleet/<fleet>/, passes only the agent role, and reads and updates only its fleet\'s item of the run lock\'s table.',
  (tree, report) => {
    const dir = 'terraform/modules/provisioner-iam';
    if (!tree.configurations.some((c) => c.dir === dir)) return report(dir, `the ${dir} module is missing`);
    const granted = new Set<string>();
    const requestTagged = (st: Statement): boolean => hasCondition(st, 'StringEquals', `aws:RequestTag/${FLEET_TAG}`, FLEET_VALUE);
    for (const st of policyStatements(tree, dir)) {
      if (st.effect !== 'Allow') continue;
      const flag = (message: string): void => report(st, message);
      for (const action of st.actions) {
        granted.add(action);
        if (action === 'ec2:RunInstances') {
          for (const r of st.resources) {
            if (r === '*') flag('allows RunInstances on "*"');
            else if (/:(instance|volume)\/\*$/.test(r) && !requestTagged(st)) flag(`allows RunInstances on ${r} without aws:RequestTag/${FLEET_TAG} = fleet`);
            else if (r.endsWith('/*') && st.conditions.length === 0) flag(`allows RunInstances on every ${r} without a condition`);
          }
        } else if (action === 'ec2:CreateFleet') {
          for (const r of st.resources) {
            if (r === '*') flag('allows CreateFleet on "*"');
            else if (/:(instance|fleet)\/\*$/.test(r) && !requestTagged(st)) flag(`allows CreateFleet on ${r} without aws:RequestTag/${FLEET_TAG} = fleet`);
            else if (/:launch-template\/\*$/.test(r) && !hasCondition(st, 'StringEquals', `ec2:ResourceTag/${FLEET_TAG}`, FLEET_VALUE)) flag(`allows CreateFleet from any launch template (${r}) without ec2:ResourceTag/${FLEET_TAG} = fleet`);
          }
        } else if (action === 'ec2:CreateLaunchTemplate') {
          if (!requestTagged(st)) flag(`allows CreateLaunchTemplate without aws:RequestTag/${FLEET_TAG} = fleet`);
        } else if (/^ec2:(CreateLaunchTemplateVersion|DeleteLaunchTemplate|ModifyLaunchTemplate)$/.test(action)) {
          if (!hasCondition(st, 'StringEquals', `ec2:ResourceTag/${FLEET_TAG}`, FLEET_VALUE)) flag(`allows ${action} on launch templates without ec2:ResourceTag/${FLEET_TAG} = fleet`);
        } else if (action === 'ec2:CreateTags') {
          // Tagging at creation: by the launch (RunInstances, CreateFleet) or as the pool's launch template is made.
          const creating = st.conditions.filter((c) => c.variable === 'ec2:CreateAction');
          const atLaunch = creating.length > 0 && creating.every((c) => c.test === 'StringEquals' && c.values.length > 0 && c.values.every((v) => ['RunInstances', 'CreateFleet', 'CreateLaunchTemplate'].includes(v))) && requestTagged(st);
          // Later the provisioner marks the fleet's own instance, one key a statement: after a bootstrap
          // (jenkins-fleet:bootstrapped), and watch's record of idleness (jenkins-fleet:idle-since).
          const ownMark =
            hasCondition(st, 'StringEquals', `ec2:ResourceTag/${FLEET_TAG}`, FLEET_VALUE) &&
            ['jenkins-fleet:bootstrapped', 'jenkins-fleet:idle-since'].some((key) => hasCondition(st, 'ForAllValues:StringEquals', 'aws:TagKeys', key)) &&
            st.conditions.filter((c) => c.variable === 'aws:TagKeys').every((c) => c.values.length === 1);
          if (!atLaunch && !ownMark) {
            flag('allows CreateTags other than at creation (ec2:CreateAction = RunInstances, CreateFleet or CreateLaunchTemplate) with the fleet tag, or than the jenkins-fleet:bootstrapped or jenkins-fleet:idle-since key on the fleet\'s instances');
          }
        } else if (/^ec2:(TerminateInstances|StopInstances|RebootInstances|ModifyInstanceAttribute|DeleteTags)$/.test(action)) {
          if (!hasCondition(st, 'StringEquals', `ec2:ResourceTag/${FLEET_TAG}`, FLEET_VALUE)) flag(`allows ${action} on instances without ec2:ResourceTag/${FLEET_TAG} = fleet`);
        } else if (action === 'ssm:SendCommand') {
          for (const r of st.resources) {
            if (/:instance\/\*$/.test(r)) {
              if (!hasCondition(st, 'StringEquals', `ssm:resourceTag/${FLEET_TAG}`, FLEET_VALUE)) flag(`allows SendCommand to ${r} without ssm:resourceTag/${FLEET_TAG} = fleet`);
            } else if (!/:document\/AWS-RunShellScript$/.test(r)) {
              flag(`allows SendCommand on ${r}; only the fleet's instances and the AWS-RunShellScript document`);
            }
          }
        } else if (action === 'ssm:AddTagsToResource') {
          // Storing a secret with its reader tag needs AddTagsToResource: that key only, fleet parameters only.
          const readerOnly = hasCondition(st, 'ForAllValues:StringEquals', 'aws:TagKeys', READER_TAG) && st.conditions.filter((c) => c.variable === 'aws:TagKeys').every((c) => c.values.length === 1);
          if (!readerOnly) flag(`allows AddTagsToResource with other keys than ${READER_TAG} (ForAllValues:StringEquals aws:TagKeys)`);
          for (const r of st.resources) if (!FLEET_PARAMETERS.test(r)) flag(`allows AddTagsToResource on ${r}; only /jenkins-fleet/<fleet>/`);
        } else if (PARAMETER_ACTIONS.test(action)) {
          for (const r of st.resources) {
            const publicAmi = /::parameter\/aws\/service\/\*$/.test(r) && /^ssm:GetParameters?$/.test(action);
            if (!FLEET_PARAMETERS.test(r) && !publicAmi) flag(`allows ${action} on ${r}; only /jenkins-fleet/<fleet>/`);
          }
        } else if (action === 'iam:PassRole') {
          // The deploy agents' role, and the pull-request agents' own when the fleet gives one.
          const agentRoles = ['${var.agent_role_arn}', '${compact([var.agent_role_arn, var.review_agent_role_arn])}'];
          if (st.resources.length !== 1 || !agentRoles.includes(st.resources[0]!)) flag(`allows PassRole on ${st.resources.join(', ')}; only the agent role`);
        } else if (action.startsWith('dynamodb:')) {
          // The run lock: read and conditionally update the fleet's own item of the lock table, nothing else.
          if (!RUN_LOCK_ACTIONS.includes(action)) flag(`allows ${action}; the run lock needs only ${RUN_LOCK_ACTIONS.join(' and ')}`);
          if (st.resources.length !== 1 || st.resources[0] !== '${var.lock_table_arn}') flag(`allows ${action} on ${st.resources.join(', ')}; only the run lock's table (var.lock_table_arn)`);
          if (!hasCondition(st, 'ForAllValues:StringEquals', 'dynamodb:LeadingKeys', 'fleet/${var.fleet}') || st.conditions.filter((c) => c.variable === 'dynamodb:LeadingKeys').some((c) => c.values.length !== 1)) {
            flag(`allows ${action} on other items than the fleet's own lock (ForAllValues:StringEquals dynamodb:LeadingKeys = fleet/\${var.fleet})`);
          }
        }
      }
    }
    for (const needed of ['ec2:RunInstances', 'ec2:TerminateInstances', 'ssm:SendCommand', 'ssm:PutParameter', 'ssm:AddTagsToResource', 'ssm:DeleteParameter', 'iam:PassRole', ...RUN_LOCK_ACTIONS]) {
      if (!granted.has(needed)) report(dir, `the policy never grants ${needed}, which the provisioner needs`);
    }
  },
);

/** The tag on each agent's secret naming the one instance that may read it. */
const READER_TAG = 'jenkins-fleet:instance';
/** `${ec2:SourceInstanceARN}` as the policy writes it (HCL escapes it as `$${...}`). */
const SOURCE_INSTANCE = /^\$?\$\{ec2:SourceInstanceARN\}$/;

const agentIam = defineRule(
  'agent-iam',
  'Agents get AmazonSSMManagedInstanceCore, read only their own secret (tagged jenkins-fleet:instance with their instance ARN; a deny of any other, which the managed policy would allow) under /jenkins-fleet/<fleet>/* (with a deny of every other parameter), decrypt only with the fleet\'s key, and their security group has no ingress.',
  (tree, report) => {
    const dir = 'terraform/modules/agent-iam';
    const config = tree.configurations.find((c) => c.dir === dir);
    if (!config) return report(dir, `the ${dir} module is missing`);
    const statements = policyStatements(tree, dir);
    for (const st of statements) {
      if (st.effect !== 'Allow') continue;
      for (const action of st.actions) {
        if (PARAMETER_ACTIONS.test(action) && st.resources.some((r) => !FLEET_PARAMETERS.test(r) || !r.endsWith('/*'))) report(st, `allows ${action} beyond /jenkins-fleet/<fleet>/*`);
        if (/^ssm:(PutParameter|DeleteParameters?)$/.test(action)) report(st, `allows ${action}: agents only read their secret`);
        if (action.startsWith('kms:') && action !== 'kms:Decrypt') report(st, `allows ${action}: agents only decrypt`);
        if (action === 'kms:Decrypt' && st.resources.some((r) => !/^\$\{(aws_kms_key\.[A-Za-z0-9_]+|module\.[A-Za-z0-9_]+)\.arn\}$/.test(r))) report(st, 'allows kms:Decrypt on something other than the fleet\'s key');
      }
    }
    // Each agent reads its own secret only: the one tagged with its instance's ARN (issue 18).
    const ownReader = (st: Statement, test: string): boolean => st.conditions.some((c) => c.test === test && c.variable === `ssm:resourceTag/${READER_TAG}` && c.values.length === 1 && SOURCE_INSTANCE.test(c.values[0]!));
    for (const st of statements) {
      if (st.effect === 'Allow' && st.actions.some((a) => /^ssm:GetParameters?$/.test(a)) && !ownReader(st, 'StringEquals')) {
        report(st, `allows reading parameters not tagged ${READER_TAG} = \${ec2:SourceInstanceARN}: one agent could read another's secret`);
      }
    }
    if (!statements.some((st) => st.effect === 'Deny' && st.actions.includes('ssm:GetParameter') && st.actions.includes('ssm:GetParameters') && ownReader(st, 'StringNotEquals'))) {
      report(dir, `no Deny of reading a secret whose ${READER_TAG} tag is not the caller's instance: AmazonSSMManagedInstanceCore allows reading every parameter`);
    }
    const denies = statements.some((st) => st.effect === 'Deny' && st.actions.includes('ssm:GetParameter') && st.notResources.length > 0 && st.notResources.every((r) => FLEET_PARAMETERS.test(r)));
    if (!denies) report(dir, 'no Deny of ssm:GetParameter outside /jenkins-fleet/<fleet>/*: AmazonSSMManagedInstanceCore allows reading every parameter');
    const core = declared(tree, 'resource', ['aws_iam_role_policy_attachment'], config).some((d) => String(d.body.policy_arn).endsWith(':policy/AmazonSSMManagedInstanceCore'));
    if (!core) report(dir, 'the agent role has no AmazonSSMManagedInstanceCore attachment');
    for (const rule of securityGroupRules(tree)) {
      if (rule.owner.config === config && rule.direction === 'ingress') report(rule.owner, 'the agents\' security group must have no ingress rule');
    }
  },
);

// --- Load balancers, logs, keys, the database's network, the app's container --------------------

/** `${aws_lb.NAME.arn}` (or .id) names the load balancer NAME. */
function referencesResource(value: unknown, type: string, name: string): boolean {
  return typeof value === 'string' && new RegExp(`\\$\\{${type}\\.${name}\\.(arn|id)\\}`).test(value);
}

const TLS_POLICY = /^ELBSecurityPolicy-TLS13-/;

const loadBalancers = defineRule(
  'load-balancers',
  'Every application load balancer drops invalid headers, logs every request to S3, has a WAF web ACL associated, serves HTTPS with a TLS 1.3 policy and HSTS, and answers plain HTTP only with a redirect to HTTPS.',
  (tree, report) => {
    for (const lb of declared(tree, 'resource', ['aws_lb', 'aws_alb'])) {
      if (resolve(tree, lb.body.load_balancer_type, lb.config) !== undefined && resolve(tree, lb.body.load_balancer_type, lb.config) !== 'application') continue;
      if (asBool(resolve(tree, lb.body.drop_invalid_header_fields, lb.config)) !== true) report(lb, 'drop_invalid_header_fields is not true: malformed headers reach the targets');
      const logs = nested(lb.body, 'access_logs');
      if (logs.length === 0 || logs.some((l) => asBool(resolve(tree, l.enabled, lb.config)) !== true)) report(lb, 'has no enabled access_logs: requests leave no audit trail');
      const sameConfig = (types: string[]): Declared[] => declared(tree, 'resource', types, lb.config);
      if (!sameConfig(['aws_wafv2_web_acl_association']).some((a) => referencesResource(a.body.resource_arn, lb.type, lb.name))) {
        report(lb, 'has no aws_wafv2_web_acl_association: no WAF stands in front of it');
      }
      const listeners = sameConfig(['aws_lb_listener', 'aws_alb_listener']).filter((l) => referencesResource(l.body.load_balancer_arn, lb.type, lb.name));
      if (!listeners.some((l) => resolve(tree, l.body.protocol, l.config) === 'HTTPS')) report(lb, 'has no HTTPS listener');
      for (const l of listeners) {
        const protocol = resolve(tree, l.body.protocol, l.config);
        if (protocol === 'HTTPS') {
          const policy = resolve(tree, l.body.ssl_policy, l.config);
          if (typeof policy !== 'string' || !TLS_POLICY.test(policy)) report(l, `ssl_policy is ${JSON.stringify(l.body.ssl_policy ?? 'absent')}; use an ELBSecurityPolicy-TLS13-* policy`);
          const hsts = resolve(tree, l.body.routing_http_response_strict_transport_security_header_value, l.config) ?? l.body.routing_http_response_strict_transport_security_header_value;
          if (typeof hsts !== 'string' || !/max-age=/.test(hsts)) report(l, 'sets no Strict-Transport-Security header (routing_http_response_strict_transport_security_header_value)');
        } else {
          const actions = nested(l.body, 'default_action');
          if (actions.length === 0 || actions.some((a) => a.type !== 'redirect' || nested(a, 'redirect').some((r) => r.protocol !== 'HTTPS'))) {
            report(l, `the ${String(protocol ?? 'plain')} listener must only redirect to HTTPS`);
          }
        }
      }
    }
    for (const acl of declared(tree, 'resource', ['aws_wafv2_web_acl'])) {
      const rules = nested(acl.body, 'rule');
      const statements = rules.flatMap((r) => nested(r, 'statement'));
      if (!statements.some((s) => nested(s, 'managed_rule_group_statement').length > 0)) report(acl, 'uses no managed rule group');
      if (!statements.some((s) => nested(s, 'rate_based_statement').length > 0)) report(acl, 'has no rate-based rule: one client can flood the targets');
      if (!declared(tree, 'resource', ['aws_wafv2_web_acl_logging_configuration'], acl.config).some((c) => referencesResource(c.body.resource_arn, acl.type, acl.name))) {
        report(acl, 'has no aws_wafv2_web_acl_logging_configuration: its decisions leave no trail');
      }
    }
  },
);

const controllerExposure = defineRule(
  'controller-exposure',
  'The Jenkins controller (terraform/modules/jenkins-controller) is not on the internet: its load balancer is internal, and it has no public IP.',
  (tree, report) => {
    const dir = 'terraform/modules/jenkins-controller';
    const config = tree.configurations.find((c) => c.dir === dir);
    if (!config) return report(dir, `the ${dir} module is missing`);
    const direct = declared(tree, 'resource', ['aws_lb', 'aws_alb'], config);
    const viaModule = labelled(config, 'module').filter((m) => moduleTarget(tree, m)?.dir.endsWith('/https-alb'));
    if (direct.length + viaModule.length === 0) report(dir, 'the controller has no load balancer');
    for (const lb of direct) {
      if (asBool(resolve(tree, lb.body.internal, config)) !== true) report(lb, 'the controller\'s load balancer is internet-facing; make it internal (internal = true)');
    }
    for (const m of viaModule) {
      if (asBool(resolve(tree, m.body.internal, config)) !== true) report(m, 'the controller\'s load balancer is internet-facing; make it internal (internal = true)');
    }
  },
);

const logEncryption = defineRule(
  'log-encryption',
  'Every CloudWatch log group is encrypted under a customer-managed KMS key (kms_key_id set, never null).',
  (tree, report) => {
    for (const group of declared(tree, 'resource', ['aws_cloudwatch_log_group'])) {
      const key = group.body.kms_key_id;
      // An expression the code cannot follow (a module output, a resource's ARN) names a key;
      // what is flagged is a missing key or one that can be null.
      if (mayBeNull(tree, key, group.config)) {
        report(group, `kms_key_id is ${JSON.stringify(key ?? 'absent')}${key === undefined ? '' : ', which can be null'}; encrypt the log group under a customer-managed key`);
      }
    }
  },
);

const kmsKeyPolicies = defineRule(
  'kms-key-policies',
  'Every KMS key (and replica key) carries an explicit key policy instead of the default one.',
  (tree, report) => {
    for (const key of declared(tree, 'resource', ['aws_kms_key', 'aws_kms_replica_key'])) {
      if (key.body.policy === undefined) report(key, 'has no policy: the default key policy lets any IAM policy of the account use and administer it without saying how');
    }
  },
);

/** Ports of the databases the tree creates (MySQL unless a port is written). */
const DATABASE_PORTS = [3306, 5432, 1433, 1521];

const databaseNetwork = defineRule(
  'database-network',
  'Connections to a database port go to the database\'s security group only: no egress or ingress rule on a database port names an address range.',
  (tree, report) => {
    for (const rule of securityGroupRules(tree)) {
      const port = DATABASE_PORTS.find((p) => !allProtocols(rule) && portsCover(rule, p));
      if (port !== undefined && rule.cidrs.length > 0 && !rule.referencesGroup) {
        report(rule.owner, `${rule.direction} on port ${port} to an address range; name the database's (or the clients') security group instead`);
      }
    }
  },
);

/** The text of the locals `name` refers to, with `local.X` references inside it written out. */
function localText(config: Configuration, name: string, depth = 0): string | undefined {
  const locals: Record<string, unknown> = Object.assign({}, ...config.files.flatMap((f) => asBodies(f.body.locals)));
  const raw = locals[name];
  if (raw === undefined) return undefined;
  const text = typeof raw === 'string' ? raw : JSON.stringify(raw);
  if (depth > 5) return text;
  return text.replace(/\blocal\.([A-Za-z0-9_]+)/g, (whole, ref: string) => localText(config, ref, depth + 1) ?? whole);
}

const appContainer = defineRule(
  'app-container',
  'The app\'s container (terraform/modules/app-region: local.app_container, or the task definition) runs the image\'s own command (no command or entryPoint override, no shell wrapper), passes DB_HOST, DB_PORT, DB_NAME, DB_SSL_CA, FORWARDED_ALLOW_IPS and BANK_PROXY_HOPS = "1" (the load balancer is the one proxy that appends to X-Forwarded-For), and injects DB_USER, DB_PASSWORD and SECRET_KEY from secrets, never the master user\'s; every other container that is given DB_HOST is given DB_SSL_CA too.',
  (tree, report) => {
    const config = tree.configurations.find((c) => c.dir === 'terraform/modules/app-region');
    if (!config) return report('terraform/modules/app-region', 'the terraform/modules/app-region module is missing');
    const tasks = declared(tree, 'resource', ['aws_ecs_task_definition'], config);
    if (tasks.length === 0) report(config.dir, 'the app has no aws_ecs_task_definition');
    for (const task of tasks) {
      const text = localText(config, 'app_container') ?? String(task.body.container_definitions ?? '');
      if (/\b(command|entryPoint)"?\s*[=:]/.test(text)) report(task, 'overrides the image\'s command or entry point; run the image as built');
      if (/["']sh["']\s*,\s*["']-c["']|["']bash["']\s*,\s*["']-c["']/.test(text)) report(task, 'wraps the app in a shell (sh -c)');
      const passes = (body: string, name: string) => new RegExp(`name"?\\s*[=:]\\s*\\\\?"${name}\\\\?"\\s*,\\s*"?value"?\\s*[=:]`).test(body);
      for (const name of ['DB_HOST', 'DB_PORT', 'DB_NAME', 'DB_SSL_CA', 'FORWARDED_ALLOW_IPS', 'BANK_PROXY_HOPS']) {
        if (!passes(text, name)) report(task, `passes no ${name} in the environment`);
      }
      if (passes(text, 'BANK_PROXY_HOPS') && !/BANK_PROXY_HOPS\\?"\s*,\s*"?value"?\s*[=:]\s*\\?"1\\?"/.test(text)) {
        report(task, 'sets BANK_PROXY_HOPS to other than "1": behind the ALB one proxy appends to X-Forwarded-For, and a client could choose its address past it');
      }
      // The writer's other containers (db-users, migrate) reach the same database, with the master's or the migrator's password.
      const locals: Record<string, unknown> = Object.assign({}, ...config.files.flatMap((f) => asBodies(f.body.locals)));
      for (const name of Object.keys(locals).filter((n) => n.endsWith('_container') && n !== 'app_container')) {
        const body = localText(config, name) ?? '';
        if (passes(body, 'DB_HOST') && !passes(body, 'DB_SSL_CA')) report(task, `local.${name} connects to the database without DB_SSL_CA: its password would cross an unverified connection`);
      }
      for (const name of ['DB_USER', 'DB_PASSWORD', 'SECRET_KEY']) {
        if (!new RegExp(`name"?\\s*[=:]\\s*\\\\?"${name}\\\\?"\\s*,\\s*"?valueFrom"?\\s*[=:]`).test(text)) report(task, `does not inject ${name} from a secret (valueFrom)`);
      }
      if (/FORWARDED_ALLOW_IPS\\?"\s*,\s*"?value"?\s*[=:]\s*\\?"\*/.test(text)) report(task, 'trusts forwarded headers from anywhere (FORWARDED_ALLOW_IPS = "*")');
      if (/master_user_secret|MASTER_/.test(text)) report(task, 'gives the app the master user\'s credentials; it logs in as its own DML-only user');
    }
  },
);

/** The configurations a root reaches through its module calls, itself included. */
function reachableFrom(tree: Tree, root: Configuration): Configuration[] {
  const seen = new Set<Configuration>([root]);
  const queue = [root];
  while (queue.length > 0) {
    for (const call of labelled(queue.shift()!, 'module')) {
      const target = moduleTarget(tree, call);
      if (target && !seen.has(target)) {
        seen.add(target);
        queue.push(target);
      }
    }
  }
  return [...seen];
}

const pipelineRoles = defineRule(
  'pipeline-roles',
  'No IAM user or access key exists; the pipeline deploys with a <app>-deploy role and plans pull requests with a <app>-plan role, both under a permissions boundary that refuses roles created or changed without it; the plan role reads no secret, log or object but the state; and every role terraform/app creates carries the boundary.',
  (tree, report) => {
    for (const d of declared(tree, 'resource', ['aws_iam_user', 'aws_iam_access_key', 'aws_iam_user_login_profile'])) {
      report(d, `declares ${d.type}: the pipeline and people assume roles, no static credential exists`);
    }
    const roles = declared(tree, 'resource', ['aws_iam_role']);
    const named = (suffix: string): Declared | undefined => roles.find((r) => typeof r.body.name === 'string' && r.body.name.endsWith(suffix));
    const deploy = named('-deploy');
    const plan = named('-plan');
    if (!deploy) report('terraform', 'no <app>-deploy role: the pipeline would need a static deploy key');
    if (!plan) report('terraform', 'no <app>-plan role: pull requests would plan with the deploy role');
    for (const role of [deploy, plan]) {
      if (role && (role.body.permissions_boundary === undefined || role.body.permissions_boundary === null)) report(role, 'has no permissions_boundary');
    }
    if (deploy) {
      const keeps = policyStatements(tree).some(
        (st) => st.owner.config === deploy.config && st.effect === 'Deny' && st.actions.includes('iam:CreateRole') && st.conditions.some((c) => c.test === 'StringNotEquals' && c.variable === 'iam:PermissionsBoundary'),
      );
      if (!keeps) report(deploy, 'its boundary does not refuse roles created without it (Deny iam:CreateRole when iam:PermissionsBoundary differs): the deploy role could make itself a stronger role');
    }
    if (plan) {
      const attached = declared(tree, 'resource', ['aws_iam_role_policy_attachment'], plan.config).filter((a) => String(a.body.role ?? '').includes(`aws_iam_role.${plan.name}.`));
      if (attached.some((a) => !/:policy\/(ReadOnlyAccess|ViewOnlyAccess)$/.test(String(a.body.policy_arn)))) report(plan, 'carries a managed policy other than ReadOnlyAccess/ViewOnlyAccess');
      const denies = policyStatements(tree).filter((st) => st.owner.config === plan.config && st.effect === 'Deny');
      for (const action of ['secretsmanager:GetSecretValue', 'logs:GetLogEvents', 's3:GetObject', 'kms:Decrypt']) {
        if (!denies.some((st) => st.actions.includes(action))) report(plan, `is not denied ${action}: a pull request's Terraform could read the bank's data`);
      }
    }
    const app = tree.configurations.find((c) => c.dir === 'terraform/app');
    const reached = app ? reachableFrom(tree, app) : [];
    for (const config of reached) {
      for (const role of declared(tree, 'resource', ['aws_iam_role'], config)) {
        if (mayBeNull(tree, role.body.permissions_boundary, config, reached)) report(role, 'is created by terraform/app without the pipeline\'s permissions boundary (the deploy role may not create it)');
      }
    }
  },
);

const noAutomaticFailover = defineRule(
  'no-automatic-failover',
  'No DNS record fails over or back by itself (no failover routing, no record steered by a health check): with one writable database, traffic moves only when the failover runbook has promoted and fenced.',
  (tree, report) => {
    for (const record of declared(tree, 'resource', ['aws_route53_record'])) {
      if (nested(record.body, 'failover_routing_policy').length > 0) report(record, 'uses failover routing: Route 53 would send customers to a region whose database is still a read replica, and back to a stale former writer when it recovers (split brain)');
      if (record.body.health_check_id !== undefined && record.body.health_check_id !== null) report(record, 'is steered by a health check: traffic would move without the runbook');
    }
  },
);

function truthyOrExpression(tree: Tree, value: unknown, config: Configuration): boolean {
  return value !== undefined && value !== null && (isExpression(value) ? !(valuesOf(tree, value, config) ?? [true]).some((v) => v === false || v === 'false') : asBool(value) === true);
}

const databaseControls = defineRule(
  'database-controls',
  'Every MySQL database requires TLS (a parameter group with require_secure_transport), exports its audit log (MARIADB_AUDIT_PLUGIN, "audit" exported), lets RDS manage its master password (no password in Terraform), grows its storage, keeps its automated backups when deleted, never asks RDS for a final snapshot of a replica, and its configuration copies backups out of the region (automated backups replication) and out of the account (AWS Backup plan with a copy action into a locked vault).',
  (tree, report) => {
    for (const db of declared(tree, 'resource', ['aws_db_instance'])) {
      const same = (types: string[]): Declared[] => declared(tree, 'resource', types, db.config);
      const group = /aws_db_parameter_group\.([A-Za-z0-9_-]+)/.exec(String(db.body.parameter_group_name ?? ''))?.[1];
      const tls = same(['aws_db_parameter_group']).some((g) => g.name === group && nested(g.body, 'parameter').some((p) => p.name === 'require_secure_transport' && ['1', 'ON', 'on', 1].includes(p.value as string)));
      if (!tls) report(db, 'its parameter group does not set require_secure_transport: connections without TLS are accepted');
      const option = /aws_db_option_group\.([A-Za-z0-9_-]+)/.exec(String(db.body.option_group_name ?? ''))?.[1];
      const audit = same(['aws_db_option_group']).some((g) => g.name === option && nested(g.body, 'option').some((o) => o.option_name === 'MARIADB_AUDIT_PLUGIN'));
      const exports = strings(db.body.enabled_cloudwatch_logs_exports).map((x) => x.value);
      const exported = exports.includes('audit') || exports.some((x) => isExpression(x) && /local\.log_exports/.test(x) && JSON.stringify(db.config.files.map((f) => f.body.locals)).includes('"audit"'));
      if (!audit || !exported) report(db, 'has no audit log (MARIADB_AUDIT_PLUGIN option, "audit" in enabled_cloudwatch_logs_exports)');
      if (db.body.password !== undefined || db.body.password_wo !== undefined) report(db, 'sets the master password from Terraform; let RDS manage it (manage_master_user_password = true)');
      else if (!truthyOrExpression(tree, db.body.manage_master_user_password, db.config) && db.body.replicate_source_db === undefined) report(db, 'does not let RDS manage the master password (manage_master_user_password)');
      if (db.body.max_allocated_storage === undefined) report(db, 'has no max_allocated_storage: its storage cannot grow by itself');
      if (asBool(resolve(tree, db.body.delete_automated_backups, db.config)) !== false) report(db, 'deletes its automated backups with it (delete_automated_backups is not false)');
      if (db.body.replicate_source_db !== undefined && db.body.replicate_source_db !== null && asBool(resolve(tree, db.body.skip_final_snapshot, db.config)) === false) {
        report(db, 'is (or can be) a read replica but asks for a final snapshot, which RDS refuses for a replica: it could never be replaced');
      }
      if (same(['aws_db_instance_automated_backups_replication']).length === 0) report(db, 'its configuration replicates no automated backups to another region: they die with the region');
      const plans = same(['aws_backup_plan']).filter((p) => nested(p.body, 'rule').some((r) => nested(r, 'copy_action').length > 0));
      if (plans.length === 0) report(db, 'its configuration has no AWS Backup plan copying recovery points out of the account');
      if (same(['aws_backup_vault_lock_configuration']).length === 0) report(db, 'its configuration locks no backup vault');
    }
  },
);

/** What a bank's operators are paged on, by the CloudWatch metric that shows it. */
const ALARMED_METRICS = ['HTTPCode_ELB_5XX_Count', 'HTTPCode_Target_5XX_Count', 'UnHealthyHostCount', 'RunningTaskCount', 'FreeStorageSpace', 'ReplicaLag', 'HealthCheckStatus'];

const alarms = defineRule(
  'alarms',
  'The app\'s roots alarm, to an encrypted SNS topic, on 5xx (load balancer and app), unhealthy targets, running tasks, the database\'s free storage, the replica\'s lag and the Route 53 health checks.',
  (tree, report) => {
    const roots = tree.configurations.filter((c) => APP_ROOTS.includes(c.dir));
    const reached = [...new Set(roots.flatMap((r) => reachableFrom(tree, r)))];
    const alarmsIn = reached.flatMap((c) => declared(tree, 'resource', ['aws_cloudwatch_metric_alarm'], c));
    const text = JSON.stringify(alarmsIn.map((a) => a.body)) + JSON.stringify(reached.flatMap((c) => c.files.map((f) => f.body.locals)));
    for (const metric of ALARMED_METRICS) {
      if (!alarmsIn.length || !text.includes(metric)) report('terraform/app', `no alarm on ${metric}`);
    }
    for (const alarm of alarmsIn) {
      if (alarm.body.alarm_actions === undefined) report(alarm, 'notifies nobody (no alarm_actions)');
    }
    for (const topic of reached.flatMap((c) => declared(tree, 'resource', ['aws_sns_topic'], c))) {
      if (topic.body.kms_master_key_id === undefined) report(topic, 'is not encrypted (kms_master_key_id)');
    }
  },
);

/** The app's liveness endpoint (app/bank/pages.py): answers while a worker does, never asks the database. */
const APP_LIVENESS_PATH = '/health/live';

const appLiveness = defineRule(
  'app-liveness',
  `The app's target group asks whether a task is alive, not whether its database answers: it checks ${APP_LIVENESS_PATH} (no database) for 200, so a database failover does not make ECS replace every task. The database-deep /health is for routing (Route 53) only: accepting its 503 is not enough, since during a failover it may not answer within the check's timeout at all.`,
  (tree, report) => {
    const config = tree.configurations.find((c) => c.dir === 'terraform/modules/app-region');
    if (!config) return;
    const checks: Array<{ at: Declared; check: Body }> = [
      ...declared(tree, 'resource', ['aws_lb_target_group'], config).flatMap((tg) => nested(tg.body, 'health_check').map((check) => ({ at: tg, check }))),
      ...labelled(config, 'module').flatMap((m) => asBodies(m.body.health_check).map((check) => ({ at: m, check }))),
    ];
    for (const { at, check } of checks) {
      const path = String(resolve(tree, check.path, config) ?? '/');
      const matcher = String(resolve(tree, check.matcher, config) ?? '200');
      if (path !== APP_LIVENESS_PATH) {
        report(at, `health check ${path} reaches the database (or the app's pages): a database outage, or a database that answers later than the check's timeout, fails every task and ECS replaces them all; check ${APP_LIVENESS_PATH}`);
      } else if (matcher.split(',').some((code) => code.trim() !== '200')) {
        report(at, `health check ${path} with matcher ${matcher}: the liveness endpoint answers 200 only; anything else is a task that does not serve`);
      }
    }
  },
);

const ACCOUNT = 'terraform/account';

const accountSettings = defineRule(
  'account-settings',
  'Account-wide settings live in terraform/account only (a workload\'s destroy must not switch them off for everyone): EBS encryption by default, and Session Manager preferences that log every session to an encrypted log group, which the CI instances\' roles may write to.',
  (tree, report) => {
    for (const d of declared(tree, 'resource', ['aws_ebs_encryption_by_default', 'aws_ebs_default_kms_key'])) {
      if (d.config.dir !== ACCOUNT) report(d, `sets an account-wide setting (${d.type}) in ${d.config.dir}: destroying it would change the whole account; it belongs to ${ACCOUNT}`);
    }
    const preferences = declared(tree, 'resource', ['aws_ssm_document']).filter((d) => d.body.name === 'SSM-SessionManagerRunShell');
    for (const d of preferences) {
      if (d.config.dir !== ACCOUNT) report(d, `sets the account's Session Manager preferences in ${d.config.dir}; they belong to ${ACCOUNT}`);
    }
    const account = tree.configurations.find((c) => c.dir === ACCOUNT);
    if (!account) return report(ACCOUNT, 'there is no terraform/account: nothing keeps EBS encryption by default on or logs Session Manager sessions');
    const ebs = declared(tree, 'resource', ['aws_ebs_encryption_by_default'], account);
    if (!ebs.some((d) => asBool(resolve(tree, d.body.enabled, account)) !== false)) report(ACCOUNT, 'does not turn on EBS encryption by default');
    const logged = preferences.filter((d) => d.config === account).some((d) => /cloudWatchEncryptionEnabled\s*=\s*true/.test(String(d.body.content)) && /cloudWatchLogGroupName\s*=/.test(String(d.body.content)));
    if (!logged) report(ACCOUNT, 'has no Session Manager preferences (SSM-SessionManagerRunShell) logging sessions to an encrypted CloudWatch group');
    for (const dir of ['terraform/modules/agent-iam', 'terraform/modules/jenkins-controller']) {
      const writes = policyStatements(tree, dir).some((st) => st.actions.includes('logs:PutLogEvents') && st.resources.some((r) => r.includes('${var.session_log_group_name}')));
      if (tree.configurations.some((c) => c.dir === dir) && !writes) report(dir, 'its instance role may not write Session Manager logs (logs:PutLogEvents on the session log group): sessions would fail to start');
    }
  },
);

/** The AWS APIs each root's workload calls from its private subnets. */
const ENDPOINTS_NEEDED: Record<string, string[]> = {
  'terraform/jenkins': ['ssm', 'ssmmessages', 'ec2messages', 'logs'],
  'terraform/app': ['ecr.api', 'ecr.dkr', 'logs', 'secretsmanager'],
};

const vpcEndpoints = defineRule(
  'vpc-endpoints',
  'Every VPC has an S3 gateway endpoint, and the CI and app networks have interface endpoints for the AWS APIs their instances and tasks call (SSM and logs; ECR, logs and Secrets Manager).',
  (tree, report) => {
    for (const vpc of declared(tree, 'resource', ['aws_vpc'])) {
      const gateway = declared(tree, 'resource', ['aws_vpc_endpoint'], vpc.config).some((e) => String(e.body.service_name ?? '').endsWith('.s3') && e.body.vpc_endpoint_type === 'Gateway');
      if (!gateway) report(vpc, 'has no S3 gateway endpoint');
    }
    for (const [dir, needed] of Object.entries(ENDPOINTS_NEEDED)) {
      const root = tree.configurations.find((c) => c.dir === dir);
      if (!root) continue;
      for (const call of labelled(root, 'module').filter((m) => moduleTarget(tree, m)?.dir === 'terraform/modules/network')) {
        const given = strings(call.body.interface_endpoints).map((x) => x.value);
        const missing = needed.filter((n) => !given.includes(n));
        if (missing.length > 0) report(call, `has no interface endpoint for ${missing.join(', ')}: those calls leave through the NAT gateways, and stop with them`);
      }
    }
  },
);

const runLockTable = defineRule(
  'run-lock-table',
  'terraform/jenkins creates the run lock\'s DynamoDB table as provisioner/src/aws/lease.ts uses it (partition key lease, a string), on-demand, encrypted with a KMS key, with point-in-time recovery, deletion protection, and TTL on expireItemAt, and hands its ARN to provisioner-iam.',
  (tree, report) => {
    const root = tree.configurations.find((c) => c.dir === 'terraform/jenkins');
    if (!root) return;
    const tables = declared(tree, 'resource', ['aws_dynamodb_table'], root);
    if (tables.length === 0) return report('terraform/jenkins', 'creates no DynamoDB table for the run lock (fleet.yaml lock.table)');
    for (const t of tables) {
      const b = t.body;
      if (b.hash_key !== 'lease' || !nested(b, 'attribute').some((a) => a.name === 'lease' && a.type === 'S')) report(t, 'has no string partition key named lease (aws/lease.ts writes its items under it)');
      if (b.billing_mode !== 'PAY_PER_REQUEST') report(t, 'is not on-demand (billing_mode = "PAY_PER_REQUEST"): a few calls a minute need no provisioned capacity, and throttling would stall every run');
      if (!nested(b, 'server_side_encryption').some((e) => asBool(e.enabled) === true)) report(t, 'is not encrypted with a KMS key (server_side_encryption { enabled = true })');
      if (!nested(b, 'point_in_time_recovery').some((e) => asBool(e.enabled) === true)) report(t, 'has no point-in-time recovery');
      if (asBool(b.deletion_protection_enabled) !== true) report(t, 'has no deletion protection: destroying it would drop every fleet\'s lock under running jobs');
      if (!nested(b, 'ttl').some((e) => asBool(e.enabled) === true && e.attribute_name === 'expireItemAt')) report(t, 'has no TTL on expireItemAt (the attribute aws/lease.ts sets on a free lock)');
    }
    const call = labelled(root, 'module').find((m) => m.name === 'provisioner_iam');
    if (call && !tables.some((t) => call.body.lock_table_arn === `\${aws_dynamodb_table.${t.name}.arn}`)) report(call, 'does not give provisioner-iam the run lock table\'s ARN (lock_table_arn)');
  },
);

/** A name that says its value is a credential (DB_PASSWORD, JENKINS_API_TOKEN; not DB_CREDENTIALS_VERSION): never in a plain `environment`. */
const SECRET_NAME = /(^|_)(TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?|PRIVATE_KEY|API_KEY|SECRET_KEY)$/i;

/**
 * The role a task definition's task_role_arn (or execution_role_arn) names, and how each configuration that can grant it
 * rights refers to it by name: `aws_iam_role.R.arn` declared beside the task, or
 * `module.M.OUTPUT` of a module called beside it whose output is `aws_iam_role.R.arn` there (then
 * both the module, as `aws_iam_role.R.name|id`, and the caller, as `module.M.<an output that is
 * that role's name or id>`, may attach policies, and both are looked at). `undefined` otherwise.
 */
function taskRoleOf(tree: Tree, task: Declared, attribute: 'task_role_arn' | 'execution_role_arn' = 'task_role_arn'): { roleBody: Declared; references: { config: Configuration; pattern: RegExp }[] } | undefined {
  const value = String(task.body[attribute] ?? '');
  const byName = (config: Configuration, role: string) => declared(tree, 'resource', ['aws_iam_role'], config).find((r) => r.name === role);
  const roleRef = (role: string) => new RegExp(`^\\$\\{aws_iam_role\\.${role}\\.(name|id)\\}$`);
  const local = /^\$\{aws_iam_role\.([A-Za-z0-9_-]+)\.arn\}$/.exec(value)?.[1];
  if (local !== undefined) {
    const roleBody = byName(task.config, local);
    return roleBody && { roleBody, references: [{ config: task.config, pattern: roleRef(local) }] };
  }
  const viaModule = /^\$\{module\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\}$/.exec(value);
  if (!viaModule) return undefined;
  const call = labelled(task.config, 'module').find((c) => c.name === viaModule[1]);
  const target = call && call.body.count === undefined && call.body.for_each === undefined ? moduleTarget(tree, call) : undefined;
  if (!target) return undefined;
  const outputs = labelled(target, 'output');
  const role = /^\$\{aws_iam_role\.([A-Za-z0-9_-]+)\.arn\}$/.exec(String(outputs.find((o) => o.name === viaModule[2])?.body.value ?? ''))?.[1];
  const roleBody = role === undefined ? undefined : byName(target, role);
  if (!roleBody) return undefined;
  const names = outputs.filter((o) => roleRef(role!).test(String(o.body.value ?? ''))).map((o) => o.name);
  const callerRef = names.length === 0 ? /(?!)/ : new RegExp(`^\\$\\{module\\.${call!.name}\\.(${names.join('|')})\\}$`);
  return { roleBody, references: [{ config: target, pattern: roleRef(role!) }, { config: task.config, pattern: callerRef }] };
}

const watchService = defineRule(
  'watch-service',
  'An ECS task that runs the provisioner (bin/provisioner.mjs) has a task role (declared beside it, or made by a module called beside it) whose one permission is the provisioner-iam module\'s policy (a single aws_iam_role_policy_attachment fed by module.<provisioner-iam>.policy_arn, no inline or other policy, in the task\'s configuration or the role\'s) and gets JENKINS_API_TOKEN from secrets (valueFrom); no ECS task definition puts a token, secret, password or key in its plain environment.',
  (tree, report) => {
    const provisionerIam = tree.configurations.find((c) => c.dir === 'terraform/modules/provisioner-iam');
    const isProvisionerPolicy = (value: unknown, config: Configuration): boolean => {
      const m = /^\$\{module\.([A-Za-z0-9_-]+)(\[[^\]]*\])?\.policy_arn\}$/.exec(String(value));
      if (!m) return false;
      const call = labelled(config, 'module').find((c) => c.name === m[1]);
      return call !== undefined && provisionerIam !== undefined && moduleTarget(tree, call) === provisionerIam;
    };
    // The policy attached: provisioner-iam's output here, or a variable every caller feeds from it.
    const fromProvisionerIam = (value: unknown, config: Configuration): boolean => {
      if (isProvisionerPolicy(value, config)) return true;
      const v = /^\$\{var\.([A-Za-z0-9_-]+)\}$/.exec(String(value));
      if (!v) return false;
      const callers = callersOf(tree, config);
      return callers.length > 0 && callers.every((c) => isProvisionerPolicy(c.body[v[1]!], c.config));
    };
    for (const task of declared(tree, 'resource', ['aws_ecs_task_definition'])) {
      const text = String(task.body.container_definitions ?? '').replace(/\blocal\.([A-Za-z0-9_]+)/g, (whole, name: string) => localText(task.config, name) ?? whole);
      for (const m of text.matchAll(/name"?\s*[=:]\s*\\?"([A-Za-z0-9_]+)\\?"\s*,\s*"?value"?\s*[=:]/g)) {
        if (SECRET_NAME.test(m[1]!)) report(task, `passes ${m[1]} in the plain environment: inject it from Secrets Manager or Parameter Store (secrets, valueFrom)`);
      }
      if (!/provisioner\.mjs/.test(text)) continue;
      if (!/name"?\s*[=:]\s*\\?"JENKINS_API_TOKEN\\?"\s*,\s*"?valueFrom"?\s*[=:]/.test(text)) report(task, 'runs the provisioner without JENKINS_API_TOKEN from a secret (secrets, valueFrom)');
      const taskRole = taskRoleOf(tree, task);
      if (!taskRole) {
        report(task, 'runs the provisioner with a task role neither declared beside it (task_role_arn = aws_iam_role.NAME.arn) nor made by a module called beside it (module.NAME.OUTPUT, an output naming that module\'s aws_iam_role): its rights cannot be checked');
        continue;
      }
      const { roleBody, references } = taskRole;
      const onRole = (d: Declared) => {
        const pattern = references.find((r) => r.config === d.config)?.pattern;
        return pattern !== undefined && [d.body.role, ...(Array.isArray(d.body.roles) ? d.body.roles : [])].some((r) => pattern.test(String(r)));
      };
      const beside = (types: string[]) => references.flatMap((r) => declared(tree, 'resource', types, r.config)).filter(onRole);
      if (nested(roleBody.body, 'inline_policy').length > 0 || roleBody.body.managed_policy_arns !== undefined) report(roleBody, 'the provisioner\'s task role declares its own policies (inline_policy, managed_policy_arns): it carries provisioner-iam\'s policy alone');
      for (const inline of beside(['aws_iam_role_policy'])) report(inline, 'adds an inline policy to the provisioner\'s task role: it carries provisioner-iam\'s policy alone');
      const attached = beside(['aws_iam_role_policy_attachment', 'aws_iam_policy_attachment']);
      if (attached.length === 0) report(roleBody, 'the provisioner\'s task role has no policy attached: attach provisioner-iam\'s policy_arn');
      for (const a of attached) {
        if (a.body.count !== undefined || a.body.for_each !== undefined || !fromProvisionerIam(a.body.policy_arn, a.config)) {
          report(a, 'attaches to the provisioner\'s task role a policy other than provisioner-iam\'s (module.<provisioner-iam>.policy_arn, passed in by every caller)');
        }
      }
    }
  },
);

/** AWS-managed policies are written for every account: none names this task's repository or log group. */
const AWS_MANAGED_POLICY = /:iam::aws:policy\/(?:[A-Za-z0-9_+=,.@-]+\/)*([A-Za-z0-9_+=,.@-]+)$/;
/** What pulling an image from ECR takes (BatchCheckLayerAvailability is a push's question, listed to be checked if granted). */
const ECR_PULL = /^ecr:(BatchGetImage|GetDownloadUrlForLayer|BatchCheckLayerAvailability)$/;
/** What the awslogs driver calls. */
const LOG_WRITE = /^logs:(CreateLogStream|PutLogEvents)$/;

/** The text of an ARN with its `${...}` interpolations taken out: what is written literally. */
function literalPart(arn: string): string {
  return arn.replace(/\$\{[^}]*\}/g, '');
}

/** A role, and how each configuration that can grant it rights refers to it by name. */
interface RoleReferences {
  roleBody: Declared;
  references: { config: Configuration; pattern: RegExp }[];
}

/**
 * What a role is given, sorted by whether its statements can be read: AWS-managed policies (by
 * name), policies written as `data.aws_iam_policy_document.NAME.json` (attached through an
 * `aws_iam_policy` of the same configuration, inline beside the role or in its `inline_policy`,
 * `count`-indexed or not), and anything else, which no statement-by-statement rule can check.
 */
function grantsOf(tree: Tree, role: RoleReferences): { awsManaged: Array<{ at: Declared; name: string }>; documents: Array<{ at: Declared; document: string }>; unreadable: Array<{ at: Declared; attached?: string }> } {
  const onRole = (d: Declared) => {
    const pattern = role.references.find((r) => r.config === d.config)?.pattern;
    return pattern !== undefined && [d.body.role, ...(Array.isArray(d.body.roles) ? d.body.roles : [])].some((r) => pattern.test(String(r)));
  };
  const beside = (types: string[]) => role.references.flatMap((r) => declared(tree, 'resource', types, r.config)).filter(onRole);
  const out = { awsManaged: [] as Array<{ at: Declared; name: string }>, documents: [] as Array<{ at: Declared; document: string }>, unreadable: [] as Array<{ at: Declared; attached?: string }> };
  const policies: Array<{ at: Declared; policy: string }> = [
    ...beside(['aws_iam_role_policy']).map((p) => ({ at: p, policy: String(p.body.policy ?? '') })),
    ...nested(role.roleBody.body, 'inline_policy').map((p) => ({ at: role.roleBody, policy: String(p.policy ?? '') })),
  ];
  const attached = [...strings(role.roleBody.body.managed_policy_arns).map((x) => ({ at: role.roleBody, arn: x.value })), ...beside(['aws_iam_role_policy_attachment', 'aws_iam_policy_attachment']).map((a) => ({ at: a, arn: String(a.body.policy_arn ?? '') }))];
  for (const { at, arn } of attached) {
    const name = AWS_MANAGED_POLICY.exec(arn)?.[1];
    if (name !== undefined) {
      out.awsManaged.push({ at, name });
      continue;
    }
    const own = /^\$\{aws_iam_policy\.([A-Za-z0-9_-]+)(\[0\])?\.arn\}$/.exec(arn)?.[1];
    const policy = own === undefined ? undefined : declared(tree, 'resource', ['aws_iam_policy'], at.config).find((p) => p.name === own);
    if (!policy) out.unreadable.push({ at, attached: arn });
    else policies.push({ at: policy, policy: String(policy.body.policy ?? '') });
  }
  for (const { at, policy } of policies) {
    const document = /^\$\{data\.aws_iam_policy_document\.([A-Za-z0-9_-]+)(\[0\])?\.json\}$/.exec(policy)?.[1];
    if (document === undefined) out.unreadable.push({ at });
    else out.documents.push({ at, document });
  }
  return out;
}

/** The Allow statements of the policy document `document` declared in `at`'s configuration. */
function allowsOf(tree: Tree, at: Declared, document: string): Statement[] {
  return policyStatements(tree).filter((x) => x.owner.config === at.config && x.owner.name === document && x.effect === 'Allow');
}

/** Whether a resource names one ECR repository: an ARN ending in :repository/NAME with no wildcard written in it. */
function namesOneRepository(resource: string): boolean {
  return resource !== '*' && !literalPart(resource).includes('*') && /:repository\/./.test(resource);
}

const executionRoles = defineRule(
  'execution-roles',
  'The execution role of every ECS task (declared beside it, or made by a module called beside it) carries no AWS-managed policy (AmazonECSTaskExecutionRolePolicy pulls from any repository and writes any log group), and its own policies, written as aws_iam_policy_document, pull images (ecr:BatchGetImage, GetDownloadUrlForLayer) only from named repositories and write logs (logs:CreateLogStream, PutLogEvents) only to the streams of a named log group: no wildcard in either.',
  (tree, report) => {
    for (const task of declared(tree, 'resource', ['aws_ecs_task_definition'])) {
      if (task.body.execution_role_arn === undefined) continue;
      const role = taskRoleOf(tree, task, 'execution_role_arn');
      if (!role) {
        report(task, 'has an execution role neither declared beside it (execution_role_arn = aws_iam_role.NAME.arn) nor made by a module called beside it (module.NAME.OUTPUT, an output naming that module\'s aws_iam_role): its rights cannot be checked');
        continue;
      }
      const grants = grantsOf(tree, role);
      for (const { at, name } of grants.awsManaged) {
        report(at, `attaches the AWS-managed policy ${name} to the execution role of ${task.address}: written for every account, it names none of this task's repositories or log groups (AmazonECSTaskExecutionRolePolicy allows ECR pulls and log writes on "*"); grant the task's own repository and log group in a policy of its own`);
      }
      for (const { at, attached } of grants.unreadable) {
        if (attached === undefined) report(at, `gives the execution role of ${task.address} a policy not written as an aws_iam_policy_document: its repositories and log groups cannot be checked`);
        else report(at, `attaches ${attached} to the execution role of ${task.address}: a policy this rule cannot read, so its repositories and log groups cannot be checked`);
      }
      for (const { at, document } of grants.documents) {
        for (const st of allowsOf(tree, at, document)) {
          const pulls = st.actions.filter((a) => ECR_PULL.test(a));
          for (const r of pulls.length > 0 ? st.resources : []) {
            if (!namesOneRepository(r)) report(st, `lets the execution role of ${task.address} pull (${pulls.join(', ')}) from ${r}: name the one repository its image is in (arn:...:ecr:REGION:ACCOUNT:repository/NAME), no wildcard`);
          }
          const writes = st.actions.filter((a) => LOG_WRITE.test(a));
          for (const r of writes.length > 0 ? st.resources : []) {
            const group = r.replace(/:(log-stream:)?\*$/, '');
            if (r === '*' || literalPart(group).includes('*') || !/log_group_arn|aws_cloudwatch_log_group\.|:log-group:./.test(group)) {
              report(st, `lets the execution role of ${task.address} write logs (${writes.join(', ')}) to ${r}: only the streams of the task's own log group (its ARN followed by :*), no wildcard group`);
            }
          }
        }
      }
    }
  },
);

/** The AWS-managed policies the controller's instance role may carry: Session Manager and Run Command, instead of SSH. */
const CONTROLLER_MANAGED_POLICIES = new Set(['AmazonSSMManagedInstanceCore']);
/** What of ECR the controller calls: the registry login and the pull of its own image (user-data.sh.tftpl). */
const CONTROLLER_ECR_ACTIONS = new Set(['ecr:GetAuthorizationToken', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']);

/**
 * The instance role of the controller module's aws_instance: its iam_instance_profile names an
 * aws_iam_instance_profile of the module, whose role names an aws_iam_role of the module.
 */
function controllerRoleOf(tree: Tree, instance: Declared): RoleReferences | undefined {
  const profile = /^\$\{aws_iam_instance_profile\.([A-Za-z0-9_-]+)\.(name|id)\}$/.exec(String(instance.body.iam_instance_profile ?? ''))?.[1];
  const profileBody = declared(tree, 'resource', ['aws_iam_instance_profile'], instance.config).find((p) => p.name === profile);
  const role = /^\$\{aws_iam_role\.([A-Za-z0-9_-]+)\.(name|id)\}$/.exec(String(profileBody?.body.role ?? ''))?.[1];
  const roleBody = declared(tree, 'resource', ['aws_iam_role'], instance.config).find((r) => r.name === role);
  return roleBody && { roleBody, references: [{ config: instance.config, pattern: new RegExp(`^\\$\\{aws_iam_role\\.${role}\\.(name|id)\\}$`) }] };
}

const controllerRole = defineRule(
  'controller-role',
  'The Jenkins controller\'s instance role (terraform/modules/jenkins-controller) carries no AWS-managed policy but AmazonSSMManagedInstanceCore (AmazonEC2ContainerRegistryReadOnly reads every repository of the account), its own policies are written as aws_iam_policy_document, and of ECR they allow only the registry login and the pull of named repositories (ecr:GetAuthorizationToken, BatchGetImage, GetDownloadUrlForLayer), no wildcard repository.',
  (tree, report) => {
    const dir = 'terraform/modules/jenkins-controller';
    const config = tree.configurations.find((c) => c.dir === dir);
    if (!config) return report(dir, `the ${dir} module is missing`);
    const instances = declared(tree, 'resource', ['aws_instance'], config);
    if (instances.length === 0) report(dir, 'the controller module has no aws_instance: its instance role cannot be found');
    for (const instance of instances) {
      const role = controllerRoleOf(tree, instance);
      if (!role) {
        report(instance, 'has an instance role this rule cannot follow (iam_instance_profile = aws_iam_instance_profile.NAME.name of this module, whose role is aws_iam_role.NAME.name): its rights cannot be checked');
        continue;
      }
      const grants = grantsOf(tree, role);
      for (const { at, name } of grants.awsManaged) {
        if (CONTROLLER_MANAGED_POLICIES.has(name)) continue;
        report(at, `attaches the AWS-managed policy ${name} to the controller's instance role: written for every account, it names none of the controller's own resources (AmazonEC2ContainerRegistryReadOnly reads every repository of the account); grant what the controller uses in a policy of its own`);
      }
      for (const { at, attached } of grants.unreadable) {
        if (attached === undefined) report(at, 'gives the controller\'s instance role a policy not written as an aws_iam_policy_document: its repositories cannot be checked');
        else report(at, `attaches ${attached} to the controller's instance role: a policy this rule cannot read, so its repositories cannot be checked`);
      }
      for (const { at, document } of grants.documents) {
        for (const st of allowsOf(tree, at, document)) {
          const ecr = st.actions.filter((a) => a.toLowerCase().startsWith('ecr:'));
          const other = ecr.filter((a) => !CONTROLLER_ECR_ACTIONS.has(a));
          if (other.length > 0) report(st, `lets the controller's instance role call ${other.join(', ')}: it only logs in to ECR and pulls its own image (ecr:GetAuthorizationToken, BatchGetImage, GetDownloadUrlForLayer)`);
          const pulls = ecr.filter((a) => a !== 'ecr:GetAuthorizationToken');
          for (const r of pulls.length > 0 ? st.resources : []) {
            if (!namesOneRepository(r)) report(st, `lets the controller's instance role pull (${pulls.join(', ')}) from ${r}: name the one repository its image is in (arn:...:ecr:REGION:ACCOUNT:repository/NAME), no wildcard`);
          }
        }
      }
    }
  },
);

export const RULES: Rule[] = [
  openIngress,
  ssh,
  database,
  imdsv2,
  encryptedVolumes,
  publicIp,
  variables,
  credentials,
  hardCodedIds,
  region,
  appRegions,
  pinnedVersions,
  backend,
  fleetTags,
  iamWildcards,
  provisionerIam,
  agentIam,
  loadBalancers,
  controllerExposure,
  logEncryption,
  kmsKeyPolicies,
  databaseNetwork,
  appContainer,
  pipelineRoles,
  noAutomaticFailover,
  databaseControls,
  alarms,
  appLiveness,
  accountSettings,
  vpcEndpoints,
  runLockTable,
  watchService,
  executionRoles,
  controllerRole,
];

export function rule(id: RuleId): Rule {
  const found = RULES.find((r) => r.id === id);
  if (!found) throw new Error(`unknown rule ${id}`);
  return found;
}
