// `provisioner sandbox`: runs the local stand-ins of EC2, SSM and Jenkins in the foreground until
// SIGINT/SIGTERM, printing the `export` lines that point the provisioner at them. `sandbox build`
// queues builds in its Jenkins, `sandbox builds` lists them, and `sandbox busy` / `sandbox idle`
// start a build on an agent at once (or end it), to try draining.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { CommandModule } from '../../src/cli/command.ts';
import type { IoHost } from '../../src/cli/io.ts';
import { UserError } from '../../src/errors.ts';
import type { BuildView } from './jenkins-queue.ts';
import { defaultKeepBuilds, readDuration } from './world.ts';
import { loadFleet } from '../../src/config/load.ts';
import { defaultModulesDir } from './iam/modules-dir.ts';

/** `1500`, `1500ms`, `1.5s`, `2m` -> milliseconds; anything else is the user's mistake. */
export function parseDuration(flag: string, raw: string): number {
  const ms = readDuration(raw);
  if (ms === undefined) throw new UserError(`${flag}: expected a duration such as 1500, 1500ms, 1.5s or 2m, found ${JSON.stringify(raw)}`);
  return ms;
}

function parseRate(flag: string, raw: string): number {
  const n = Number(raw.endsWith('%') ? Number(raw.slice(0, -1)) / 100 : raw);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new UserError(`${flag}: expected a rate from 0 to 1 (or a percentage such as 10%), found ${JSON.stringify(raw)}`);
  return n;
}

interface SandboxFlags {
  state: string;
  port: string;
  region: string;
  bootDelay: string;
  ssmOnlineDelay: string;
  shutdownDelay: string;
  terminatedLinger: string;
  latencyEc2: string;
  latencySsm: string;
  latencyJenkins: string;
  throttleEc2: string;
  throttleSsm: string;
  throttleJenkins: string;
  outOfCapacity: string[];
  typeUnsupported: string[];
  subnetFull: string[];
  ssmNeverOnline: boolean;
  consistencyLag: string;
  vcpuLimit: string;
  spotCapacity: string[];
  agentRetry: string;
  lostAgentTimeout: string;
  queueMaintenance: string;
  executorStart: string;
  keepBuilds: string;
  seed?: string;
  sshHosts: string;
  instantHosts: boolean;
  sshInstances: boolean;
  writeBehind: string;
  interruptionNotice: string;
  kmsKey: string[];
  fleet?: string;
  terraformModules: string;
  imageOwner?: string[];
}

async function run(flags: SandboxFlags, io: IoHost): Promise<void> {
  // The servers load only when the sandbox starts, not for its other subcommands.
  const { defaultOptions, envLines, startSandbox } = await import('./server.ts');
  const { startSandboxSshHosts } = await import('./ssh-hosts.ts');
  const options = defaultOptions(resolve(flags.state));
  const port = Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UserError(`--port: expected a TCP port from 0 to 65535 (0 picks a free one), found ${JSON.stringify(flags.port)}`);
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(flags.region)) throw new UserError(`--region: expected an AWS region such as us-east-1, found ${JSON.stringify(flags.region)}`);
  options.port = port;
  options.region = flags.region;
  options.timing = {
    bootMs: parseDuration('--boot-delay', flags.bootDelay),
    ssmOnlineMs: parseDuration('--ssm-online-delay', flags.ssmOnlineDelay),
    shutdownMs: parseDuration('--shutdown-delay', flags.shutdownDelay),
    lingerMs: parseDuration('--terminated-linger', flags.terminatedLinger),
  };
  options.faults.ec2 = { latencyMs: parseDuration('--latency-ec2', flags.latencyEc2), throttleRate: parseRate('--throttle-ec2', flags.throttleEc2) };
  options.faults.ssm = { latencyMs: parseDuration('--latency-ssm', flags.latencySsm), throttleRate: parseRate('--throttle-ssm', flags.throttleSsm) };
  options.faults.jenkins = { latencyMs: parseDuration('--latency-jenkins', flags.latencyJenkins), throttleRate: parseRate('--throttle-jenkins', flags.throttleJenkins) };
  for (const [flag, subnets] of [['--out-of-capacity', flags.outOfCapacity], ['--type-unsupported', flags.typeUnsupported], ['--subnet-full', flags.subnetFull]] as const) {
    for (const subnet of subnets) if (!/^subnet-[0-9a-f]{8,17}$/.test(subnet)) throw new UserError(`${flag}: expected a subnet id such as subnet-0a1b2c3d, found ${JSON.stringify(subnet)}`);
  }
  options.faults.noCapacitySubnets = flags.outOfCapacity;
  options.faults.unsupportedSubnets = flags.typeUnsupported;
  options.faults.fullSubnets = flags.subnetFull;
  options.faults.ssmNeverOnline = flags.ssmNeverOnline;
  options.faults.consistencyLagMs = parseDuration('--consistency-lag', flags.consistencyLag);
  if (!/^\d+$/.test(flags.vcpuLimit)) throw new UserError(`--vcpu-limit: expected a whole number of vCPUs (0: no limit), found ${JSON.stringify(flags.vcpuLimit)}`);
  options.faults.vcpuLimit = Number(flags.vcpuLimit);
  for (const entry of flags.spotCapacity) {
    const match = /^(\*|[a-z][a-z0-9-]*\.[a-z0-9]+(?:\/[a-z]{2}-[a-z]+-\d[a-z])?)=(\d+)$/.exec(entry);
    if (!match) throw new UserError(`--spot-capacity: expected TYPE=N, TYPE/ZONE=N or *=N (Spot instances alive at once), found ${JSON.stringify(entry)}`);
    options.faults.spotCapacity[match[1] as string] = Number(match[2]);
  }
  options.agentRetrySeconds = parseDuration('--agent-retry', flags.agentRetry) / 1000;
  for (const alias of flags.kmsKey) {
    if (!/^alias\/[a-zA-Z0-9/_-]{1,250}$/.test(alias) || alias.startsWith('alias/aws/')) throw new UserError(`--kms-key: expected a KMS alias name such as alias/jenkins-fleet/bank-ci (not alias/aws/...), found ${JSON.stringify(alias)}`);
  }
  options.kmsAliases = flags.kmsKey;
  if (flags.seed !== undefined) {
    if (!/^\d+$/.test(flags.seed)) throw new UserError(`--seed: expected a whole number, found ${JSON.stringify(flags.seed)}`);
    options.seed = Number(flags.seed);
  }
  options.lostAgentTimeoutMs = parseDuration('--lost-agent-timeout', flags.lostAgentTimeout);
  options.queueMaintenanceMs = parseDuration('--queue-maintenance', flags.queueMaintenance);
  if (options.queueMaintenanceMs < 10) throw new UserError(`--queue-maintenance: expected a period of at least 10ms (Jenkins: 5s), found ${JSON.stringify(flags.queueMaintenance)}`);
  options.executorStartMs = parseDuration('--executor-start', flags.executorStart);
  if (flags.keepBuilds === 'all') options.keepBuilds = null;
  else if (/^\d+$/.test(flags.keepBuilds) && Number(flags.keepBuilds) >= 1) options.keepBuilds = Number(flags.keepBuilds);
  else throw new UserError(`--keep-builds: expected a whole number of builds of at least 1, or all, found ${JSON.stringify(flags.keepBuilds)}`);
  options.instantHosts = flags.instantHosts;
  options.sshInstances = flags.sshInstances;
  options.writeBehindMs = parseDuration('--write-behind', flags.writeBehind);
  options.interruptionNoticeMs = parseDuration('--interruption-notice', flags.interruptionNotice);
  if (flags.fleet) {
    // The file's own values, as terraform/jenkins was applied with them: no environment overrides.
    const fleet = await loadFleet(flags.fleet, {});
    for (const owner of flags.imageOwner ?? []) {
      if (!/^(amazon|aws-marketplace|\d{12})$/.test(owner)) throw new UserError(`--image-owner: expected amazon, aws-marketplace or a 12-digit account id (provisioner-iam's image_owners), found ${JSON.stringify(owner)}`);
    }
    options.iam = { fleet, modulesDir: resolve(flags.terraformModules), ...(flags.imageOwner ? { imageOwners: flags.imageOwner } : {}) };
    // As casc.yaml for this fleet: `watch` must see the queue when some pool follows it.
    options.serviceJobRead = fleet.pools.some((p) => p.max !== undefined && p.scaling !== undefined);
  } else if (flags.imageOwner) {
    throw new UserError('--image-owner: only with --fleet (it is a value of the IAM policy the sandbox evaluates)');
  }
  // A fixed service-account token (e.g. a test's canary) comes from the environment, never from argv.
  if (process.env.SANDBOX_JENKINS_API_TOKEN) options.serviceToken = process.env.SANDBOX_JENKINS_API_TOKEN;

  const sandbox = await startSandbox(options);
  const sshHosts = await startSandboxSshHosts(flags.sshHosts, options.stateDir, sandbox.hosts.toolbox).catch(async (err: unknown) => {
    await sandbox.stop();
    throw err;
  });
  io.result(envLines(sandbox.env).replace(/\n$/, ''));
  io.warn(options.iam
    ? `sandbox: the provisioner's EC2, SSM, DynamoDB and SQS calls are authorised against ${options.iam.modulesDir}/provisioner-iam for fleet ${options.iam.fleet.fleet}`
    : 'sandbox: IAM is not evaluated (give --fleet FILE to authorise every call against terraform/modules/provisioner-iam)');
  io.warn(`sandbox: Spot interruption notices go to the SQS queue ${sandbox.interruptionQueue} (fleet.yaml: interruptions: { queue: ${sandbox.interruptionQueue} })`);
  io.warn(`sandbox: EC2, SSM, DynamoDB, SQS and Jenkins answer on ${sandbox.url} (state in ${options.stateDir}, requests in ${options.stateDir}/requests.log); the lines above are also in ${options.stateDir}/env. Ctrl-C stops it.`);
  await new Promise<void>((done) => {
    const stop = () => { void Promise.resolve(sshHosts?.stop()).then(() => sandbox.stop()).then(done); };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

/** The control endpoint of the sandbox running on `stateDir` (from the URL its env file names). */
function controlUrl(stateDir: string): string {
  try {
    return /^export JENKINS_URL=(\S+)$/m.exec(readFileSync(resolve(stateDir, 'env'), 'utf8'))![1]!.replace(/\/jenkins\/?$/, '');
  } catch {
    throw new UserError(`--state ${stateDir}: no running sandbox found there (expected ${resolve(stateDir, 'env')}); start one with \`provisioner sandbox --state ${stateDir}\``);
  }
}

/** One call to the sandbox's control API; its error answer is the user's to read. */
async function control<T>(stateDir: string, doing: string, path: string, init?: RequestInit): Promise<T> {
  const url = controlUrl(stateDir);
  const response = await fetch(`${url}/_sandbox/${path}`, init).catch((err: Error) => {
    throw new UserError(`the sandbox at ${url} does not answer (${err.message}); is it running?`);
  });
  const body = (await response.json()) as T & { error?: string };
  if (!response.ok) throw new UserError(`sandbox ${doing}: ${body.error}`);
  return body;
}

async function mark(io: IoHost, name: string, state: 'busy' | 'idle', stateDir: string): Promise<void> {
  await control(stateDir, `${state} ${name}`, `agents/${encodeURIComponent(name)}/${state}`, { method: 'POST' });
  io.result(`${name} is now ${state}`);
}

async function interrupt(io: IoHost, instanceId: string, rebalance: boolean, stateDir: string): Promise<void> {
  if (!/^i-[0-9a-f]{8,17}$/.test(instanceId)) throw new UserError(`INSTANCE: expected an instance id such as i-0abc12345678def01, found ${JSON.stringify(instanceId)}`);
  const notice = rebalance ? 'rebalance' : 'warning';
  const answer = await control<{ event: Record<string, unknown>; terminateAt?: number }>(stateDir, `interrupt ${instanceId}`, `instances/${instanceId}/interrupt`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ notice }),
  });
  if (io.json) return io.result('', answer);
  io.result(answer.terminateAt === undefined
    ? `${instanceId}: rebalance recommendation sent to the interruption queue`
    : `${instanceId}: interruption warning sent to the interruption queue; EC2 reclaims it at ${new Date(answer.terminateAt).toISOString()}`);
}

interface BuildFlags {
  count: string;
  duration: string;
}

async function queueBuilds(io: IoHost, label: string | undefined, flags: BuildFlags, stateDir: string): Promise<void> {
  if (!/^\d+$/.test(flags.count) || Number(flags.count) < 1 || Number(flags.count) > 1000) throw new UserError(`--count: expected a whole number of builds from 1 to 1000, found ${JSON.stringify(flags.count)}`);
  const durationMs = parseDuration('--duration', flags.duration);
  const { builds } = await control<{ builds: BuildView[] }>(stateDir, 'build', 'builds', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ label: label ?? null, count: Number(flags.count), duration: durationMs }),
  });
  const ids = builds.map((b) => `#${b.id}`);
  const target = builds[0]?.label === null || builds[0]?.label === undefined ? 'any agent' : `label ${builds[0].label}`;
  io.result(`queued ${ids.length === 1 ? 'build' : 'builds'} ${ids.join(' ')} for ${target}`);
}

async function listBuilds(io: IoHost, stateDir: string): Promise<void> {
  const builds = await control<BuildView[]>(stateDir, 'builds', 'builds');
  if (io.json) {
    io.result('', builds);
    return;
  }
  const time = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString().slice(11, 19));
  const rows = builds.map((b) => [`#${b.id}`, b.label ?? '(any)', time(b.queuedAt), time(b.startedAt), time(b.finishedAt), b.node ?? '-', b.result === null ? (b.startedAt === null ? 'queued' : 'running') : b.abortedBy ? `${b.result} (${b.abortedBy})` : b.result]);
  const header = ['BUILD', 'LABEL', 'QUEUED', 'STARTED', 'FINISHED', 'NODE', 'RESULT'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  io.result([header, ...rows].map((row) => row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n'));
}

export const sandboxCommand: CommandModule = (sandbox, context) => {
  sandbox
    .description('Run local stand-ins of EC2, SSM and a Jenkins controller (real wire protocols) and print the exports that point the provisioner at them.')
    .option('--state <dir>', 'state directory (instances, parameters, nodes, hosts, request log)', '.sandbox')
    .option('--port <n>', 'TCP port on 127.0.0.1 (0: the one used last, or any free one)', '0')
    .option('--region <region>', 'the AWS region it pretends to be', 'us-east-1')
    .option('--boot-delay <duration>', 'pending -> running', '2s')
    .option('--ssm-online-delay <duration>', 'running -> SSM agent Online', '3s')
    .option('--shutdown-delay <duration>', 'shutting-down -> terminated', '1s')
    .option('--terminated-linger <duration>', 'how long terminated instances stay visible', '60s')
    .option('--latency-ec2 <duration>', 'added to every EC2 request', '0')
    .option('--latency-ssm <duration>', 'added to every SSM request', '0')
    .option('--latency-jenkins <duration>', 'added to every Jenkins request', '0')
    .option('--throttle-ec2 <rate>', 'share of EC2 requests failing with RequestLimitExceeded', '0')
    .option('--throttle-ssm <rate>', 'share of SSM requests failing with ThrottlingException', '0')
    .option('--throttle-jenkins <rate>', 'share of Jenkins API requests failing with 503', '0')
    .option('--out-of-capacity <subnet...>', 'subnets where RunInstances fails with InsufficientInstanceCapacity', [])
    .option('--ssm-never-online', 'SSM agents never register', false)
    .option('--write-behind <duration>', 'write the state at most this often, and when stopping, instead of before every reply (benchmarks of large fleets; a crash of the sandbox loses that much)', '0')
    .option('--instant-hosts', "hosts answer Run Command at once without running the script, and the instance's agent connects with the secret stored for it (to measure the provisioner, not 200 bootstraps on this machine)", false)
    .option('--type-unsupported <subnet...>', 'subnets whose zone does not offer the instance type: RunInstances fails with Unsupported', [])
    .option('--subnet-full <subnet...>', 'subnets with no free address: RunInstances fails with InsufficientFreeAddressesInSubnet', [])
    .option('--vcpu-limit <n>', 'the on-demand vCPU quota: vCPUs alive at once; RunInstances beyond it fails with VcpuLimitExceeded (0: none)', '0')
    .option('--spot-capacity <pool...>', 'Spot capacity: TYPE=N, TYPE/ZONE=N or *=N Spot instances alive at once (0 takes it away: CreateFleet reports InsufficientInstanceCapacity); unlimited otherwise', [])
    .option('--consistency-lag <duration>', 'new instances and commands stay invisible to reads this long (eventual consistency)', '0')
    .option('--agent-retry <duration>', 'how long an agent waits before reconnecting', '5s')
    .option('--lost-agent-timeout <duration>', 'how long a build whose agent dropped or was deleted keeps its executor before it aborts (Pipeline: 5m)', '5m')
    .option('--queue-maintenance <duration>', "Jenkins' queue maintenance period (Queue.MaintainTask; it also runs when a build is queued or ends, an agent connects, a node changes)", '5s')
    .option('--executor-start <duration>', 'how long an executor takes to start a build handed to it (the queue item is pending meanwhile)', '0')
    .option('--keep-builds <n>', "how many of the newest builds the sandbox's job keeps, as a build discarder's numToKeep (the last successful one stays too), or all", String(defaultKeepBuilds))
    .option('--seed <n>', 'seed of the fault generator')
    .option('--kms-key <alias...>', "the account's customer managed KMS keys, by alias (beside aws/ssm); SecureStrings naming any other key fail InvalidKeyId", ['alias/jenkins-fleet/bank-ci'])
    .option('--fleet <file>', "authorise the provisioner's EC2 and SSM calls against terraform/modules/provisioner-iam, instantiated with this fleet file's values (as terraform/jenkins applies it)")
    .option('--terraform-modules <dir>', 'where provisioner-iam and agent-iam are read from (with --fleet)', defaultModulesDir)
    .option('--image-owner <owner...>', "provisioner-iam's image_owners (with --fleet; default the module's: amazon)")
    .option('--interruption-notice <duration>', 'from a Spot interruption warning (`sandbox interrupt`) to EC2 reclaiming the instance (EC2: 2m)', '2m')
    .option('--ssh-instances', "EC2 instances answer SSH: each gets a loopback private IP and, once booted, a real sshd there (pool settings in STATE/ssh-instances.yaml), for pools with transport: ssh", false)
    .option('--ssh-hosts <n>', 'also start N real sshd hosts on loopback for a static pool (settings in STATE/ssh-hosts.yaml)', '0')
    .action(async (flags: SandboxFlags) => run(flags, context().io));
  for (const state of ['busy', 'idle'] as const) {
    sandbox
      .command(state)
      .description(state === 'busy' ? 'Start a build on an agent at once that runs until `sandbox idle` (so draining waits for it).' : 'End the builds running on an agent, successfully.')
      .argument('<node>', 'Jenkins node name, e.g. awsDeploy-i-0abc...')
      // --state is the parent's option (commander hands it to `sandbox` wherever it appears).
      .action(async (name: string, _flags: unknown, command: Command) => mark(context().io, name, state, command.optsWithGlobals<{ state: string }>().state));
  }
  sandbox
    .command('interrupt')
    .description("Issue EC2's Spot interruption warning for an instance (EventBridge's event into the interruption queue; the instance is reclaimed --interruption-notice later), or with --rebalance a rebalance recommendation.")
    .argument('<instance>', 'a Spot instance id, e.g. i-0abc...')
    .option('--rebalance', 'a rebalance recommendation instead (nothing is reclaimed)', false)
    .option('--json', 'the event sent, as JSON', false)
    .action(async (instanceId: string, flags: { rebalance: boolean; json: boolean }, command: Command) => interrupt(context(flags).io, instanceId, flags.rebalance, command.optsWithGlobals<{ state: string }>().state));
  sandbox
    .command('build')
    .description("Queue builds in the sandbox's Jenkins: each a Pipeline node step that waits for an executor of an agent matching LABEL, then runs for --duration.")
    .argument('[label]', 'a Jenkins label expression, e.g. awsDeploy or "python && !docker" (left out: any agent)')
    .option('--count <n>', 'how many builds', '1')
    .option('--duration <duration>', 'how long each runs once on an executor', '20s')
    .action(async (label: string | undefined, flags: BuildFlags, command: Command) => queueBuilds(context().io, label, flags, command.optsWithGlobals<{ state: string }>().state));
  sandbox
    .command('builds')
    .description('List every build the sandbox queued: id, label, queued/started/finished, node and result (SUCCESS, ABORTED, or none yet).')
    .option('--json', 'one JSON array: {id, queueId, label, queuedAt, startedAt, finishedAt, node, result, abortedBy?}, times in epoch ms', false)
    .action(async (flags: { json: boolean }, command: Command) => listBuilds(context(flags).io, command.optsWithGlobals<{ state: string }>().state));
};
