// What `provisioner init` fills into a fleet file from `terraform output -json`: reading that
// document, and putting each output where fleet.yaml takes it (terraform/jenkins/outputs.tf names
// its outputs after these places). Pure: the command reads and writes the files.
import { isMap, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import { queueRegion } from '../config/schema.ts';
import { UserError } from '../errors.ts';

/** One root's outputs, by name: the `value` of each entry of `terraform output -json`. */
export type Outputs = Map<string, { value: unknown; from: string }>;

/** Reads one `terraform output -json` document; `name` is how the file is named in messages. */
export function parseOutputs(text: string, name: string): Outputs {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${name}: not JSON (${(err as Error).message}); expected what \`terraform output -json\` prints`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new UserError(`${name}: expected the object \`terraform output -json\` prints ({"NAME": {"value": ...}}), found ${Array.isArray(data) ? 'a list' : JSON.stringify(data)}`);
  }
  const outputs: Outputs = new Map();
  const problems: string[] = [];
  for (const [key, entry] of Object.entries(data as Record<string, unknown>)) {
    if (entry === null || typeof entry !== 'object' || !('value' in entry)) {
      problems.push(`${name}: output ${key} has no "value"; expected what \`terraform output -json\` prints, not \`terraform output -json ${key}\``);
      continue;
    }
    outputs.set(key, { value: (entry as { value: unknown }).value, from: name });
  }
  if (problems.length > 0) throw new UserError(problems);
  return outputs;
}

/**
 * Outputs that each region's root gives for its own region (terraform/jenkins's queue, and
 * terraform/interruptions's in each further region): gathered from every document, not merged.
 */
const perRegionOutputs = new Set(['interruption_queue_url']);

/** Several roots' outputs as one; a name two of them give differently is an error, but for the per-region ones, which are gathered. */
export function mergeOutputs(all: Outputs[]): Outputs {
  const merged: Outputs = new Map();
  const problems: string[] = [];
  for (const outputs of all) {
    for (const [key, output] of outputs) {
      const before = merged.get(key);
      if (before && perRegionOutputs.has(key)) {
        const values = [...(Array.isArray(before.value) ? before.value : [before.value]), output.value];
        merged.set(key, { value: values.filter((v, i) => values.findIndex((w) => JSON.stringify(w) === JSON.stringify(v)) === i), from: `${before.from}, ${output.from}` });
        continue;
      }
      if (before && JSON.stringify(before.value) !== JSON.stringify(output.value)) {
        problems.push(`output ${key} is ${JSON.stringify(before.value)} in ${before.from} but ${JSON.stringify(output.value)} in ${output.from}`);
      }
      merged.set(key, output);
    }
  }
  if (problems.length > 0) throw new UserError(problems);
  return merged;
}

/** `per-region`: one string per root that gave it (a string, or the list mergeOutputs gathered). */
type Expect = 'string' | 'strings' | 'per-region';

/** The outputs of terraform/jenkins that every fleet file needs. */
export const requiredOutputs: { name: string; expect: Expect; goesTo: string }[] = [
  { name: 'fleet', expect: 'string', goesTo: 'fleet' },
  { name: 'region', expect: 'string', goesTo: 'region' },
  { name: 'controller_url', expect: 'string', goesTo: 'controller.url' },
  { name: 'agent_subnet_ids', expect: 'strings', goesTo: 'pools[].subnets' },
  { name: 'agent_security_group_id', expect: 'string', goesTo: 'pools[].securityGroups' },
  { name: 'agent_instance_profile', expect: 'string', goesTo: 'pools[].instanceProfile' },
  { name: 'review_agent_security_group_id', expect: 'string', goesTo: 'pools[].securityGroups of the pull-request pool' },
  { name: 'review_agent_instance_profile', expect: 'string', goesTo: 'pools[].instanceProfile of the pull-request pool' },
  { name: 'agent_kms_key_alias', expect: 'string', goesTo: 'secrets.kmsKeyId' },
];

/** Outputs that fill more when given: the run lock's table (terraform/jenkins), the deploy's backend (terraform/bootstrap). */
export const optionalOutputs: { name: string; expect: Expect; goesTo: string }[] = [
  { name: 'lock_table', expect: 'string', goesTo: 'lock.table' },
  { name: 'interruption_queue_url', expect: 'per-region', goesTo: 'interruptions.queue, or interruptions.queues with a queue per region' },
  { name: 'state_bucket', expect: 'string', goesTo: 'library.jenkinsfile.backendConfig.bucket' },
  { name: 'state_bucket_region', expect: 'string', goesTo: 'library.jenkinsfile.backendConfig.region' },
];

function valueOf(outputs: Outputs, name: string, expect: Expect, problems: string[]): string | string[] | undefined {
  const output = outputs.get(name);
  if (!output) return undefined;
  const { value, from } = output;
  if (expect === 'string' && typeof value === 'string' && value !== '') return value;
  if (expect === 'strings' && Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' && v !== '')) return value as string[];
  if (expect === 'per-region') {
    const values = Array.isArray(value) ? value : [value];
    if (values.every((v) => typeof v === 'string' && v !== '')) return values as string[];
  }
  problems.push(`${from}: output ${name} is ${JSON.stringify(value)}, expected ${expect === 'strings' ? 'a non-empty list of strings' : 'a string'} (has the root been applied?)`);
  return undefined;
}

/** What init changed: the path in the fleet file and the output it came from. */
export interface Filled {
  path: string;
  output: string;
  value: string | string[];
}

/**
 * Puts `value` at `path`, keeping the node's comments and flow style: the fleet file's comments
 * say what each value is, and they outlive the values init writes.
 */
function put(doc: Document, path: (string | number)[], value: string | string[]): void {
  const old = doc.getIn(path, true) as Node | undefined;
  const node = doc.createNode(value) as Node;
  if (old && typeof old === 'object') {
    node.comment = old.comment;
    node.commentBefore = old.commentBefore;
    if (isSeq(old) && isSeq(node)) node.flow = old.flow;
  }
  doc.setIn(path, node);
}

/**
 * Fills the fleet file `text` (named `name`) with the outputs: the fleet's id, region, controller
 * URL and key, and every EC2 pool of the fleet's region's subnets, security group and instance
 * profile (the pull-request pool, carrying library.pullRequestLabel, its own group and profile); the deploy's backend bucket when the bootstrap root's outputs are given. Everything else
 * (pools, counts, labels, the library's settings) is kept as written. Throws naming every missing
 * or malformed output at once.
 */
export function fillFleet(
  text: string,
  name: string,
  outputs: Outputs,
  deployVars: Record<string, string> = {},
): { text: string; filled: Filled[]; left: string[] } {
  const problems: string[] = [];
  const missing = requiredOutputs.filter((o) => !outputs.has(o.name));
  if (missing.length > 0) {
    const from = [...new Set([...outputs.values()].map((o) => o.from))].join(', ') || 'the outputs given';
    problems.push(
      `${from} lacks ${missing.length === 1 ? 'the output' : 'the outputs'} ${missing.map((o) => `${o.name} (for ${o.goesTo})`).join(', ')}: give \`terraform -chdir=terraform/jenkins output -json\` of an applied terraform/jenkins`,
    );
  }
  const values = new Map<string, string | string[]>();
  for (const { name: key, expect } of [...requiredOutputs, ...optionalOutputs]) {
    const value = valueOf(outputs, key, expect, problems);
    if (value !== undefined) values.set(key, value);
  }
  if (problems.length > 0) throw new UserError(problems);

  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) throw new UserError(`${name}: not valid YAML (${doc.errors[0]?.message.split('\n')[0]}); fix it or start again from examples/fleet.yaml`);
  if (!isMap(doc.contents)) throw new UserError(`${name}: expected a mapping with fleet, region, controller and pools`);

  const filled: Filled[] = [];
  const left: string[] = [];
  const set = (path: (string | number)[], shown: string, output: string) => {
    const value = values.get(output);
    if (value === undefined) return;
    put(doc, path, value);
    filled.push({ path: shown, output, value });
  };
  set(['fleet'], 'fleet', 'fleet');
  set(['region'], 'region', 'region');
  set(['controller', 'url'], 'controller.url', 'controller_url');
  set(['secrets', 'kmsKeyId'], 'secrets.kmsKeyId', 'agent_kms_key_alias');

  const region = values.get('region') as string;
  // The pool that builds unmerged code gets the pull-request agents' own group and profile.
  const pullRequestLabel = String(doc.getIn(['library', 'pullRequestLabel']) ?? 'pull-request');
  const pools = doc.get('pools', true);
  if (isSeq(pools)) {
    pools.items.forEach((pool, i) => {
      if (!isMap(pool)) return;
      const poolName = String(pool.get('name') ?? i);
      if (pool.has('hosts')) return; // a static pool: its machines are not in the CI VPC's subnets
      const own = pool.get('region');
      if (typeof own === 'string' && own !== region) {
        left.push(`pools.${poolName} runs in ${own}, not in ${region} where terraform/jenkins made the subnets: its subnets, securityGroups and instanceProfile are left as they are`);
        return;
      }
      const labels = pool.get('labels');
      const review = isSeq(labels) && labels.items.some((label) => String(isScalar(label) ? label.value : label) === pullRequestLabel);
      const [groupOutput, profileOutput] = review ? ['review_agent_security_group_id', 'review_agent_instance_profile'] : ['agent_security_group_id', 'agent_instance_profile'];
      set(['pools', i, 'subnets'], `pools.${poolName}.subnets`, 'agent_subnet_ids');
      const group = values.get(groupOutput) as string;
      put(doc, ['pools', i, 'securityGroups'], [group]);
      filled.push({ path: `pools.${poolName}.securityGroups`, output: groupOutput, value: [group] });
      set(['pools', i, 'instanceProfile'], `pools.${poolName}.instanceProfile`, profileOutput);
    });
  }

  set(['lock', 'table'], 'lock.table', 'lock_table');
  fillQueues(doc, values.get('interruption_queue_url') as string[] | undefined, outputs.get('interruption_queue_url')?.from ?? '', filled);

  if (values.has('state_bucket') || values.has('state_bucket_region')) {
    if (doc.hasIn(['library', 'jenkinsfile', 'backendConfig'])) {
      set(['library', 'jenkinsfile', 'backendConfig', 'bucket'], 'library.jenkinsfile.backendConfig.bucket', 'state_bucket');
      set(['library', 'jenkinsfile', 'backendConfig', 'region'], 'library.jenkinsfile.backendConfig.region', 'state_bucket_region');
    } else {
      left.push(`${name} has no library.jenkinsfile.backendConfig, so the state bucket is not written (the deploy check of \`provisioner doctor\` says what it needs)`);
    }
  }
  // The deploy's inputs that no root of ours outputs (the app's certificate, the backup vault of
  // another account): given on the command line, written where the pipeline reads them.
  // REGION.NAME goes to that entry of library.jenkinsfile.regions (one state per region).
  const regions = doc.getIn(['library', 'jenkinsfile', 'regions'], true);
  const regionNames = isSeq(regions) ? regions.items.map((item) => (isMap(item) ? String(item.get('name')) : '')) : [];
  for (const [key, value] of Object.entries(deployVars)) {
    if (!doc.hasIn(['library', 'jenkinsfile'])) throw new UserError(`--deploy-var ${key}: ${name} has no library.jenkinsfile section to put it in`);
    const dot = key.indexOf('.');
    if (dot < 0) {
      // A shared value that every region overrides would never reach a plan.
      if (regionNames.length > 0 && regionNames.every((_, i) => doc.hasIn(['library', 'jenkinsfile', 'regions', i, 'vars', key]))) {
        throw new UserError(`--deploy-var ${key}: every region of ${name} library.jenkinsfile.regions gives its own ${key}, so a shared one would reach no plan; give it per region (--deploy-var ${regionNames[0]}.${key}=...)`);
      }
      put(doc, ['library', 'jenkinsfile', 'vars', key], value);
      filled.push({ path: `library.jenkinsfile.vars.${key}`, output: '--deploy-var', value });
      continue;
    }
    const [region, variable] = [key.slice(0, dot), key.slice(dot + 1)];
    const index = regionNames.indexOf(region);
    if (index < 0) {
      throw new UserError(`--deploy-var ${key}: ${name} library.jenkinsfile.regions has no region ${region}${regionNames.length > 0 ? ` (it has ${regionNames.join(', ')})` : ''}`);
    }
    put(doc, ['library', 'jenkinsfile', 'regions', index, 'vars', variable], value);
    filled.push({ path: `library.jenkinsfile.regions[${index}].vars.${variable}`, output: '--deploy-var', value });
  }
  return { text: doc.toString({ lineWidth: 0, flowCollectionPadding: false }), filled, left };
}

/**
 * The interruption queues given (one per region's root) in place of the file's queue of the same
 * region; the file's queues of other regions stay. One queue is written as `interruptions.queue`,
 * several as `interruptions.queues`.
 */
function fillQueues(doc: Document, given: string[] | undefined, from: string, filled: Filled[]): void {
  if (!given) return;
  const regions = new Map<string, string>();
  for (const url of given) {
    const region = queueRegion(url) ?? url;
    const other = regions.get(region);
    if (other !== undefined) throw new UserError(`${from}: output interruption_queue_url names two queues in ${region} (${other} and ${url}); give one root's outputs per region`);
    regions.set(region, url);
  }
  const single = doc.getIn(['interruptions', 'queue']);
  const list = doc.getIn(['interruptions', 'queues'], true);
  const existing = [...(typeof single === 'string' ? [single] : []), ...(isSeq(list) ? list.items.map((item) => String(isScalar(item) ? item.value : item)) : [])];
  const queues = existing.map((url) => {
    const region = queueRegion(url);
    const replacement = region === undefined ? undefined : regions.get(region);
    if (region !== undefined) regions.delete(region);
    return replacement ?? url;
  });
  queues.push(...regions.values());
  if (queues.length === 1) {
    if (doc.hasIn(['interruptions', 'queues'])) doc.deleteIn(['interruptions', 'queues']);
    put(doc, ['interruptions', 'queue'], queues[0] as string);
    filled.push({ path: 'interruptions.queue', output: 'interruption_queue_url', value: queues[0] as string });
  } else {
    if (doc.hasIn(['interruptions', 'queue'])) doc.deleteIn(['interruptions', 'queue']);
    put(doc, ['interruptions', 'queues'], queues);
    filled.push({ path: 'interruptions.queues', output: 'interruption_queue_url', value: queues });
  }
}
