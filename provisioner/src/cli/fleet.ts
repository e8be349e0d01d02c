// The fleet commands: `plan`, `up`, `status` and `down`. Each reads the fleet file and the token
// first (user errors exit 1 before anything is contacted), observes, plans, and for up/down
// applies after showing the plan.
import { dirname } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { applyPlan, type Systems } from '../apply/apply.ts';
import type { Failure, Reporter } from '../apply/events.ts';
import { observe } from '../apply/observe.ts';
import { NodeWatch } from '../apply/watch.ts';
import { loadFleet, readToken, type Fleet } from '../config/load.ts';
import { isStaticPool, parseDuration } from '../config/schema.ts';
import { ExitCode, RemoteFailures, UserError } from '../errors.ts';
import { agentName, parseAgentName } from '../model.ts';
import { hasChanges, managedNodes, planDown, planUp, type Plan } from '../plan/plan.ts';
import { fleetStatus } from '../plan/status.ts';
import { sshPreflight } from '../transport/ssh.ts';
import type { CommandModule, GlobalOptions } from './main.ts';
import { formatFailure, formatPlan, formatStatus, summarizePlan } from './format.ts';
import { LogReporter, TableReporter } from './progress.ts';
import { connect, type ConnectOptions } from './systems.ts';

/** What a command needs from the process; tests pass their own. */
export interface Console {
  out: (text: string) => void;
  err: (text: string) => void;
  isTTY: boolean;
  ask: (question: string) => Promise<string>;
}

const processConsole: Console = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  isTTY: Boolean(process.stdin.isTTY && process.stdout.isTTY),
  ask: async (question) => {
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    try {
      return await rl.question(question);
    } finally {
      rl.close();
    }
  },
};

/** Exit codes beyond 0 that a command asks for without an error (Terraform's detailed exit code). */
export class ExitRequest extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** The remote failures of an apply, named one by one. */
function applyFailed(failures: Failure[]): RemoteFailures {
  return new RemoteFailures(`${failures.length} agent step(s) failed`, failures.map(formatFailure));
}

function concurrency(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 500) throw new UserError(`--concurrency: expected a whole number from 1 to 500, found "${text}"`);
  return n;
}

function duration(flag: string, text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) throw new UserError(`${flag}: expected a duration such as 90s, 15m or 1h, found "${text}"`);
  return ms;
}

async function open(globals: GlobalOptions, env: NodeJS.ProcessEnv): Promise<{ fleet: Fleet; token: string }> {
  const fleet = await loadFleet(globals.config, env);
  const token = await readToken(fleet, env);
  return { fleet, token };
}

export interface FleetDeps {
  console?: Console;
  env?: NodeJS.ProcessEnv;
  connect?: (fleet: Fleet, token: string, options?: ConnectOptions) => Systems;
  now?: () => number;
}

export function planCommand(deps: FleetDeps = {}): CommandModule {
  return (cli, globals) => {
    cli
      .command('plan')
      .description('show what `up` would do, changing nothing')
      .option('--json', 'print the plan as JSON', false)
      .option('--detailed-exitcode', 'exit 0 when there is nothing to do, 2 when there are changes', false)
      .action(async (opts: { json: boolean; detailedExitcode: boolean }) => {
        const io = deps.console ?? processConsole;
        const { fleet, token } = await open(globals(), deps.env ?? process.env);
        const systems = (deps.connect ?? connect)(fleet, token);
        const plan = planUp(fleet, await observe(fleet, systems, deps.now));
        io.out(opts.json ? JSON.stringify({ fleet: fleet.fleet, actions: plan.actions }, null, 2) : formatPlan(plan));
        if (opts.detailedExitcode && hasChanges(plan)) throw new ExitRequest(ExitCode.changesPending);
      });
  };
}

export function upCommand(deps: FleetDeps = {}): CommandModule {
  return (cli, globals) => {
    cli
      .command('up')
      .description('carry out the plan and wait until every wanted agent is online')
      .option('-y, --yes', 'apply without asking (needed when not on a terminal)', false)
      .option('--json', 'print the outcome as JSON', false)
      .option('--timeout <duration>', 'give up waiting after this long', '15m')
      .option('--concurrency <n>', 'hosts bootstrapped at once over SSH', '10')
      .action(async (opts: { yes: boolean; json: boolean; timeout: string; concurrency: string }) => {
        const io = deps.console ?? processConsole;
        const env = deps.env ?? process.env;
        const now = deps.now ?? Date.now;
        const timeout = duration('--timeout', opts.timeout);
        const hosts = concurrency(opts.concurrency);
        if (!opts.yes && !io.isTTY) throw new UserError('up: not on a terminal, so nobody can confirm the plan; add --yes to apply it');
        const { fleet, token } = await open(globals(), env);
        await sshPreflight(fleet.pools, { baseDir: dirname(fleet.source), env });
        const systems = (deps.connect ?? connect)(fleet, token, { concurrency: hosts, env });
        const started = now();
        const observed = await observe(fleet, systems, now);
        const plan = planUp(fleet, observed);
        const log = opts.json ? io.err : io.out;

        if (hasChanges(plan)) {
          if (!opts.json || !opts.yes) log(formatPlan(plan));
          if (!opts.yes && !(await confirm(io, `Apply these ${plan.actions.length} action(s) to fleet ${fleet.fleet}?`))) {
            log('Nothing changed.');
            return;
          }
        } else if (!opts.json) log(summarizePlan(plan));

        const watch = new NodeWatch(systems.controller);
        const table = io.isTTY && !opts.json ? new TableReporter(process.stdout, fleet.pools.map((p) => p.name)) : undefined;
        const reporter: Reporter = table ?? new LogReporter(log);
        const deadline = started + timeout;
        const result = await applyPlan(fleet, plan, systems, { deadline, reporter, watch, now });

        // Agents the plan left alone may still be on their way (bootstrapped moments ago): wait for them too.
        const touched = new Set([...result.online, ...result.failures.map((f) => f.agent)]);
        const waiting = wantedAgents(fleet, observed, plan).filter((name) => !touched.has(name));
        const late: Failure[] = [];
        await Promise.all(
          waiting.map(async (name) => {
            if (!(await watch.online(name, deadline))) {
              const node = watch.last(name);
              late.push({ pool: parseAgentName(name)?.pool ?? '', agent: name, step: 'online', error: `not online before the timeout${node?.offlineReason ? `: ${node.offlineReason}` : ''}` });
            }
          }),
        );
        table?.finish();
        const failures = [...result.failures, ...late];
        if (opts.json) io.out(JSON.stringify({ fleet: fleet.fleet, actions: plan.actions, online: result.online, failures }, null, 2));
        else if (failures.length === 0) log(`Done in ${Math.round((now() - started) / 1000)}s: fleet ${fleet.fleet} matches fleet.yaml.`);
        if (failures.length > 0) throw applyFailed(failures);
      });
  };
}

/** Node names of every agent that should be online once the plan is carried out (as known now). */
function wantedAgents(fleet: Fleet, observed: Awaited<ReturnType<typeof observe>>, plan: Plan): string[] {
  const leaving = new Set(plan.actions.flatMap((a) => (a.type === 'remove' && a.node ? [a.node] : [])));
  const nodes = managedNodes(fleet, observed);
  const pools = new Set(fleet.pools.map((p) => p.name));
  return observed.instances
    .filter((i) => pools.has(i.pool) && (i.state === 'running' || i.state === 'pending'))
    .map((i) => agentName(i.pool, i.id))
    .filter((name) => nodes.has(name) && !leaving.has(name) && !nodes.get(name)?.online && !nodes.get(name)?.temporarilyOffline);
}

export function statusCommand(deps: FleetDeps = {}): CommandModule {
  return (cli, globals) => {
    cli
      .command('status')
      .description('show each pool, its agents (node and instance side by side) and any orphans')
      .option('--json', 'print the status as JSON', false)
      .action(async (opts: { json: boolean }) => {
        const io = deps.console ?? processConsole;
        const { fleet, token } = await open(globals(), deps.env ?? process.env);
        const systems = (deps.connect ?? connect)(fleet, token);
        const status = fleetStatus(fleet, await observe(fleet, systems, deps.now));
        io.out(opts.json ? JSON.stringify(status, null, 2) : formatStatus(status));
      });
  };
}

export function downCommand(deps: FleetDeps = {}): CommandModule {
  return (cli, globals) => {
    cli
      .command('down')
      .description('drain and remove every managed agent (or one pool\'s): no new builds, wait until idle, delete, terminate')
      .option('--pool <name>', 'only this pool')
      .option('--force', 'remove busy agents without waiting for their builds', false)
      .option('-y, --yes', 'remove without asking (needed when not on a terminal)', false)
      .option('--timeout <duration>', 'give up waiting for busy agents after this long', '30m')
      .option('--concurrency <n>', 'hosts cleaned at once over SSH', '10')
      .action(async (opts: { pool?: string; force: boolean; yes: boolean; timeout: string; concurrency: string }) => {
        const io = deps.console ?? processConsole;
        const env = deps.env ?? process.env;
        const now = deps.now ?? Date.now;
        const timeout = duration('--timeout', opts.timeout);
        const hosts = concurrency(opts.concurrency);
        if (!opts.yes && !io.isTTY) throw new UserError('down: not on a terminal, so nobody can confirm; add --yes to remove the agents');
        const { fleet, token } = await open(globals(), env);
        if (opts.pool && !fleet.pools.some((p) => p.name === opts.pool)) {
          throw new UserError(`--pool: no pool '${opts.pool}' in ${globals().config}; pools are ${fleet.pools.map((p) => p.name).join(', ') || '(none)'}`);
        }
        // Only static hosts are reached over SSH on the way down; EC2 instances are terminated.
        await sshPreflight(fleet.pools.filter((p) => isStaticPool(p) && (!opts.pool || p.name === opts.pool)), { baseDir: dirname(fleet.source), env });
        const systems = (deps.connect ?? connect)(fleet, token, { concurrency: hosts, env });
        const started = now();
        const plan = planDown(fleet, await observe(fleet, systems, now), opts.pool);
        io.out(hasChanges(plan) ? formatPlan(plan) : 'Nothing to remove.');
        if (!hasChanges(plan)) return;
        if (!opts.yes && !(await confirm(io, `Remove these agents from fleet ${fleet.fleet}${opts.force ? ', busy or not' : ''}?`))) {
          io.out('Nothing changed.');
          return;
        }
        const result = await applyPlan(fleet, plan, systems, { deadline: started + timeout, force: opts.force, reporter: new LogReporter(io.out), now });
        if (result.failures.length > 0) throw applyFailed(result.failures);
        io.out(`Done: ${opts.pool ? `pool ${opts.pool}` : `fleet ${fleet.fleet}`} removed.`);
      });
  };
}

async function confirm(io: Console, question: string): Promise<boolean> {
  const answer = await io.ask(`${question} Only 'yes' is accepted: `);
  return answer.trim().toLowerCase() === 'yes';
}
