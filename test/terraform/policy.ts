// The Terraform policy: rules that read the repository's .tf files (parsed to JSON by
// @cdktf/hcl2json, no provider needed) and name every resource that breaks the bank's baseline.
// It sees only what is written in the code: see terraform/README.md for what it cannot see.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { parse } from '@cdktf/hcl2json';

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
  | 'agent-iam';

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
    throw new Error(`${path}: not valid HCL: ${(err as Error).message}`);
  }
}

/** Parses in-memory files, keyed by repository-relative path (used by the rule tests). */
export async function treeFromSources(sources: Record<string, string>): Promise<Tree> {
  const files = await Promise.all(Object.entries(sources).map(([path, source]) => parseFile(path, source)));
  return treeFromFiles(files);
}

/** Parses every .tf file under `dir` (skipping `.terraform/`), paths relative to `repoRoot`. */
export async function loadTree(repoRoot: string, dir: string): Promise<Tree> {
  const paths: string[] = [];
  const walk = (at: string): void => {
    for (const entry of readdirSync(at).sort()) {
      if (entry === '.terraform') continue;
      const full = join(at, entry);
      if (statSync(full).isDirectory()) walk(full);
      else if (entry.endsWith('.tf')) paths.push(full);
    }
  };
  walk(join(repoRoot, dir));
  const files = await Promise.all(
    paths.map((full) => parseFile(relative(repoRoot, full).split(sep).join('/'), readFileSync(full, 'utf8'))),
  );
  return treeFromFiles(files);
}

export function treeFromFiles(files: TfFile[]): Tree {
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

/** Every `resource "TYPE" "NAME"` (or `data`) of the given types across the tree. */
function declared(tree: Tree, kind: 'resource' | 'data', types: string[]): Declared[] {
  const found: Declared[] = [];
  for (const config of tree.configurations) {
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

/**
 * The value as far as the code alone tells: literals as they are; `${var.NAME}` as that
 * variable's default in the same configuration (callers may pass something else; the README
 * says so); anything else `undefined` (unknown until plan).
 */
function resolve(value: unknown, config: Configuration): unknown {
  if (!isExpression(value)) return value;
  const ref = /^\$\{var\.([A-Za-z0-9_-]+)\}$/.exec(value);
  if (!ref) return undefined;
  const variable = labelled(config, 'variable').find((v) => v.name === ref[1]);
  return variable?.body.default;
}

function where(d: Declared): string {
  return `${d.file.path}: ${d.address}`;
}

function finding(rule: RuleId, d: Declared, message: string): Finding {
  return { rule, where: where(d), message };
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

// ---------------------------------------------------------------------------------------------
// Security group rules, whichever of the three ways they are written

interface SgRule {
  owner: Declared;
  direction: 'ingress' | 'egress';
  /** The `aws_security_group` NAME the rule belongs to, when the code says. */
  group: string | undefined;
  protocol: unknown;
  fromPort: unknown;
  toPort: unknown;
  /** CIDRs as resolved; `undefined` for an expression the code alone cannot resolve. */
  cidrs: Array<string | undefined>;
}

function groupName(ref: unknown): string | undefined {
  if (typeof ref !== 'string') return undefined;
  return /aws_security_group\.([A-Za-z0-9_-]+)/.exec(ref)?.[1];
}

function cidrList(value: unknown, config: Configuration): Array<string | undefined> {
  if (value === undefined || value === null) return [];
  const resolved = resolve(value, config);
  if (resolved === undefined) return [undefined];
  if (Array.isArray(resolved)) {
    return resolved.map((c) => {
      const r = resolve(c, config);
      return typeof r === 'string' ? r : undefined;
    });
  }
  return typeof resolved === 'string' ? [resolved] : [undefined];
}

function securityGroupRules(tree: Tree): SgRule[] {
  const rules: SgRule[] = [];
  for (const sg of declared(tree, 'resource', ['aws_security_group'])) {
    for (const direction of ['ingress', 'egress'] as const) {
      for (const block of nested(sg.body, direction)) {
        rules.push({
          owner: sg,
          direction,
          group: sg.name,
          protocol: resolve(block.protocol, sg.config),
          fromPort: resolve(block.from_port, sg.config),
          toPort: resolve(block.to_port, sg.config),
          cidrs: [...cidrList(block.cidr_blocks, sg.config), ...cidrList(block.ipv6_cidr_blocks, sg.config)],
        });
      }
    }
  }
  for (const r of declared(tree, 'resource', ['aws_security_group_rule'])) {
    const direction = resolve(r.body.type, r.config) === 'egress' ? 'egress' : 'ingress';
    rules.push({
      owner: r,
      direction,
      group: groupName(r.body.security_group_id),
      protocol: resolve(r.body.protocol, r.config),
      fromPort: resolve(r.body.from_port, r.config),
      toPort: resolve(r.body.to_port, r.config),
      cidrs: [...cidrList(r.body.cidr_blocks, r.config), ...cidrList(r.body.ipv6_cidr_blocks, r.config)],
    });
  }
  for (const direction of ['ingress', 'egress'] as const) {
    for (const r of declared(tree, 'resource', [`aws_vpc_security_group_${direction}_rule`])) {
      rules.push({
        owner: r,
        direction,
        group: groupName(r.body.security_group_id),
        protocol: resolve(r.body.ip_protocol, r.config),
        fromPort: resolve(r.body.from_port, r.config),
        toPort: resolve(r.body.to_port, r.config),
        cidrs: [...cidrList(r.body.cidr_ipv4, r.config), ...cidrList(r.body.cidr_ipv6, r.config)],
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

function portsCover(rule: SgRule, port: number): boolean {
  if (ALL_PROTOCOLS.has(rule.protocol as string | number)) return true;
  const from = asNumber(rule.fromPort);
  const to = asNumber(rule.toPort);
  return from !== undefined && to !== undefined && from <= port && port <= to;
}

function describePorts(rule: SgRule): string {
  if (ALL_PROTOCOLS.has(rule.protocol as string | number)) return 'all ports';
  return rule.fromPort === rule.toPort ? `port ${String(rule.fromPort)}` : `ports ${String(rule.fromPort)}-${String(rule.toPort)}`;
}

// ---------------------------------------------------------------------------------------------
// The rules

const openIngress: Rule = {
  id: 'open-ingress',
  description: 'No ingress from 0.0.0.0/0 or ::/0, except TCP 80 and 443 on a security group attached to a load balancer; ingress CIDRs must be visible in the code.',
  check(tree) {
    const lbGroups = loadBalancerGroups(tree);
    const out: Finding[] = [];
    for (const rule of securityGroupRules(tree)) {
      if (rule.direction !== 'ingress') continue;
      if (rule.cidrs.includes(undefined)) {
        out.push(finding('open-ingress', rule.owner, 'ingress CIDRs come from an expression the policy cannot resolve; use a security group reference or a literal/variable default'));
        continue;
      }
      if (!rule.cidrs.some((c) => c !== undefined && WORLD.has(c))) continue;
      const isLb = rule.group !== undefined && lbGroups.has(`${rule.owner.config.dir}|${rule.group}`);
      const tcp = rule.protocol === 'tcp' || rule.protocol === '6' || rule.protocol === 6;
      const port = asNumber(rule.fromPort);
      const webPort = tcp && port !== undefined && port === asNumber(rule.toPort) && (port === 80 || port === 443);
      if (!isLb) {
        out.push(finding('open-ingress', rule.owner, `ingress from the whole internet on ${describePorts(rule)} to a security group that is not a load balancer's`));
      } else if (!webPort) {
        out.push(finding('open-ingress', rule.owner, `load balancer ingress from the whole internet on ${describePorts(rule)}; only TCP 80 and 443 may be open`));
      }
    }
    return out;
  },
};

const ssh: Rule = {
  id: 'ssh',
  description: 'No security group rule opens port 22 (all-protocol rules included) or hides its ports in an expression, and no instance or launch template carries an SSH key pair.',
  check(tree) {
    const out: Finding[] = [];
    for (const rule of securityGroupRules(tree)) {
      const allProtocols = ALL_PROTOCOLS.has(rule.protocol as string | number);
      if (!allProtocols && (asNumber(rule.fromPort) === undefined || asNumber(rule.toPort) === undefined)) {
        out.push(finding('ssh', rule.owner, `${rule.direction} rule ports come from an expression the policy cannot resolve; write them as literals so port 22 can be ruled out`));
      } else if (portsCover(rule, 22)) {
        out.push(finding('ssh', rule.owner, `${rule.direction} rule covers port 22 (${describePorts(rule)}); the fleet is reached through SSM, never SSH`));
      }
    }
    for (const d of declared(tree, 'resource', ['aws_instance', 'aws_launch_template', 'aws_launch_configuration'])) {
      if (d.body.key_name !== undefined && d.body.key_name !== null) {
        out.push(finding('ssh', d, 'sets key_name: instances are managed through SSM and must not carry an SSH key pair'));
      }
    }
    return out;
  },
};

const database: Rule = {
  id: 'database',
  description: 'Every RDS instance or cluster is private (publicly_accessible absent or false), encrypted (storage_encrypted = true) and backed up (backup_retention_period >= 1).',
  check(tree) {
    const out: Finding[] = [];
    for (const db of declared(tree, 'resource', ['aws_db_instance', 'aws_rds_cluster'])) {
      const pub = db.body.publicly_accessible;
      if (pub !== undefined && asBool(resolve(pub, db.config)) !== false) {
        out.push(finding('database', db, `publicly_accessible is ${JSON.stringify(pub)}; a database must not be reachable from the internet`));
      }
      if (asBool(resolve(db.body.storage_encrypted, db.config)) !== true) {
        out.push(finding('database', db, `storage_encrypted is ${JSON.stringify(db.body.storage_encrypted ?? 'absent')}; it must be true`));
      }
      const retention = asNumber(resolve(db.body.backup_retention_period, db.config));
      if (retention === undefined || retention < 1) {
        out.push(finding('database', db, `backup_retention_period is ${JSON.stringify(db.body.backup_retention_period ?? 'absent')}; it must be at least 1 day`));
      }
    }
    return out;
  },
};

const imdsv2: Rule = {
  id: 'imdsv2',
  description: 'Every instance and launch template requires IMDSv2 (metadata_options { http_tokens = "required" }).',
  check(tree) {
    const out: Finding[] = [];
    for (const d of declared(tree, 'resource', ['aws_instance', 'aws_launch_template', 'aws_launch_configuration'])) {
      const options = nested(d.body, 'metadata_options');
      const tokens = options.map((o) => resolve(o.http_tokens, d.config));
      if (tokens.length === 0 || tokens.some((t) => t !== 'required')) {
        out.push(finding('imdsv2', d, `metadata_options.http_tokens is ${tokens.length === 0 ? 'absent' : JSON.stringify(tokens[0])}; it must be "required" (IMDSv2 only)`));
      }
    }
    return out;
  },
};

const encryptedVolumes: Rule = {
  id: 'encrypted-volumes',
  description: 'Every EBS volume is encrypted: aws_ebs_volume, instances\' root and EBS block devices, launch templates\' block device mappings.',
  check(tree) {
    const out: Finding[] = [];
    const encrypted = (body: Body, d: Declared): boolean => asBool(resolve(body.encrypted, d.config)) === true;
    for (const d of declared(tree, 'resource', ['aws_ebs_volume'])) {
      if (!encrypted(d.body, d)) out.push(finding('encrypted-volumes', d, 'encrypted is not true'));
    }
    for (const d of declared(tree, 'resource', ['aws_instance'])) {
      const roots = nested(d.body, 'root_block_device');
      if (roots.length === 0) out.push(finding('encrypted-volumes', d, 'has no root_block_device, so its root volume is encrypted only if the AMI or account default says so; declare it with encrypted = true'));
      for (const b of [...roots, ...nested(d.body, 'ebs_block_device')]) {
        if (!encrypted(b, d)) out.push(finding('encrypted-volumes', d, `a block device (${String(b.device_name ?? 'root')}) is not encrypted`));
      }
    }
    for (const d of declared(tree, 'resource', ['aws_launch_template'])) {
      const mappings = nested(d.body, 'block_device_mappings');
      if (mappings.length === 0) out.push(finding('encrypted-volumes', d, 'has no block_device_mappings, so its volumes are encrypted only if the AMI or account default says so'));
      for (const m of mappings) {
        for (const ebs of nested(m, 'ebs')) {
          if (!encrypted(ebs, d)) out.push(finding('encrypted-volumes', d, `block device ${String(m.device_name ?? '?')} is not encrypted`));
        }
      }
    }
    return out;
  },
};

const publicIp: Rule = {
  id: 'public-ip',
  description: 'No ECS service, instance or launch template gets a public IP address.',
  check(tree) {
    const out: Finding[] = [];
    const flag = (value: unknown, d: Declared, what: string): void => {
      if (value !== undefined && asBool(resolve(value, d.config)) !== false) {
        out.push(finding('public-ip', d, `${what} is ${JSON.stringify(value)}; it must be false or absent`));
      }
    };
    for (const d of declared(tree, 'resource', ['aws_ecs_service'])) {
      for (const n of nested(d.body, 'network_configuration')) flag(n.assign_public_ip, d, 'network_configuration.assign_public_ip');
    }
    for (const d of declared(tree, 'resource', ['aws_instance'])) flag(d.body.associate_public_ip_address, d, 'associate_public_ip_address');
    for (const d of declared(tree, 'resource', ['aws_launch_template'])) {
      for (const n of nested(d.body, 'network_interfaces')) flag(n.associate_public_ip_address, d, 'network_interfaces.associate_public_ip_address');
    }
    return out;
  },
};

const variables: Rule = {
  id: 'variables',
  description: 'Every variable has a type and a description; the variables of root configurations, bools aside, also have a validation block.',
  check(tree) {
    const out: Finding[] = [];
    for (const config of tree.configurations) {
      for (const v of labelled(config, 'variable')) {
        if (v.body.type === undefined) out.push(finding('variables', v, 'has no type'));
        if (typeof v.body.description !== 'string' || v.body.description.trim() === '') out.push(finding('variables', v, 'has no description'));
        // A bool's type already says everything a validation could.
        if (config.isRoot && v.body.type !== '${bool}' && asBodies(v.body.validation).length === 0) out.push(finding('variables', v, 'is an input of a root configuration and has no validation block'));
      }
    }
    return out;
  },
};

const ACCESS_KEY_ID = /\b(AKIA|ASIA)[A-Z0-9]{16}\b/;
const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;
/** Attribute names that hold a secret; their value may be an expression, never a literal. */
const SECRET_ATTRIBUTE = /(^|_)(password|passwd|secret|secret_key|access_key|token|api_key|secret_string|private_key)(_wo)?$/i;
/** A secret spelled out inside an expression or a heredoc, e.g. jsonencode({ password = "x" }). */
const INLINE_SECRET = /\b(password|passwd|secret_key|secret_access_key|access_key|api_key|token)\b["']?\s*[=:]\s*\\?["'][^"'$\\{][^"']*\\?["']/i;

const credentials: Rule = {
  id: 'credentials',
  description: 'No literal credential: no AWS access key id, private key, literal password/secret/token value, credential in a provider block, or default for a secret variable.',
  check(tree) {
    const out: Finding[] = [];
    for (const config of tree.configurations) {
      for (const file of config.files) {
        for (const s of strings(file.body)) {
          const at = `${file.path}: ${s.path.join('.')}`;
          if (ACCESS_KEY_ID.test(s.value)) out.push({ rule: 'credentials', where: at, message: 'contains an AWS access key id' });
          if (PRIVATE_KEY.test(s.value)) out.push({ rule: 'credentials', where: at, message: 'contains a private key' });
          const attribute = s.path[s.path.length - 1] ?? '';
          const inVariable = s.path[0] === 'variable';
          const isPolicyText = s.path.some((p) => p === 'description' || p === 'error_message' || p === 'condition');
          if (!inVariable && !isPolicyText && SECRET_ATTRIBUTE.test(attribute) && !isExpression(s.value) && s.value !== '') {
            out.push({ rule: 'credentials', where: at, message: `${attribute} is a literal; pass it from Secrets Manager, SSM or a sensitive variable without default` });
          } else if (!isPolicyText && INLINE_SECRET.test(s.value)) {
            out.push({ rule: 'credentials', where: at, message: 'spells out a secret value inside a string or expression' });
          }
        }
      }
      for (const p of labelled(config, 'provider')) {
        for (const key of ['access_key', 'secret_key', 'token']) {
          if (p.body[key] !== undefined) out.push(finding('credentials', p, `sets ${key}: credentials come from the environment (role, profile, OIDC), never from the configuration`));
        }
      }
      for (const v of labelled(config, 'variable')) {
        // db_password holds a secret; db_password_version or db_password_secret_arn do not.
        if (/(password|passwd|secret|token|access_key|secret_key)$/i.test(v.name) && v.body.default !== undefined && v.body.default !== null) {
          out.push(finding('credentials', v, 'is a secret with a default value'));
        }
      }
    }
    return out;
  },
};

const AMI_ID = /\bami-[0-9a-f]{8}(?:[0-9a-f]{9})?\b/;
const ACCOUNT_IN_ARN = /\barn:aws[a-z-]*:[^:]*:[^:]*:\d{12}:/;
const BARE_ACCOUNT = /^\d{12}$/;

const hardCodedIds: Rule = {
  id: 'hard-coded-ids',
  description: 'No AMI id or AWS account id written into the code (AMIs come from SSM public parameters, accounts from aws_caller_identity).',
  check(tree) {
    const out: Finding[] = [];
    for (const config of tree.configurations) {
      for (const file of config.files) {
        for (const s of strings(file.body)) {
          const at = `${file.path}: ${s.path.join('.')}`;
          const isText = s.path.some((p) => p === 'description' || p === 'error_message');
          if (isText) continue;
          if (AMI_ID.test(s.value)) out.push({ rule: 'hard-coded-ids', where: at, message: `contains an AMI id (${AMI_ID.exec(s.value)?.[0]}); resolve it from an SSM public parameter` });
          if (ACCOUNT_IN_ARN.test(s.value) || BARE_ACCOUNT.test(s.value)) out.push({ rule: 'hard-coded-ids', where: at, message: 'contains an AWS account id; use data.aws_caller_identity' });
        }
      }
    }
    return out;
  },
};

const REGION_NAME = /\b(us|eu|ap|sa|ca|me|af|il|mx|cn)(-gov|-iso[a-z]?)?-(north|south|east|west|central|northeast|southeast|northwest|southwest)-\d+[a-z]?\b/;

const region: Rule = {
  id: 'region',
  description: 'Regions are parameters: every root configures the aws provider with a region from a variable, and no region name is written outside variable blocks.',
  check(tree) {
    const out: Finding[] = [];
    for (const config of tree.configurations) {
      const providers = labelled(config, 'provider').filter((p) => p.name === 'aws');
      if (config.isRoot && providers.length === 0) {
        out.push({ rule: 'region', where: `${config.dir}: provider.aws`, message: 'root configuration has no provider "aws" block with region = var.…' });
      }
      for (const p of providers) {
        if (!isExpression(p.body.region) || !/\bvar\./.test(p.body.region)) {
          out.push(finding('region', p, `region is ${JSON.stringify(p.body.region ?? 'absent')}; it must come from a variable`));
        }
      }
      for (const file of config.files) {
        for (const [kind, section] of Object.entries(file.body)) {
          // Variable defaults are where a region belongs; provider regions are checked above.
          if (kind === 'variable' || kind === 'provider') continue;
          for (const s of strings(section, [kind])) {
            const m = REGION_NAME.exec(s.value);
            if (m) out.push({ rule: 'region', where: `${file.path}: ${s.path.join('.')}`, message: `names the region ${m[0]}; take it from a variable or data.aws_region` });
          }
        }
      }
    }
    return out;
  },
};

const APP_REGIONS = ['us-east-1', 'us-west-2'];

const appRegions: Rule = {
  id: 'app-regions',
  description: 'terraform/app configures both us-east-1 and us-west-2 (aliased providers whose region variables default to them) and calls the app-region module once per region.',
  check(tree) {
    const app = tree.configurations.find((c) => c.dir === 'terraform/app');
    const where = 'terraform/app';
    if (!app) return [{ rule: 'app-regions', where, message: 'the terraform/app root configuration is missing' }];
    const out: Finding[] = [];
    const aliasRegion = new Map<string, unknown>();
    for (const p of labelled(app, 'provider').filter((p) => p.name === 'aws')) {
      if (typeof p.body.alias === 'string') aliasRegion.set(p.body.alias, resolve(p.body.region, app));
    }
    for (const r of APP_REGIONS) {
      if (![...aliasRegion.values()].includes(r)) {
        out.push({ rule: 'app-regions', where, message: `no aliased aws provider whose region defaults to ${r}` });
      }
    }
    const regionCalls = labelled(app, 'module').filter((m) => typeof m.body.source === 'string' && /\/app-region\/?$/.test(m.body.source));
    const covered = new Set<unknown>();
    for (const call of regionCalls) {
      const providerRef = asBodies(call.body.providers)[0]?.aws;
      const alias = typeof providerRef === 'string' ? /^\$\{aws\.([A-Za-z0-9_-]+)\}$/.exec(providerRef)?.[1] : undefined;
      if (alias === undefined || !aliasRegion.has(alias)) {
        out.push(finding('app-regions', call, 'calls the app-region module without providers = { aws = aws.<alias> } naming one of the regional providers'));
      } else {
        covered.add(aliasRegion.get(alias));
      }
    }
    for (const r of APP_REGIONS) {
      if (!covered.has(r)) out.push({ rule: 'app-regions', where, message: `no call of the app-region module runs in ${r}` });
    }
    return out;
  },
};

const pinnedVersions: Rule = {
  id: 'pinned-versions',
  description: 'Every configuration pins its providers (required_providers with source and version) and Terraform itself; modules come from local paths or pinned versions.',
  check(tree) {
    const out: Finding[] = [];
    for (const config of tree.configurations) {
      const settings = config.files.flatMap((f) => asBodies(f.body.terraform));
      const providers = settings.flatMap((s) => asBodies(s.required_providers));
      const where = `${config.dir}: terraform`;
      if (!settings.some((s) => typeof s.required_version === 'string')) {
        out.push({ rule: 'pinned-versions', where, message: 'no required_version' });
      }
      if (providers.length === 0) out.push({ rule: 'pinned-versions', where, message: 'no required_providers block' });
      for (const block of providers) {
        for (const [name, spec] of Object.entries(block)) {
          const s = (spec ?? {}) as Body;
          if (typeof s.source !== 'string' || typeof s.version !== 'string' || s.version.trim() === '') {
            out.push({ rule: 'pinned-versions', where, message: `provider ${name} needs both source and version` });
          }
        }
      }
      for (const m of labelled(config, 'module')) {
        const source = m.body.source;
        if (typeof source !== 'string') continue;
        const local = source.startsWith('./') || source.startsWith('../');
        const gitPinned = /^git::|github\.com/.test(source) && /[?&]ref=/.test(source);
        const registryPinned = typeof m.body.version === 'string';
        if (!local && !gitPinned && !registryPinned) out.push(finding('pinned-versions', m, `source ${source} is not pinned (version, or ?ref= for git)`));
      }
    }
    return out;
  },
};

/** What a backend block may say in the code; the rest (bucket, key, region, table) is per environment. */
const BACKEND_LITERALS = new Set(['encrypt', 'use_lockfile']);

const backend: Rule = {
  id: 'backend',
  description: 'Every root configuration declares a partial backend "s3" {} whose bucket, key, region and lock come from -backend-config.',
  check(tree) {
    const out: Finding[] = [];
    for (const config of tree.configurations.filter((c) => c.isRoot)) {
      const backends = config.files.flatMap((f) => asBodies(f.body.terraform)).flatMap((t) => asBodies(t.backend));
      const s3 = backends.flatMap((b) => asBodies(b.s3));
      const where = `${config.dir}: terraform.backend`;
      if (s3.length === 0) {
        out.push({ rule: 'backend', where, message: 'root configuration has no backend "s3" block' });
        continue;
      }
      for (const b of s3) {
        for (const key of Object.keys(b)) {
          if (!BACKEND_LITERALS.has(key)) out.push({ rule: 'backend', where, message: `backend "s3" sets ${key} in code; pass it with -backend-config` });
        }
      }
    }
    return out;
  },
};

/** A jenkins-fleet:* tag written as a key: an object key, or `"jenkins-fleet:x" =` inside an expression. */
const FLEET_TAG_KEY = /["']?jenkins-fleet:[A-Za-z-]+["']?\s*[=:]/;

function objectKeys(value: unknown, path: string[] = []): Array<{ path: string[]; key: string }> {
  if (Array.isArray(value)) return value.flatMap((v) => objectKeys(v, path));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([k, v]) => [{ path, key: k }, ...objectKeys(v, [...path, k])]);
  }
  return [];
}

const fleetTags: Rule = {
  id: 'fleet-tags',
  description: 'No Terraform-managed resource carries a jenkins-fleet:* tag: the provisioner may terminate and run commands on whatever carries jenkins-fleet:fleet, so only the instances it launched may have it.',
  check(tree) {
    const out: Finding[] = [];
    for (const config of tree.configurations) {
      for (const file of config.files) {
        for (const kind of ['resource', 'provider', 'module', 'locals'] as const) {
          const section = file.body[kind];
          const at = (path: string[]): string => `${file.path}: ${[kind, ...path].join('.')}`;
          for (const k of objectKeys(section)) {
            if (k.key.startsWith('jenkins-fleet:')) out.push({ rule: 'fleet-tags', where: at(k.path), message: `sets the tag ${k.key}, which only the provisioner's own instances may carry` });
          }
          for (const s of strings(section)) {
            if (FLEET_TAG_KEY.test(s.value)) out.push({ rule: 'fleet-tags', where: at(s.path), message: 'sets a jenkins-fleet:* tag, which only the provisioner\'s own instances may carry' });
          }
        }
      }
    }
    return out;
  },
};


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
      });
    }
  }
  return out;
}

function statementFinding(rule: RuleId, st: Statement, message: string): Finding {
  return { rule, where: `${where(st.owner)} statement ${st.sid}`, message };
}

function hasCondition(st: Statement, test: string, variable: string, value: string): boolean {
  return st.conditions.some((c) => c.test === test && c.variable === variable && c.values.includes(value));
}

/** Actions that AWS authorises only on "*" and that read without changing anything. */
const READ_ONLY_ON_ANY = /^[a-z0-9-]+:(Describe|List)[A-Za-z]*$|^ssm:GetCommandInvocation$/;

const iamWildcards: Rule = {
  id: 'iam-wildcards',
  description: 'No IAM statement allows every action of a service ("*", "svc:*"), and Resource "*" is allowed only for read-only Describe/List calls.',
  check(tree) {
    const out: Finding[] = [];
    for (const st of policyStatements(tree)) {
      if (st.effect !== 'Allow') continue;
      for (const action of st.actions) {
        if (action === '*' || action.endsWith(':*')) out.push(statementFinding('iam-wildcards', st, `allows ${action}`));
      }
      if (st.resources.includes('*')) {
        const writes = st.actions.filter((a) => !READ_ONLY_ON_ANY.test(a));
        if (writes.length > 0) out.push(statementFinding('iam-wildcards', st, `allows ${writes.join(', ')} on every resource ("*")`));
      }
    }
    return out;
  },
};

const FLEET_TAG = 'jenkins-fleet:fleet';
const FLEET_VALUE = '${var.fleet}';
const FLEET_PARAMETERS = /:parameter\/jenkins-fleet\/\$\{var\.fleet\}(\/\*)?$/;
const PARAMETER_ACTIONS = /^ssm:(PutParameter|GetParameters?|GetParametersByPath|GetParameterHistory|DeleteParameters?|AddTagsToResource|LabelParameterVersion)$/;

function missingModule(rule: RuleId, dir: string): Finding {
  return { rule, where: dir, message: `the ${dir} module is missing` };
}

const provisionerIam: Rule = {
  id: 'provisioner-iam',
  description: 'The provisioner\'s policy launches and tags only resources tagged jenkins-fleet:fleet = fleet at creation, terminates and runs AWS-RunShellScript only on instances carrying that tag, keeps parameters only under /jenkins-fleet/<fleet>/, and passes only the agent role.',
  check(tree) {
    const dir = 'terraform/modules/provisioner-iam';
    if (!tree.configurations.some((c) => c.dir === dir)) return [missingModule('provisioner-iam', dir)];
    const out: Finding[] = [];
    const granted = new Set<string>();
    const requestTagged = (st: Statement): boolean => hasCondition(st, 'StringEquals', `aws:RequestTag/${FLEET_TAG}`, FLEET_VALUE);
    for (const st of policyStatements(tree, dir)) {
      if (st.effect !== 'Allow') continue;
      const flag = (message: string): void => void out.push(statementFinding('provisioner-iam', st, message));
      for (const action of st.actions) {
        granted.add(action);
        if (action === 'ec2:RunInstances') {
          for (const r of st.resources) {
            if (r === '*') flag('allows RunInstances on "*"');
            else if (/:(instance|volume)\/\*$/.test(r) && !requestTagged(st)) flag(`allows RunInstances on ${r} without aws:RequestTag/${FLEET_TAG} = fleet`);
            else if (r.endsWith('/*') && st.conditions.length === 0) flag(`allows RunInstances on every ${r} without a condition`);
          }
        } else if (action === 'ec2:CreateTags') {
          const atLaunch = hasCondition(st, 'StringEquals', 'ec2:CreateAction', 'RunInstances') && requestTagged(st);
          // After a bootstrap the provisioner marks the fleet's own instance, with that one key only.
          const bootstrapMark =
            hasCondition(st, 'StringEquals', `ec2:ResourceTag/${FLEET_TAG}`, FLEET_VALUE) &&
            hasCondition(st, 'ForAllValues:StringEquals', 'aws:TagKeys', 'jenkins-fleet:bootstrapped') &&
            st.conditions.filter((c) => c.variable === 'aws:TagKeys').every((c) => c.values.length === 1);
          if (!atLaunch && !bootstrapMark) {
            flag('allows CreateTags other than at launch (ec2:CreateAction = RunInstances) with the fleet tag, or than the jenkins-fleet:bootstrapped key on the fleet\'s instances');
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
        } else if (PARAMETER_ACTIONS.test(action)) {
          for (const r of st.resources) {
            const publicAmi = /::parameter\/aws\/service\/\*$/.test(r) && /^ssm:GetParameters?$/.test(action);
            if (!FLEET_PARAMETERS.test(r) && !publicAmi) flag(`allows ${action} on ${r}; only /jenkins-fleet/<fleet>/`);
          }
        } else if (action === 'iam:PassRole') {
          if (st.resources.length !== 1 || st.resources[0] !== '${var.agent_role_arn}') flag(`allows PassRole on ${st.resources.join(', ')}; only the agent role`);
        }
      }
    }
    for (const needed of ['ec2:RunInstances', 'ec2:TerminateInstances', 'ssm:SendCommand', 'ssm:PutParameter', 'ssm:DeleteParameter', 'iam:PassRole']) {
      if (!granted.has(needed)) out.push({ rule: 'provisioner-iam', where: dir, message: `the policy never grants ${needed}, which the provisioner needs` });
    }
    return out;
  },
};

const agentIam: Rule = {
  id: 'agent-iam',
  description: 'Agents get AmazonSSMManagedInstanceCore, read only /jenkins-fleet/<fleet>/* (with a deny of every other parameter, which the managed policy would allow), decrypt only with the fleet\'s key, and their security group has no ingress.',
  check(tree) {
    const dir = 'terraform/modules/agent-iam';
    const config = tree.configurations.find((c) => c.dir === dir);
    if (!config) return [missingModule('agent-iam', dir)];
    const out: Finding[] = [];
    const statements = policyStatements(tree, dir);
    for (const st of statements) {
      if (st.effect !== 'Allow') continue;
      const flag = (message: string): void => void out.push(statementFinding('agent-iam', st, message));
      for (const action of st.actions) {
        if (PARAMETER_ACTIONS.test(action) && st.resources.some((r) => !FLEET_PARAMETERS.test(r) || !r.endsWith('/*'))) flag(`allows ${action} beyond /jenkins-fleet/<fleet>/*`);
        if (/^ssm:(PutParameter|DeleteParameters?)$/.test(action)) flag(`allows ${action}: agents only read their secret`);
        if (action.startsWith('kms:') && action !== 'kms:Decrypt') flag(`allows ${action}: agents only decrypt`);
        if (action === 'kms:Decrypt' && st.resources.some((r) => !/^\$\{aws_kms_key\.[A-Za-z0-9_]+\.arn\}$/.test(r))) flag('allows kms:Decrypt on something other than the fleet\'s key');
      }
    }
    const denies = statements.some((st) => st.effect === 'Deny' && st.actions.includes('ssm:GetParameter') && st.notResources.length > 0 && st.notResources.every((r) => FLEET_PARAMETERS.test(r)));
    if (!denies) out.push({ rule: 'agent-iam', where: dir, message: 'no Deny of ssm:GetParameter outside /jenkins-fleet/<fleet>/*: AmazonSSMManagedInstanceCore allows reading every parameter' });
    const core = declared(tree, 'resource', ['aws_iam_role_policy_attachment']).some((d) => d.config === config && String(d.body.policy_arn).endsWith(':policy/AmazonSSMManagedInstanceCore'));
    if (!core) out.push({ rule: 'agent-iam', where: dir, message: 'the agent role has no AmazonSSMManagedInstanceCore attachment' });
    for (const rule of securityGroupRules(tree)) {
      if (rule.owner.config === config && rule.direction === 'ingress') out.push(finding('agent-iam', rule.owner, 'the agents\' security group must have no ingress rule'));
    }
    return out;
  },
};

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
];

export function rule(id: RuleId): Rule {
  const found = RULES.find((r) => r.id === id);
  if (!found) throw new Error(`unknown rule ${id}`);
  return found;
}
