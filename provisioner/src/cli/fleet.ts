// The fleet commands: `plan`, `up`, `status` and `down`. Each reads the fleet file and the token
// first (user errors exit 1 before anything is contacted), observes, plans, and for up/down
// applies after showing the plan.
import { dirname } from 'node:path';
import { applyPlan, type Systems } from '../apply/apply.ts';
import { applyInRounds } from '../apply/rounds.ts';
import type { Failure } from '../apply/events.ts';
import { observe } from '../apply/observe.ts';
import { NodeWatch } from '../apply/watch.ts';
import { loadFleet, readToken } from '../config/load.ts';
import { isStaticPool, parseDuration } from '../config/schema.ts';
import { ExitCode, RemoteFailures, UserError } from '../errors.ts';
import { parseAgentName, type Fleet, type Observed } from '../model.ts';
import { inventory } from '../plan/inventory.ts';
import { hasChanges, planDown, planUp, type Plan } from '../plan/plan.ts';
import { fleetStatus } from '../plan/status.ts';
import { sshPreflight } from '../transport/ssh.ts';
import { ExitRequest, type CommandContext, type CommandModule, type ConnectOptions } from './command.ts';
import { formatPlan, formatStatus, summarizePlan } from './format.ts';
import { holdRunLock, lockTimeoutOption } from './lock.ts';
import { formatFailure, LogReporter } from './progress.ts';
import { connect as connectAdapters } from './systems.ts';

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

/** The fleet's systems, once the token is read: user errors are all found before any is contacted. */
async function connect(context: CommandContext, fleet: Fleet, options?: ConnectOptions): Promise<Systems> {
  const token = await readToken(fleet, context.env);
  return (context.connect ?? connectAdapters)(fleet, token, options);
}

async function open(context: CommandContext): Promise<{ fleet: Fleet; systems: Systems }> {
  const fleet = await loadFleet(context.globals.config, context.env);
  return { fleet, systems: await connect(context, fleet) };
}

export const planCommand: CommandModule = (command, context) => {
  command
    .option('--json', 'print the plan as JSON', false)
    .option('--detailed-exitcode', 'exit 0 when there is nothing to do, 2 when there are changes', false)
    .action(async (opts: { json: boolean; detailedExitcode: boolean }) => {
      const ctx = context(opts);
      const { fleet, systems } = await open(ctx);
      const plan = planUp(fleet, await observe(fleet, systems, ctx.now));
      ctx.io.result(formatPlan(plan), { fleet: fleet.fleet, actions: plan.actions, drift: plan.drift, rollouts: plan.rollouts });
      if (opts.detailedExitcode && hasChanges(plan)) throw new ExitRequest(ExitCode.changesPending);
    });
};

export const upCommand: CommandModule = (command, context) => {
  command
    .option('-y, --yes', 'apply without asking (needed when not on a terminal)', false)
    .option('--json', 'print the outcome as JSON', false)
    .option('--timeout <duration>', 'give up waiting after this long', '15m')
    .option('--concurrency <n>', 'hosts bootstrapped at once over SSH', '10')
    .option(...lockTimeoutOption)
    .action(async (opts: { yes: boolean; json: boolean; timeout: string; concurrency: string; lockTimeout: string }) => {
      const ctx = context(opts);
      const { io, env, now } = ctx;
      const timeout = duration('--timeout', opts.timeout);
      const hosts = concurrency(opts.concurrency);
      if (!opts.yes && !io.interactive) throw new UserError('up: not on a terminal, so nobody can confirm the plan; add --yes to apply it');
      const fleet = await loadFleet(ctx.globals.config, env);
      await sshPreflight(fleet.pools, { baseDir: dirname(fleet.source), env });
      const systems = await connect(ctx, fleet, { concurrency: hosts, env });
      await using _lock = await holdRunLock(ctx, fleet, 'up', opts.lockTimeout);
      const started = now();
      const observed = await observe(fleet, systems, now);
      const plan = planUp(fleet, observed);

      if (hasChanges(plan)) {
        if (!opts.json || !opts.yes) io.info(formatPlan(plan));
        if (!opts.yes && !(await io.confirm(`Apply these ${plan.actions.length} action(s) to fleet ${fleet.fleet}?`))) {
          io.info('Nothing changed.');
          return;
        }
      } else if (!opts.json) io.info(summarizePlan(plan));

      const watch = new NodeWatch(systems.controller);
      const progress = io.progress(fleet.pools.map((p) => p.name));
      const deadline = started + timeout;
      const advice = 'it stays drained (no new builds); run `provisioner up` again once its build has ended (it goes on from where it is), or give it longer with --timeout';
      const rounds = await applyInRounds(fleet, { plan, observed }, systems, {
        deadline,
        reporter: progress,
        watch,
        now,
        busyAtTimeout: advice,
        observe: () => observe(fleet, systems, now),
      });
      const { online, failures, applied } = rounds;
      const roundObserved = rounds.last.observed;
      const round = rounds.last.plan;

      // Agents the plan left alone may still be on their way (bootstrapped moments ago): wait for them too.
      const touched = new Set([...online, ...failures.map((f) => f.agent)]);
      const waiting = wantedAgents(fleet, roundObserved, round).filter((name) => !touched.has(name));
      await Promise.all(
        waiting.map(async (name) => {
          if (!(await watch.online(name, deadline))) {
            const node = watch.last(name);
            failures.push({ pool: parseAgentName(name)?.pool ?? '', agent: name, step: 'online', error: `not online before the timeout${node?.offlineReason ? `: ${node.offlineReason}` : ''}` });
          }
        }),
      );
      progress.finish();
      if (opts.json) io.result('', { fleet: fleet.fleet, actions: applied, drift: plan.drift, online, failures });
      else if (failures.length === 0) io.info(`Done in ${Math.round((now() - started) / 1000)}s: fleet ${fleet.fleet} matches fleet.yaml.`);
      if (failures.length > 0) throw applyFailed(failures);
    });
};

/** Node names of every agent that should be online once the plan is carried out (as known now). */
function wantedAgents(fleet: Fleet, observed: Observed, plan: Plan): string[] {
  const leaving = new Set(plan.actions.flatMap((a) => (a.type === 'remove' && a.node ? [a.node] : [])));
  return inventory(fleet, observed).pools.flatMap(({ members }) =>
    members.filter((a) => a.life === 'live' && a.node && !leaving.has(a.name) && !a.node.online && !a.node.temporarilyOffline).map((a) => a.name),
  );
}

export const statusCommand: CommandModule = (command, context) => {
  command.option('--json', 'print the status as JSON', false).action(async (opts: { json: boolean }) => {
    const ctx = context(opts);
    const { fleet, systems } = await open(ctx);
    // status shows no settings: their config.xml (one call per node) is not read.
    const status = fleetStatus(fleet, await observe(fleet, systems, ctx.now, { settings: false }));
    ctx.io.result(formatStatus(status), status);
  });
};

export const downCommand: CommandModule = (command, context) => {
  command
    .option('--pool <name>', 'only this pool')
    .option('--force', 'remove busy agents without waiting for their builds', false)
    .option('-y, --yes', 'remove without asking (needed when not on a terminal)', false)
    .option('--timeout <duration>', 'give up waiting for busy agents after this long', '30m')
    .option('--concurrency <n>', 'hosts cleaned at once over SSH', '10')
    .option(...lockTimeoutOption)
    .action(async (opts: { pool?: string; force: boolean; yes: boolean; timeout: string; concurrency: string; lockTimeout: string }) => {
      const ctx = context();
      const { io, env, now } = ctx;
      const timeout = duration('--timeout', opts.timeout);
      const hosts = concurrency(opts.concurrency);
      if (!opts.yes && !io.interactive) throw new UserError('down: not on a terminal, so nobody can confirm; add --yes to remove the agents');
      const fleet = await loadFleet(ctx.globals.config, env);
      if (opts.pool && !fleet.pools.some((p) => p.name === opts.pool)) {
        throw new UserError(`--pool: no pool '${opts.pool}' in ${ctx.globals.config}; pools are ${fleet.pools.map((p) => p.name).join(', ') || '(none)'}`);
      }
      // Only static hosts are reached over SSH on the way down; EC2 instances are terminated.
      await sshPreflight(fleet.pools.filter((p) => isStaticPool(p) && (!opts.pool || p.name === opts.pool)), { baseDir: dirname(fleet.source), env });
      const systems = await connect(ctx, fleet, { concurrency: hosts, env });
      await using _lock = await holdRunLock(ctx, fleet, 'down', opts.lockTimeout);
      const started = now();
      const plan = planDown(fleet, await observe(fleet, systems, now, { settings: false }), opts.pool);
      io.info(hasChanges(plan) ? formatPlan(plan, { force: opts.force }) : 'Nothing to remove.');
      if (!hasChanges(plan)) return;
      if (!opts.yes && !(await io.confirm(`Remove these agents from fleet ${fleet.fleet}${opts.force ? ', busy or not' : ''}?`))) {
        io.info('Nothing changed.');
        return;
      }
      const busyAtTimeout = 'it stays drained (no new builds); run `provisioner down` again once its build has ended, give it longer with --timeout, or remove it at once with --force (its build is aborted)';
      const result = await applyPlan(fleet, plan, systems, { deadline: started + timeout, force: opts.force, reporter: new LogReporter(io.info), now, busyAtTimeout });
      if (result.failures.length > 0) throw applyFailed(result.failures);
      io.info(`Done: ${opts.pool ? `pool ${opts.pool}` : `fleet ${fleet.fleet}`} removed.`);
    });
};
