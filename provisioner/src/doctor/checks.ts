// The repository's cross-checks, as pure functions of the files `readRepository` read: each check
// returns the problems it found, one sentence each naming the file, the thing and what disagrees.
import { isStaticPool, queueRegion } from '../config/schema.ts';
import { UserError } from '../errors.ts';
import type { Fleet } from '../model.ts';
import { staleFiles } from '../library/command.ts';
import { renderLibrary } from '../library/render.ts';
import { steps as librarySteps } from '../library/steps.ts';
import { deployments } from '../library/schema.ts';
import { labelMatches, parseLabelExpression } from '../plan/labels.ts';
import { callArgument, groovyBlocks, readJenkinsfile, type Block, type JenkinsfileFacts } from './jenkinsfile.ts';
import { paths, type Repository } from './repository.ts';

export type CheckName =
  | 'fleet'
  | 'reach'
  | 'labels'
  | 'tools'
  | 'library'
  | 'credentials'
  | 'account'
  | 'plugins'
  | 'deploy'
  | 'approval'
  | 'isolation'
  | 'fresh'
  | 'values'
  | 'controller';

export interface CheckResult {
  name: CheckName;
  /** What holds when the check passes. */
  title: string;
  problems: string[];
  /** What was looked at, for the report (e.g. "3 stages, 2 pools"). */
  notes: string[];
  /** What must be filled in before a deploy: not a problem of the repository, so no exit code 1. */
  todo?: string[];
  /** Why the check did not run (the live controller without JENKINS_URL). */
  skipped?: string;
}

const defaultLibrary = { name: 'bank-pipeline', version: 'v1.0.0' };

interface Need {
  plugin: string;
  /** Other plugins that bring it along as a dependency. */
  orVia?: string[];
  because: string;
}

// What Groovy in the Jenkinsfile and vars/ calls, and the plugin that provides it. Strings and
// comments are masked before matching, so a `sh 'docker build'` is not a docker-workflow need.
const groovyNeeds: { pattern: RegExp; need: Need }[] = [
  { pattern: /\bpipeline\s*\{/, need: { plugin: 'pipeline-model-definition', orVia: ['workflow-aggregator'], because: 'Declarative pipeline' } },
  { pattern: /\bwithCredentials\s*\(/, need: { plugin: 'credentials-binding', because: 'withCredentials' } },
  { pattern: /\b(?:AmazonWebServicesCredentialsBinding|aws\s*\(\s*credentialsId)/, need: { plugin: 'aws-credentials', because: 'the AWS credentials binding' } },
  { pattern: /\bjunit\b/, need: { plugin: 'junit', because: 'junit' } },
  { pattern: /\btimestamps\s*\(/, need: { plugin: 'timestamper', because: 'timestamps()' } },
  { pattern: /\block\s*\(/, need: { plugin: 'lockable-resources', because: 'lock' } },
  { pattern: /\binput\s*[({]/, need: { plugin: 'pipeline-input-step', orVia: ['workflow-aggregator'], because: 'input' } },
  { pattern: /\b(?:stash|unstash|timeout|dir)\s*\(/, need: { plugin: 'workflow-basic-steps', orVia: ['workflow-aggregator'], because: 'stash, unstash, timeout or dir' } },
  { pattern: /\blibraryResource\s*\(/, need: { plugin: 'pipeline-groovy-lib', orVia: ['workflow-aggregator'], because: 'libraryResource' } },
  {
    pattern: /\b(?:readJSON|writeJSON|readYaml|writeYaml|readProperties|readCSV|writeCSV|findFiles|sha256|sha1|compareVersions|readManifest)\s*\(/,
    need: { plugin: 'pipeline-utility-steps', because: 'a pipeline utility step (readJSON, readYaml, findFiles, sha256...)' },
  },
  { pattern: /\bdocker\s*\.\s*(?:image|build|withRegistry|withServer|withTool)\b|\bwithDockerRegistry\s*\(/, need: { plugin: 'docker-workflow', because: 'the docker global variable' } },
  { pattern: /\bwithAWS\s*\(/, need: { plugin: 'pipeline-aws', because: 'withAWS' } },
  { pattern: /\bsshagent\s*\(/, need: { plugin: 'ssh-agent', because: 'sshagent' } },
  { pattern: /\bansiColor\s*\(/, need: { plugin: 'ansicolor', because: 'ansiColor' } },
];

/** Removes comments and string contents, so only code is matched. */
function code(source: string): string {
  return source
    .replace(/'''[\s\S]*?'''|"""[\s\S]*?"""/g, "''")
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"/g, "''")
    .replace(/\/\/[^\n]*/g, ' ');
}

function fleetCheck(repo: Repository): CheckResult {
  const result: CheckResult = { name: 'fleet', title: `${repo.fleet.path} is valid`, problems: [], notes: [] };
  if (!repo.fleet.ok) {
    result.problems.push(...repo.fleet.problems);
    return result;
  }
  const fleet = repo.fleet.value;
  result.notes.push(`${fleet.pools.length} pools: ${fleet.pools.map((p) => p.name).join(', ')}`);
  result.problems.push(...interruptionReach(repo.fleet.path, fleet));
  return result;
}

/**
 * EC2 sends a Spot instance's interruption notices to EventBridge in the instance's own region, and
 * terraform/modules/interruption-queue's rules forward them from the queue's region only: a Spot pool
 * in a region without a queue would be reclaimed without `watch` hearing of it, builds and all.
 */
function interruptionReach(path: string, fleet: Fleet): string[] {
  const queues = fleet.interruptions?.queues ?? [];
  if (queues.length === 0) return [];
  const regions = new Set(queues.flatMap((url) => queueRegion(url) ?? []));
  const field = queues.length === 1 ? 'interruptions.queue' : 'interruptions.queues';
  const unheard = fleet.pools.filter((p) => (p.capacity === 'spot' || p.capacity === 'spot-then-on-demand') && !regions.has(p.region));
  return unheard.map(
    (p) => `${path} pool ${p.name} launches Spot instances in ${p.region}, but ${field} has no queue in ${p.region} (only in ${[...regions].join(', ')}): EC2 sends the notices to EventBridge in the instance's region, so watch would not hear of this pool's interruptions; add that region's queue to interruptions.queues (terraform/interruptions makes it there; terraform/jenkins's spot_regions lets the provisioner read it), or give this pool capacity: on-demand`,
  );
}

/** A host name that means this machine: an agent elsewhere that dials it reaches itself. */
function isLoopback(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return host === 'localhost' || host.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::1' || host === '0.0.0.0' || host === '::';
}

function hostOf(url: string): string | undefined {
  return URL.canParse(url) ? new URL(url).hostname : undefined;
}

/**
 * An EC2 agent downloads agent.jar from the controller's root URL and connects back to it over
 * WebSocket: the provisioner writes controller.url into its bootstrap, and Jenkins builds the agent's
 * WebSocket URL from its own root URL (casc.yaml unclassified.location.url). Either on this machine's
 * loopback, or the root URL unset, and no instance launched on EC2 ever comes online. The sandbox's
 * EC2 (an endpoint on loopback) launches its agents on this machine, where loopback is right.
 */
function reachCheck(repo: Repository): CheckResult {
  const result: CheckResult = { name: 'reach', title: "agents launched on EC2 can reach the controller's URL", problems: [], notes: [] };
  if (!repo.fleet.ok) {
    result.problems.push(`${repo.fleet.path} is not valid, so the pools are unknown`);
    return result;
  }
  const fleet = repo.fleet.value;
  const ec2Pools = fleet.pools.filter((pool) => !isStaticPool(pool)).map((pool) => pool.name);
  const endpointHost = repo.ec2Endpoint === undefined ? undefined : hostOf(repo.ec2Endpoint);
  if (ec2Pools.length === 0) {
    result.notes.push('no pool launches on EC2');
    return result;
  }
  if (endpointHost !== undefined && isLoopback(endpointHost)) {
    result.notes.push(`EC2 at ${repo.ec2Endpoint} launches its agents on this machine`);
    return result;
  }
  const pools = `pool${ec2Pools.length === 1 ? '' : 's'} ${ec2Pools.join(', ')}`;
  const fix =
    "put the controller's internal load balancer URL there (`terraform -chdir=terraform/jenkins output -raw controller_url`), or for a local try run the sandbox (`provisioner sandbox`, README.md)";
  const controllerHost = hostOf(fleet.controller.url);
  if (controllerHost !== undefined && isLoopback(controllerHost)) {
    result.problems.push(
      `${repo.fleet.path} controller.url is ${fleet.controller.url}, this machine's loopback: the agents of ${pools} launch on EC2 and connect back to that URL, which from there is the instance itself, so they never come online; ${fix}`,
    );
  }
  if (repo.casc.ok) {
    const location: unknown = repo.casc.value.data?.unclassified?.location?.url;
    const at = `${paths.casc} unclassified.location.url`;
    if (typeof location !== 'string' || location.trim() === '') {
      result.problems.push(`${at} is not set: Jenkins then has no root URL to give the agents of ${pools} for their WebSocket connection; set it to the controller's URL as the agents reach it ("\${JENKINS_URL}")`);
    } else {
      const locationHost = location.includes('${') ? undefined : hostOf(location);
      if (locationHost !== undefined && isLoopback(locationHost)) {
        result.problems.push(`${at} is ${location}, this machine's loopback: Jenkins gives the agents of ${pools} that URL for their WebSocket connection, which they cannot reach from EC2; ${fix}`);
      }
    }
  } else result.problems.push(...repo.casc.problems);
  result.notes.push(`${pools} connect${ec2Pools.length === 1 ? 's' : ''} to ${fleet.controller.url}`);
  return result;
}

/** The library's steps and the tool each needs, from the library's own table (library/steps.ts). */
function stepTools(repo: Repository): Map<string, string> | undefined {
  const library = repo.fleet.ok ? repo.fleet.value.library : undefined;
  return library ? new Map(librarySteps(library).map((step) => [step.name, step.tool])) : undefined;
}

function libraryStepNames(repo: Repository): string[] {
  const fromVars = repo.steps.ok ? [...repo.steps.value.keys()] : [];
  return [...new Set([...(stepTools(repo)?.keys() ?? []), ...fromVars])];
}

function jenkinsfileFacts(repo: Repository): JenkinsfileFacts | undefined {
  return repo.jenkinsfile.ok ? readJenkinsfile(repo.jenkinsfile.value, libraryStepNames(repo)) : undefined;
}

function labelsAndTools(repo: Repository, facts: JenkinsfileFacts | undefined): [CheckResult, CheckResult] {
  const labels: CheckResult = { name: 'labels', title: 'every agent label a Jenkinsfile stage uses is served by a pool', problems: [], notes: [] };
  const tools: CheckResult = { name: 'tools', title: 'every library step runs only on pools that have its tool', problems: [], notes: [] };
  if (!repo.jenkinsfile.ok) {
    labels.problems.push(...repo.jenkinsfile.problems);
    tools.problems.push(...repo.jenkinsfile.problems);
  }
  if (!repo.fleet.ok) {
    const why = `${repo.fleet.path} is not valid, so the pools are unknown`;
    labels.problems.push(why);
    tools.problems.push(why);
  }
  if (!facts || !repo.fleet.ok) return [labels, tools];
  const pools = repo.fleet.value.pools;
  const toolOf = stepTools(repo);
  if (!toolOf) tools.problems.push(`${repo.fleet.path} has no library: section, so the steps' tools are unknown`);
  const file = paths.jenkinsfile;
  if (facts.stages.length === 0) labels.problems.push(`${file}: no stage found`);
  let checkedSteps = 0;
  for (const stage of facts.stages) {
    const where = `${file}:${stage.line}: stage '${stage.name}'`;
    if (stage.label === undefined) {
      if (stage.steps.length > 0) labels.problems.push(`${where} calls ${stage.steps.join(', ')} without an agent (give the stage an agent { label '...' })`);
      continue;
    }
    if (stage.label === 'any') {
      labels.problems.push(`${where} runs on any agent; give it a label so it lands on a pool that has its tools`);
      continue;
    }
    let serving;
    try {
      const asked = parseLabelExpression(stage.label);
      serving = pools.filter((pool) => labelMatches(asked, pool.labels));
    } catch (err) {
      labels.problems.push(`${where}: ${(err as Error).message}`);
      continue;
    }
    if (serving.length === 0) {
      labels.problems.push(
        `${where} runs on label '${stage.label}', which no pool in ${repo.fleet.path} serves (pools: ${pools.map((p) => `${p.name} [${p.labels.join(' ')}]`).join(', ') || 'none'})`,
      );
      continue;
    }
    for (const step of stage.steps) {
      const tool = toolOf?.get(step);
      if (tool) {
        checkedSteps++;
        for (const pool of serving.filter((p) => !(p.tools as readonly string[]).includes(tool))) {
          tools.problems.push(
            `${where} calls ${step}, which needs ${tool}, but pool ${pool.name} serves label '${stage.label}' and its tools are [${pool.tools.join(', ')}] (add ${tool} to pools.${pool.name}.tools or change the stage's label)`,
          );
        }
      }
    }
  }
  labels.notes.push(`${facts.stages.length} stages, ${pools.length} pools`);
  tools.notes.push(`${checkedSteps} step-tool pairs`);
  return [labels, tools];
}

/**
 * The library the Jenkinsfile loads is the one casc.yaml pins, at the version fleet.yaml renders
 * it for, and Jenkins can load it as written: pipeline-groovy-lib's
 * LibraryConfiguration.defaultedVersion refuses any version in `@Library` when
 * allowVersionOverride is false (even the default one), and a library without defaultVersion
 * cannot be loaded without one.
 */
function libraryCheck(repo: Repository, facts: JenkinsfileFacts | undefined): CheckResult {
  const result: CheckResult = { name: 'library', title: "the Jenkinsfile's @Library loads the version casc.yaml pins and fleet.yaml renders", problems: [], notes: [] };
  const fleetLibrary = repo.fleet.ok ? { where: `${repo.fleet.path} library${repo.fleet.value.library ? '' : ' (defaults)'}`, ...(repo.fleet.value.library ?? defaultLibrary) } : undefined;
  const configured = new Map<string, { at: string; defaultVersion: string | undefined; allowVersionOverride: boolean }>();
  if (repo.casc.ok) {
    const libraries: unknown = repo.casc.value.data?.unclassified?.globalLibraries?.libraries;
    if (!Array.isArray(libraries) || libraries.length === 0) {
      result.problems.push(`${paths.casc}: no library in unclassified.globalLibraries.libraries`);
    } else {
      libraries.forEach((library: Record<string, unknown>, i: number) => {
        const at = `${paths.casc} unclassified.globalLibraries.libraries[${i}]`;
        const defaultVersion = typeof library.defaultVersion === 'string' && library.defaultVersion.trim() ? library.defaultVersion.trim() : undefined;
        // Left out, JCasC keeps the plugin's default: overrides allowed.
        const allowVersionOverride = library.allowVersionOverride !== false;
        configured.set(String(library.name), { at, defaultVersion, allowVersionOverride });
        if (allowVersionOverride) result.problems.push(`${at}: allowVersionOverride must be false (a Jenkinsfile could load any version, outside the sandbox)`);
        if (library.implicit === true) result.problems.push(`${at}: implicit must be false (every pipeline would load the library unasked)`);
        if (defaultVersion === undefined) result.problems.push(`${at}: no defaultVersion, so @Library('${String(library.name)}') fails with "No version specified for library ${String(library.name)}"`);
        if (fleetLibrary && String(library.name) === fleetLibrary.name && defaultVersion !== undefined && defaultVersion !== fleetLibrary.version) {
          result.problems.push(`${at} pins ${fleetLibrary.name} to ${defaultVersion} but ${fleetLibrary.where} renders it for ${fleetLibrary.version}`);
        }
      });
      if (fleetLibrary && !configured.has(fleetLibrary.name)) {
        result.problems.push(`${paths.casc} defines no library named '${fleetLibrary.name}' (${fleetLibrary.where}); it defines ${[...configured.keys()].join(', ')}`);
      }
    }
  } else result.problems.push(...repo.casc.problems);

  if (facts) {
    if (facts.libraries.length === 0) result.problems.push(`${paths.jenkinsfile}: no @Library('NAME') line`);
    for (const reference of facts.libraries) {
      const where = `${paths.jenkinsfile}:${reference.line} @Library('${reference.name}${reference.version === undefined ? '' : `@${reference.version}`}')`;
      if (fleetLibrary && reference.name !== fleetLibrary.name) {
        result.problems.push(`${where} loads library '${reference.name}' but ${fleetLibrary.where} names '${fleetLibrary.name}'`);
        continue;
      }
      const library = configured.get(reference.name);
      if (!library) {
        if (repo.casc.ok && configured.size > 0) result.problems.push(`${where} loads a library ${paths.casc} does not define, so every build fails`);
        continue;
      }
      if (reference.version !== undefined && !library.allowVersionOverride) {
        result.problems.push(
          `${where} names a version, but ${library.at} has allowVersionOverride: false: pipeline-groovy-lib then refuses any version in the annotation, even the default one, and every build aborts ("Version override not permitted for library ${reference.name}"); write @Library('${reference.name}') _`,
        );
      }
    }
    const loaded = facts.libraries.map((r) => `${r.name}@${r.version ?? configured.get(r.name)?.defaultVersion ?? '(none)'}`);
    result.notes.push(`loads ${loaded.join(', ') || 'nothing'}`);
  } else if (!repo.jenkinsfile.ok) result.problems.push(...repo.jenkinsfile.problems);
  return result;
}

/** A credential casc.yaml defines for the whole controller. */
interface SystemCredential {
  id: string;
  kind: string;
  /** GLOBAL (every job may bind it; JCasC's default) or SYSTEM (Jenkins itself only). */
  scope: string;
}

/** Credential ids defined in casc.yaml's system store (credentials.system.domainCredentials[].credentials[].<kind>). */
function systemCredentials(casc: Repository['casc']): SystemCredential[] {
  const found: SystemCredential[] = [];
  if (!casc.ok) return found;
  const domains: unknown = casc.value.data?.credentials?.system?.domainCredentials;
  for (const domain of Array.isArray(domains) ? domains : []) {
    for (const credential of Array.isArray(domain?.credentials) ? domain.credentials : []) {
      for (const [kind, body] of Object.entries(credential ?? {})) {
        const { id, scope } = (body ?? {}) as { id?: unknown; scope?: unknown };
        if (typeof id === 'string') found.push({ id, kind, scope: typeof scope === 'string' ? scope : 'GLOBAL' });
      }
    }
  }
  return found;
}

/** A job casc.yaml's Job DSL makes, as far as the checks need it. */
interface CascJob {
  name: string;
  /** Credential ids in the job's folder (folderCredentialsProperty): visible to its builds only. */
  credentials: string[];
  /** It discovers pull requests (from the repository or forks). */
  buildsPullRequests: boolean;
  /** The includes of its headWildcardFilter, when it has one (which branches it builds). */
  branchIncludes: string | undefined;
}

function descendants(block: Block): Block[] {
  return block.children.flatMap((child) => [child, ...descendants(child)]);
}

/** The jobs of casc.yaml's Job DSL scripts (jobs[].script). */
function cascJobs(casc: Repository['casc']): CascJob[] {
  if (!casc.ok || !Array.isArray(casc.value.data?.jobs)) return [];
  const jobs: CascJob[] = [];
  for (const entry of casc.value.data.jobs as { script?: unknown }[]) {
    if (typeof entry?.script !== 'string') continue;
    for (const block of groovyBlocks(entry.script).children) {
      const name = /^(?:multibranchPipelineJob|pipelineJob|folder|organizationFolder)\s*\(\s*'([^']+)'\s*\)$/.exec(block.head)?.[1];
      if (name === undefined) continue;
      const all = descendants(block);
      const credentials = all
        .filter((b) => b.head === 'folderCredentialsProperty')
        .flatMap((property) => descendants(property).filter((b) => b.head === 'credentials'))
        .flatMap((list) => list.children.map((credential) => callArgument(credential.text, 'id')))
        .filter((id): id is string => id !== undefined);
      const filter = all.find((b) => b.head === 'headWildcardFilter');
      jobs.push({
        name,
        credentials,
        buildsPullRequests: /\bgitHub(?:PullRequest|Fork)Discovery\b/.test(block.text),
        branchIncludes: filter ? callArgument(filter.text, 'includes') : undefined,
      });
    }
  }
  return jobs;
}

/** Every credential id casc.yaml defines, in the system store or a job's folder, with where. */
function definedCredentials(casc: Repository['casc']): Map<string, string> {
  const ids = new Map<string, string>();
  for (const credential of systemCredentials(casc)) ids.set(credential.id, 'credentials.system');
  for (const job of cascJobs(casc)) for (const id of job.credentials) if (!ids.has(id)) ids.set(id, `the folder of job ${job.name}`);
  return ids;
}

function credentialsCheck(repo: Repository): CheckResult {
  const result: CheckResult = { name: 'credentials', title: 'every credential id the library and casc.yaml use is defined in casc.yaml', problems: [], notes: [] };
  if (!repo.casc.ok) {
    result.problems.push(...repo.casc.problems);
    return result;
  }
  const defined = definedCredentials(repo.casc);
  const used: { id: string; by: string }[] = [];
  if (repo.steps.ok) {
    for (const [step, text] of repo.steps.value) {
      for (const m of text.matchAll(/\bcredentialsId\s*:\s*(?:'([^'$]+)'|"([^"$]+)")/g)) used.push({ id: (m[1] ?? m[2]) as string, by: `${paths.vars}/${step}.groovy` });
    }
  } else result.problems.push(...repo.steps.problems);
  const library = repo.fleet.ok ? repo.fleet.value.library : undefined;
  if (library) {
    used.push({ id: library.docker.credentialsId, by: `${repo.fleet.path} library.docker.credentialsId` });
    used.push({ id: library.terraform.credentialsId, by: `${repo.fleet.path} library.terraform.credentialsId` });
    used.push({ id: library.terraform.planCredentialsId, by: `${repo.fleet.path} library.terraform.planCredentialsId` });
  }
  // casc.yaml refers to its own credentials: the library's retriever, the branch source, webhooks.
  for (const m of repo.casc.value.text.matchAll(/\bcredentialsId\s*(?::\s*|\(\s*)['"]?([A-Za-z0-9._-]+)['"]?/g)) {
    used.push({ id: m[1] as string, by: paths.casc });
  }
  const reported = new Set<string>();
  for (const { id, by } of used) {
    if (defined.has(id) || reported.has(`${id} ${by}`)) continue;
    reported.add(`${id} ${by}`);
    result.problems.push(`${by} uses credential '${id}', which ${paths.casc} does not define (defined: ${[...defined.keys()].join(', ') || 'none'})`);
  }
  result.notes.push(`${new Set(used.map((u) => u.id)).size} ids used, ${defined.size} defined`);
  return result;
}

/** What the provisioner's service account needs on the controller, and no more. */
export const serviceAccountPermissions = ['Overall/Read', 'Agent/Create', 'Agent/Configure', 'Agent/Connect', 'Agent/Delete', 'Agent/Disconnect'];

/**
 * The pools `watch` scales with the build queue (those with `max`): while there is one, the
 * service account also needs Job/Read, since Jenkins shows a caller only the queue items of jobs it
 * may read; while there is none, Job/Read is more than it needs.
 */
export function queueReaders(pools: ReadonlyArray<{ name: string; max: number; scaling?: unknown }>): string[] {
  return pools.filter((p) => p.scaling !== undefined).map((p) => p.name);
}

/** The service account's permissions for this fleet: Job/Read only when a pool follows the queue. */
export function serviceAccountPermissionsFor(pools: ReadonlyArray<{ name: string; max: number; scaling?: unknown }>): string[] {
  return queueReaders(pools).length > 0 ? [...serviceAccountPermissions, 'Job/Read'] : serviceAccountPermissions;
}

function accountCheck(repo: Repository): CheckResult {
  const result: CheckResult = {
    name: 'account',
    title: "casc.yaml grants fleet.yaml's controller.user exactly what the provisioner needs",
    problems: [],
    notes: [],
  };
  if (!repo.casc.ok || !repo.fleet.ok) {
    if (!repo.casc.ok) result.problems.push(...repo.casc.problems);
    if (!repo.fleet.ok) result.problems.push(`${repo.fleet.path} is not valid, so the service account is unknown`);
    return result;
  }
  const user = repo.fleet.value.controller.user;
  const where = `${paths.casc} jenkins.authorizationStrategy.globalMatrix.entries`;
  const entries: unknown = repo.casc.value.data?.jenkins?.authorizationStrategy?.globalMatrix?.entries;
  if (!Array.isArray(entries)) {
    result.problems.push(`${where} is missing: the controller's permissions are not configured as code`);
    return result;
  }
  // Everything the account holds: its own entry, and whatever every logged-in user gets.
  const granted = new Map<string, string>();
  for (const entry of entries as Record<string, { name?: unknown; permissions?: unknown } | undefined>[]) {
    const own = entry.user?.name === user ? entry.user : undefined;
    const everyone = entry.group?.name === 'authenticated' ? entry.group : undefined;
    for (const source of [own, everyone]) {
      if (!source || !Array.isArray(source.permissions)) continue;
      for (const permission of source.permissions) if (!granted.has(String(permission))) granted.set(String(permission), source === own ? 'directly' : 'through the group authenticated');
    }
  }
  const scaled = queueReaders(repo.fleet.value.pools);
  const needed = serviceAccountPermissionsFor(repo.fleet.value.pools);
  for (const permission of needed) {
    if (granted.has(permission)) continue;
    const why = permission === 'Job/Read' ? `, which watch needs to see the build queue (${repo.fleet.path} scales ${scaled.join(', ')} with max)` : ', which the provisioner needs';
    result.problems.push(`${where} does not grant ${user} ${permission}${why}`);
  }
  for (const [permission, how] of granted) {
    if (needed.includes(permission)) continue;
    const why = permission === 'Job/Read' ? ` (only a fleet with a pool that has max needs it, for watch to see the queue; ${repo.fleet.path} has none)` : '';
    result.problems.push(`${where} grants ${user} ${permission} ${how}: more than the provisioner needs${why}`);
  }
  result.notes.push(`${user}: ${[...granted.keys()].join(', ') || 'nothing'}`);
  return result;
}

function cascNeeds(data: Record<string, unknown> | undefined, text: string): Need[] {
  const needs: Need[] = [{ plugin: 'configuration-as-code', because: 'casc.yaml itself' }];
  const jobs = data?.jobs;
  if (jobs) needs.push({ plugin: 'job-dsl', because: 'casc.yaml jobs' });
  const jobText = JSON.stringify(jobs ?? '');
  if (/\bmultibranchPipelineJob\b/.test(jobText)) needs.push({ plugin: 'workflow-multibranch', orVia: ['workflow-aggregator'], because: 'the multibranchPipelineJob in casc.yaml jobs' });
  if (/\bgithub\s*\{/.test(jobText)) needs.push({ plugin: 'github-branch-source', because: 'the GitHub branch source in casc.yaml jobs' });
  if (/\bfolderCredentialsProperty\b/.test(jobText)) needs.push({ plugin: 'cloudbees-folder', orVia: ['workflow-aggregator', 'github-branch-source'], because: 'folder credentials in casc.yaml jobs' });
  if (/\baws\s*\{/.test(jobText)) needs.push({ plugin: 'aws-credentials', because: 'an AWS credential in casc.yaml jobs' });
  if (/\bheadWildcardFilter\b/.test(jobText)) needs.push({ plugin: 'scm-api', orVia: ['github-branch-source', 'workflow-aggregator'], because: 'headWildcardFilter in casc.yaml jobs' });
  if (/\bglobalMatrix\s*:|\bprojectMatrix\s*:/.test(text)) needs.push({ plugin: 'matrix-auth', because: 'matrix authorization in casc.yaml' });
  if (/\bglobalLibraries\s*:/.test(text)) needs.push({ plugin: 'pipeline-groovy-lib', orVia: ['workflow-aggregator'], because: 'casc.yaml globalLibraries' });
  if (/^\s*git\s*:/m.test(text)) needs.push({ plugin: 'git', because: 'the git retriever in casc.yaml' });
  if (/^\s*-?\s*aws\s*:/m.test(text)) needs.push({ plugin: 'aws-credentials', because: 'the aws credential in casc.yaml' });
  if (/\bgitHubPluginConfig\s*:/.test(text)) needs.push({ plugin: 'github', orVia: ['github-branch-source'], because: 'casc.yaml gitHubPluginConfig' });
  return needs;
}

function pluginsCheck(repo: Repository): CheckResult {
  const result: CheckResult = { name: 'plugins', title: 'every plugin casc.yaml, the Jenkinsfile and the library need is in plugins.txt', problems: [], notes: [] };
  if (!repo.plugins.ok) {
    result.problems.push(...repo.plugins.problems);
    return result;
  }
  const needs: { need: Need; by: string }[] = [];
  if (repo.casc.ok) for (const need of cascNeeds(repo.casc.value.data, repo.casc.value.text)) needs.push({ need, by: paths.casc });
  else result.problems.push(...repo.casc.problems);
  const groovy: [string, string][] = [];
  if (repo.jenkinsfile.ok) groovy.push([paths.jenkinsfile, repo.jenkinsfile.value]);
  if (repo.steps.ok) for (const [step, text] of repo.steps.value) groovy.push([`${paths.vars}/${step}.groovy`, text]);
  for (const [file, text] of groovy) {
    const plain = code(text);
    for (const { pattern, need } of groovyNeeds) if (pattern.test(plain)) needs.push({ need, by: file });
  }
  const installed = repo.plugins.value;
  const reported = new Set<string>();
  for (const { need, by } of needs) {
    if (installed.has(need.plugin) || (need.orVia ?? []).some((p) => installed.has(p))) continue;
    if (reported.has(`${need.plugin} ${by}`)) continue;
    reported.add(`${need.plugin} ${by}`);
    const via = need.orVia?.length ? ` (or ${need.orVia.join(', ')}, which brings it)` : '';
    result.problems.push(`${by} needs plugin ${need.plugin}${via} for ${need.because}, which ${paths.plugins} does not list`);
  }
  // Needed plugins are often brought by a listed one (workflow-aggregator), so the two counts differ
  // without anything missing: say how each need is met.
  const met = new Map<string, 'listed' | 'brought'>();
  for (const { need } of needs) {
    if (installed.has(need.plugin)) met.set(need.plugin, 'listed');
    else if ((need.orVia ?? []).some((p) => installed.has(p)) && met.get(need.plugin) !== 'listed') met.set(need.plugin, 'brought');
  }
  const listed = [...met.values()].filter((m) => m === 'listed').length;
  const brought = [...met.values()].filter((m) => m === 'brought').length;
  result.notes.push(`${listed + brought} plugins needed: ${listed} listed in ${paths.plugins}, ${brought} brought in by listed ones; ${installed.size} listed in all`);
  return result;
}

/**
 * fleet.yaml gives every input the deploy's Terraform has no default for, and every backend
 * setting its partial backend leaves to init: one place, filled once, checked here rather than
 * found by `terraform init`.
 */
function deployCheck(repo: Repository): CheckResult {
  const result: CheckResult = { name: 'deploy', title: "fleet.yaml gives the deploy's Terraform every input and backend setting it needs", problems: [], notes: [] };
  const library = repo.fleet.ok ? repo.fleet.value.library : undefined;
  if (!library) {
    result.problems.push(`${repo.fleet.path} has no valid library: section, so the deploy's settings are unknown`);
    return result;
  }
  if (!repo.terraform.ok) {
    result.problems.push(...repo.terraform.problems);
    return result;
  }
  const inputs = repo.terraform.value;
  const settings = library.jenkinsfile;
  // Each region gets the shared settings and its own: a key is missing where neither has it.
  const targets = deployments(settings);
  const lacking = (has: (target: (typeof targets)[number]) => boolean) => {
    const without = targets.filter((t) => !has(t));
    if (without.length === 0) return undefined;
    return without.length === targets.length ? '' : ` for region ${without.map((t) => t.name).join(' and ')} (give it there or shared)`;
  };
  for (const name of inputs.requiredVars) {
    const missing = name === settings.imageVariable ? undefined : lacking((t) => name in t.vars);
    if (missing === undefined) continue;
    result.problems.push(`${repo.fleet.path} library.jenkinsfile.vars.${name} is missing${missing}: ${inputs.dir} declares variable ${name} without a default, so the deploy cannot plan`);
  }
  for (const name of inputs.requiredBackendConfig) {
    const missing = lacking((t) => name in t.backendConfig);
    if (missing === undefined) continue;
    result.problems.push(`${repo.fleet.path} library.jenkinsfile.backendConfig.${name} is missing${missing}: ${inputs.dir}'s ${inputs.backend} backend leaves it to init`);
  }
  if (!inputs.requiredVars.includes(settings.imageVariable)) {
    result.problems.push(`${repo.fleet.path} library.jenkinsfile.imageVariable is ${settings.imageVariable}, which ${inputs.dir} does not declare (without a default): the pushed image would not reach the deploy`);
  }
  const regions = settings.regions.length > 0 ? `, for each of ${settings.regions.length} regions (${settings.regions.map((r) => r.name).join(', ')})` : '';
  result.notes.push(`${inputs.dir}: ${inputs.requiredVars.length} variables without a default, ${inputs.requiredBackendConfig.length} backend settings${regions}`);
  return result;
}

/** Users and groups casc.yaml's matrix authorization names. */
function authorizedNames(repo: Repository): Set<string> | undefined {
  if (!repo.casc.ok) return undefined;
  const entries: unknown = repo.casc.value.data?.jenkins?.authorizationStrategy?.globalMatrix?.entries;
  if (!Array.isArray(entries)) return undefined;
  const names = new Set<string>();
  for (const entry of entries as Record<string, { name?: unknown } | undefined>[]) {
    for (const kind of ['user', 'group']) {
      const name = entry?.[kind]?.name;
      if (typeof name === 'string') names.add(name.toLowerCase());
    }
  }
  return names;
}

/**
 * Nothing applies without an approval by the people named for it: every stage calling
 * terraformApply follows a stage whose `input` names a submitter that casc.yaml knows, waits
 * holding no executor (pipeline-input-step: no submitter means anyone who may build), and has a
 * timeout of its own.
 */
function approvalCheck(repo: Repository, facts: JenkinsfileFacts | undefined): CheckResult {
  const result: CheckResult = { name: 'approval', title: 'every apply follows an approval by named people that holds no executor and times out', problems: [], notes: [] };
  if (!facts) {
    if (!repo.jenkinsfile.ok) result.problems.push(...repo.jenkinsfile.problems);
    return result;
  }
  const known = authorizedNames(repo);
  const file = paths.jenkinsfile;
  const approvals = facts.stages.filter((stage) => stage.input);
  for (const stage of approvals) {
    const where = `${file}:${stage.line}: stage '${stage.name}'`;
    const submitter = stage.input?.submitter;
    if (submitter === undefined) {
      result.problems.push(`${where} asks for an approval without a submitter: anyone who may build the job could give it`);
    } else {
      for (const name of submitter.split(',')) {
        if (name !== name.trim()) {
          result.problems.push(`${where}: submitter '${submitter}' has spaces around '${name.trim()}'; Jenkins compares the names untrimmed, so '${name}' matches nobody`);
        } else if (known && !known.has(name.toLowerCase())) {
          result.problems.push(`${where}: submitter '${name}' is no user or group ${paths.casc} authorizes, so nobody of that name can see the build to approve it`);
        }
      }
    }
    if (stage.enclosingLabel !== undefined) {
      result.problems.push(`${where} waits for its approval inside an agent of label '${stage.enclosingLabel}', holding that executor until someone answers; give the approval a stage of its own without an agent`);
    }
    if (!stage.timeout) result.problems.push(`${where} waits for its approval without a timeout of its own (options { timeout(...) }): an unanswered build would wait forever`);
  }
  for (const stage of facts.stages.filter((s) => s.steps.includes('terraformApply'))) {
    if (!approvals.some((approval) => approval.line < stage.line)) {
      result.problems.push(`${file}:${stage.line}: stage '${stage.name}' calls terraformApply, but no stage before it asks for an approval (an input with a submitter)`);
    }
  }
  result.notes.push(`${approvals.length} approval stage(s): ${approvals.map((a) => a.input?.submitter ?? '(anyone)').join(', ') || 'none'}`);
  return result;
}

/**
 * Code nobody has merged never runs where the deploy runs, nor with its credentials: the pools
 * carrying library.pullRequestLabel serve no label of another stage, and the deploy and registry
 * credentials are visible only to a job that builds the deploy branch alone.
 */
function isolationCheck(repo: Repository, facts: JenkinsfileFacts | undefined): CheckResult {
  const result: CheckResult = { name: 'isolation', title: 'unmerged code runs only on its own pool, without the deploy and registry credentials', problems: [], notes: [] };
  const library = repo.fleet.ok ? repo.fleet.value.library : undefined;
  if (!library || !repo.fleet.ok) {
    result.problems.push(`${repo.fleet.path} has no valid library: section, so the pull-request label is unknown`);
    return result;
  }
  const label = library.pullRequestLabel;
  const reviewPools = repo.fleet.value.pools.filter((pool) => pool.labels.includes(label));
  if (reviewPools.length === 0) {
    result.problems.push(`${repo.fleet.path}: no pool carries the label '${label}' (library.pullRequestLabel), so pull requests and other branches have no agent`);
  }
  // Unmerged code gets neither the deploy agents' role nor what their security group may reach.
  const deployPools = repo.fleet.value.pools.filter((pool) => !pool.labels.includes(label));
  for (const pool of reviewPools) {
    for (const other of deployPools) {
      if (pool.instanceProfile !== undefined && pool.instanceProfile === other.instanceProfile) {
        result.problems.push(`${repo.fleet.path} pools.${pool.name} builds pull requests (label '${label}') with instanceProfile ${pool.instanceProfile}, the role of pools.${other.name}: give it the pull-request agents' own (terraform/jenkins output review_agent_instance_profile)`);
      }
      const sharedGroups = (pool.securityGroups ?? []).filter((g) => (other.securityGroups ?? []).includes(g));
      if (sharedGroups.length > 0) {
        result.problems.push(`${repo.fleet.path} pools.${pool.name} builds pull requests (label '${label}') in security group ${sharedGroups.join(', ')}, as pools.${other.name} does: give it the pull-request agents' own (terraform/jenkins output review_agent_security_group_id)`);
      }
    }
  }
  if (facts) {
    for (const stage of facts.stages.filter((s) => s.label !== undefined && s.label !== label && s.label !== 'any')) {
      let asked;
      try {
        asked = parseLabelExpression(stage.label as string);
      } catch {
        continue; // the labels check names a label expression that does not parse
      }
      for (const pool of reviewPools) {
        if (labelMatches(asked, pool.labels)) {
          result.problems.push(`${repo.fleet.path} pools.${pool.name} builds pull requests (label '${label}') and also serves '${stage.label}', the label of stage '${stage.name}': unmerged code would share its agents`);
        }
      }
    }
  }
  if (repo.casc.ok) {
    const deployIds = [library.terraform.credentialsId, library.docker.credentialsId];
    for (const credential of systemCredentials(repo.casc).filter((c) => deployIds.includes(c.id) && c.scope !== 'SYSTEM')) {
      result.problems.push(`${paths.casc} defines '${credential.id}' in credentials.system (scope ${credential.scope}): every job can bind it, the pull-request job too; define it in the folder of the job that builds ${library.deployBranch}`);
    }
    for (const job of cascJobs(repo.casc)) {
      const held = job.credentials.filter((id) => deployIds.includes(id));
      if (held.length === 0) continue;
      if (job.buildsPullRequests) {
        result.problems.push(`${paths.casc} job ${job.name} holds ${held.join(', ')} and builds pull requests: their Jenkinsfile could bind them`);
      }
      if (job.branchIncludes !== library.deployBranch) {
        result.problems.push(`${paths.casc} job ${job.name} holds ${held.join(', ')} but builds ${job.branchIncludes === undefined ? 'every branch it discovers' : `the branches '${job.branchIncludes}'`}; give it headWildcardFilter { includes('${library.deployBranch}') }`);
      }
    }
  } else result.problems.push(...repo.casc.problems);
  result.notes.push(`label ${label}: ${reviewPools.map((p) => p.name).join(', ') || 'no pool'}`);
  return result;
}

/** The committed vars/ and Jenkinsfile match what `provisioner library` renders from fleet.yaml. */
function freshCheck(repo: Repository): CheckResult {
  const result: CheckResult = { name: 'fresh', title: 'the generated library and Jenkinsfile are fresh (provisioner library --check)', problems: [], notes: [] };
  if (!repo.fleet.ok) {
    result.problems.push(`${repo.fleet.path} is not valid, so the library cannot be rendered`);
    return result;
  }
  const library = repo.fleet.value.library;
  if (!library) {
    result.problems.push(`${repo.fleet.path} has no library: section, so the library cannot be rendered`);
    return result;
  }
  if (!repo.terraform.ok) {
    result.problems.push(...repo.terraform.problems);
    return result;
  }
  try {
    const files = renderLibrary(library, repo.fleet.value.pools, repo.terraform.value);
    for (const stale of staleFiles(files, repo.root)) result.problems.push(`${stale}; run \`npx provisioner library\``);
    result.notes.push(`${files.length} generated files`);
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    result.problems.push(...err.problems);
  }
  return result;
}

// The account ids AWS's documentation writes in its examples: in an ARN, a value nobody has filled in.
const documentationAccounts = ['123456789012', '111122223333', '444455556666'];
// Host names reserved for examples (RFC 2606, RFC 6761): no controller answers there.
const reservedHost = /(?:^|\.)(?:example|invalid|test)$|(?:^|\.)example\.(?:com|net|org)$/;

/**
 * fleet.yaml holds this account's values and not the documentation's: the example's subnet and
 * security group ids, an ARN in AWS's example account, a controller under a reserved example
 * domain. Each is something to fill in before a deploy (a todo), not a problem of the repository,
 * whose own fleet.yaml carries the example's ids until an estate is applied.
 */
function valuesCheck(repo: Repository): CheckResult {
  const result: CheckResult = { name: 'values', title: `${repo.fleet.path} holds this account's values, not the examples'`, problems: [], notes: [], todo: [] };
  if (!repo.fleet.ok) {
    result.problems.push(`${repo.fleet.path} is not valid, so its values cannot be checked`);
    return result;
  }
  const fleet = repo.fleet.value;
  const todo = result.todo as string[];
  const file = repo.fleet.path;
  const exampleIds = new Set(repo.example?.match(/\b(?:subnet|sg)-[0-9a-f]{8,17}\b/g) ?? []);
  let host: string | undefined;
  try {
    host = new URL(fleet.controller.url).hostname;
  } catch {
    host = undefined;
  }
  // The values `provisioner init` writes: one to-do naming them all, with the one command that fills them.
  const copied: string[] = [];
  if (host && reservedHost.test(host)) copied.push(`controller.url (${host}: a domain reserved for examples)`);
  for (const pool of fleet.pools) {
    for (const field of ['subnets', 'securityGroups'] as const) {
      if ((pool[field] ?? []).some((id) => exampleIds.has(id))) copied.push(`pools.${pool.name}.${field}`);
    }
  }
  if (copied.length > 0) {
    todo.push(
      `${file} ${copied.join(', ')} still hold the example's values (${paths.example}), not this account's: fill them from terraform/jenkins with \`terraform -chdir=terraform/jenkins output -json > jenkins.outputs.json\` and \`provisioner init --outputs jenkins.outputs.json --force\``,
    );
  }
  // Every other string in the file (the deploy's settings above all): an ARN in an example account.
  const walk = (value: unknown, path: string) => {
    if (typeof value === 'string') {
      const account = documentationAccounts.find((id) => value.includes(`:${id}:`));
      if (account) todo.push(`${file} ${path} ${value} names AWS's example account ${account}: put this account's ARN`);
    } else if (Array.isArray(value)) value.forEach((item, i) => walk(item, `${path}[${i}]`));
    else if (value && typeof value === 'object') for (const [key, item] of Object.entries(value)) walk(item, path ? `${path}.${key}` : key);
  };
  const { source: _source, pools: _pools, ...rest } = fleet;
  walk(rest, '');
  fleet.pools.forEach((pool) => walk({ ...pool, subnets: undefined, securityGroups: undefined }, `pools.${pool.name}`));
  // The app's runtime image installs the database's CA bundle only with this hash (app/bank/db_ca_bundle.py
  // reads it the same way): one line of 64 hex digits besides comments.
  if (repo.caBundlePin !== undefined) {
    const lines = repo.caBundlePin.split('\n').map((line) => line.trim().toLowerCase()).filter((line) => line !== '' && !line.startsWith('#'));
    const howTo = `app/README.md ("The database's CA bundle") says how to check RDS's bundle and pin it`;
    if (lines.length === 0) {
      todo.push(`${paths.caBundlePin} holds no hash yet: the app's runtime image is not built (the pipeline's dockerPush(context: 'app') stops naming this file) until it holds the SHA-256 of the database's CA bundle; ${howTo}`);
    } else if (lines.length !== 1 || !/^[0-9a-f]{64}$/.test(lines[0] as string)) {
      result.problems.push(`${paths.caBundlePin} must hold one SHA-256 (64 hex digits, one line besides comments), found ${lines.length > 1 ? `${lines.length} lines` : `'${lines[0]}'`}: the app's runtime image refuses to build; ${howTo}`);
    }
  }
  result.notes.push(repo.example === undefined ? `${paths.example} not found, so only example domains and accounts are looked for` : `compared with ${paths.example}`);
  return result;
}

/** Runs every repository check. */
export function checkRepository(repo: Repository): CheckResult[] {
  const facts = jenkinsfileFacts(repo);
  const [labels, tools] = labelsAndTools(repo, facts);
  return [
    fleetCheck(repo),
    reachCheck(repo),
    labels,
    tools,
    libraryCheck(repo, facts),
    credentialsCheck(repo),
    accountCheck(repo),
    pluginsCheck(repo),
    deployCheck(repo),
    approvalCheck(repo, facts),
    isolationCheck(repo, facts),
    freshCheck(repo),
    valuesCheck(repo),
  ];
}
