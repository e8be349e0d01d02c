// A highly available `watch` end to end: three real `watch` processes against the sandbox and its
// DynamoDB (dynalite), each in a PID namespace of its own (util-linux unshare), as three ECS tasks
// or hosts are: none can tell that another died, so a takeover waits for the lease to expire. One
// leads, the others follow and say whom; kill -9 of the leader while it launches: a follower takes
// over within the lease time plus one tick, launches nothing twice and leaves no orphan. A leader
// paused (SIGSTOP) past its lease is deposed, and once resumed makes no mutating call.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { Leases, type LeaseState } from '../../provisioner/src/aws/lease.ts';
import { alive, converged, eventually, Sandbox } from './harness.ts';

const root = new URL('../../', import.meta.url).pathname;
const bin = join(root, 'bin/provisioner.mjs');
const TICK_MS = 1_000;
const LEASE_MS = 10_000;
/** What a loaded machine may add to a takeover beyond lease + tick (a follower's step is a few DynamoDB calls). */
const SLACK_MS = 3_000;

interface Line {
  type: string;
  role?: string;
  kind?: string;
  epoch?: number;
  lost?: number;
  reason?: string;
  pid?: string | null;
  tookOverFrom?: { epoch: number; expires: string };
  [key: string]: unknown;
}

/** examples/fleet.yaml with awsDeploy scaled 0..6 on two-executor agents. */
function fleetFile(dir: string): string {
  const fleet = parse(readFileSync(join(root, 'examples/fleet.yaml'), 'utf8')) as Record<string, any>;
  const deploy = (fleet.pools as Record<string, any>[]).find((p) => p.name === 'awsDeploy')!;
  const { count: _count, ...base } = deploy;
  fleet.pools = [{ ...base, executors: 2, min: 0, max: 6, idleAfter: '3s', bootDeadline: '2m' }];
  const path = join(dir, 'fleet.yaml');
  writeFileSync(path, stringify(fleet));
  return path;
}

const dir = mkdtempSync(join(tmpdir(), 'e2e-ha-'));
const config = fleetFile(dir);
const sandbox = new Sandbox(['--fleet', config, '--boot-delay', '1s', '--ssm-online-delay', '1s', '--queue-maintenance', '1s', '--terminated-linger', '5s', '--lost-agent-timeout', '3s']);
let client: DynamoDBClient;
let leases: Leases;
const started: Watch[] = [];

beforeAll(async () => {
  await sandbox.start();
  // The account's administrator (any key but the provisioner's), to look at the lease as it is.
  client = new DynamoDBClient({ region: sandbox.env.AWS_REGION, endpoint: sandbox.env.AWS_ENDPOINT_URL_DYNAMODB, maxAttempts: 1, credentials: { accessKeyId: 'AKIAADMINISTRATOR000', secretAccessKey: 'x' } });
  leases = new Leases({ client, table: 'jenkins-fleet-bank-ci-locks' });
});
afterAll(async () => {
  for (const w of started) w.child.kill('SIGKILL');
  client?.destroy();
  await sandbox.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Watch {
  /** unshare, which waits for the watch; killing it with -9 kills the watch too (--kill-child). */
  child: ChildProcess;
  /** Signals other than SIGKILL go to the watch itself: unshare does not pass them on. */
  signal: (signal: NodeJS.Signals) => void;
  lines: Line[];
  text: () => string;
  exited: Promise<number | null>;
}

/** `watch --json` in its own PID namespace; killing unshare kills it (--kill-child). */
function watch(): Watch {
  const unprivileged = process.getuid?.() === 0 ? [] : ['--user', '--map-root-user'];
  const child = spawn('unshare', [...unprivileged, '--pid', '--fork', '--mount-proc', '--kill-child=SIGKILL', process.execPath, bin, '--config', config, 'watch', '--tick', `${TICK_MS / 1000}s`, '--lease', `${LEASE_MS / 1000}s`, '--json', '--metrics-port', '0'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: sandbox.dir, ...sandbox.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const inner = () => Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/)[0]);
  const w: Watch = { child, signal: (signal) => process.kill(inner(), signal), lines: [], text: () => '', exited: new Promise((resolve) => child.once('close', resolve)) };
  let out = '';
  let partial = '';
  child.stdout!.on('data', (c: Buffer) => {
    out += c;
    partial += c;
    const done = partial.split('\n');
    partial = done.pop()!;
    for (const l of done) if (l.startsWith('{')) w.lines.push(JSON.parse(l) as Line);
  });
  child.stderr!.on('data', (c: Buffer) => { out += c; });
  child.once('error', (err) => { out += `unshare (util-linux, with PID namespaces) is needed for this test: ${err.message}`; });
  w.text = () => out;
  started.push(w);
  return w;
}

/** `jenkins_fleet_watch_leader` and `jenkins_fleet_watch_lease_epoch` as the watch serves them. */
async function leaderMetrics(w: Watch): Promise<{ leader: number; epoch: number }> {
  const url = await eventually('the metrics URL', () => w.lines.find((l) => l.type === 'metrics')?.url as string | undefined, 60_000);
  const text = await (await fetch(url)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
  return { leader: value('jenkins_fleet_watch_leader'), epoch: value('jenkins_fleet_watch_lease_epoch') };
}

const leads = (w: Watch) => w.lines.filter((l) => l.type === 'leadership' && l.role === 'leader');
const lease = (): Promise<LeaseState> => leases.describe('fleet/bank-ci');
const outputs = (ws: Watch[]) => ws.map((w, i) => `--- watch ${i} ---\n${w.text()}`).join('\n');

async function stopAll(ws: Watch[]): Promise<void> {
  for (const w of ws) w.signal('SIGTERM');
  await Promise.all(ws.map((w) => w.exited));
}

/** No duplicate (more instances than the builds needed) and no orphan (an instance without node or a node without instance). */
const step = (what: string) => process.stderr.write(`[ha ${new Date().toISOString()}] ${what}\n`);

async function settled(before: Set<string>, needed: number, history: string): Promise<void> {
  step('the pool back at 0');
  await eventually('the pool back at 0', async () => alive(await sandbox.state(), 'awsDeploy').length === 0, 120_000);
  const state = await sandbox.state();
  const launched = state.instances.filter((i) => !before.has(i.id) && i.tags['jenkins-fleet:pool'] === 'awsDeploy');
  expect(launched.length, history).toBeLessThanOrEqual(needed);
  expect(converged(state, { awsDeploy: 0 }), history).toEqual([]);
  expect(state.nodes.filter((n) => n.name.startsWith('awsDeploy-i-')), history).toEqual([]);
}

describe('three watches, one leads', () => {
  it('the others follow naming the leader; kill -9 of the leader mid-launch: a follower takes over within lease + one tick, no duplicate launch, no orphan', { timeout: 300_000 }, async () => {
    const before = new Set((await sandbox.state()).instances.map((i) => i.id));
    const ws = [watch(), watch(), watch()];
    step('one watch to lead');
    const leader = await eventually('one watch to lead', () => ws.find((w) => leads(w).length > 0), 60_000);
    const followers = ws.filter((w) => w !== leader);
    const held = await lease();
    for (const f of followers) {
      step('each follower to say whom it follows');
      await eventually('each follower to say whom it follows', () => f.lines.find((l) => l.type === 'leadership' && l.role === 'follower' && l.epoch === held.epoch), 60_000);
    }
    // A follower makes no call but the lease's: it says so by its output (no pool line, no event).
    expect(followers.flatMap((f) => f.lines.filter((l) => l.type === 'event' || l.type === 'pool')), outputs(ws)).toEqual([]);
    // Each serves its metrics: the leader 1, the followers 0, all naming the epoch.
    expect(await leaderMetrics(leader)).toEqual({ leader: 1, epoch: held.epoch });
    for (const f of followers) expect(await leaderMetrics(f)).toEqual({ leader: 0, epoch: held.epoch });

    const queued = await sandbox.queueBuilds('awsDeploy', 6, '5s');
    step('the leader to launch');
    await eventually('the leader to launch', () => leader.lines.some((l) => l.type === 'event' && l.kind === 'launched'), 60_000);
    const last = await lease();
    leader.child.kill('SIGKILL');
    await leader.exited;
    step('a follower to take over');
    const next = await eventually('a follower to take over', () => followers.find((w) => leads(w).length > 0), LEASE_MS + 60_000);
    const after = await lease();
    expect(after.epoch, outputs(ws)).toBe(last.epoch + 1);
    // Measured on the lease's own timestamps: from the dead leader's expiry to the new acquisition.
    expect(after.acquiredAt! - last.expiresAt!, outputs(ws)).toBeGreaterThanOrEqual(0);
    expect(after.acquiredAt! - last.expiresAt!, outputs(ws)).toBeLessThanOrEqual(TICK_MS + SLACK_MS);
    expect(leads(next)[0]!.tookOverFrom, outputs(ws)).toMatchObject({ epoch: last.epoch });
    expect(await leaderMetrics(next)).toEqual({ leader: 1, epoch: after.epoch });
    // The killed one comes back (as ECS restarts a task) and follows.
    const restarted = watch();
    step('the restarted watch to follow');
    await eventually('the restarted watch to follow', () => restarted.lines.find((l) => l.type === 'leadership' && l.role === 'follower'), 60_000);

    step('the six builds ended');

    await eventually('the six builds ended', async () => {
      const ours = (await sandbox.builds()).filter((b) => queued.some((q) => q.id === b.id));
      return ours.every((b) => b.result !== null) ? ours : undefined;
    }, 150_000);
    expect((await sandbox.builds()).filter((b) => queued.some((q) => q.id === b.id) && (b.result !== 'SUCCESS' || b.abortedBy)), outputs(ws)).toEqual([]);
    // Six builds on two-executor agents: three instances at most, whoever launched them.
    await settled(before, 3, outputs([...ws, restarted]));
    await stopAll([...followers, restarted]);
  });

  it('a leader paused past its lease (SIGSTOP) is taken over; resumed, it says it lost the lease, makes no mutating call and follows', { timeout: 300_000 }, async () => {
    const before = new Set((await sandbox.state()).instances.map((i) => i.id));
    // Slow Jenkins answers: a tick takes a while, so the pause likely lands in the middle of one.
    await sandbox.faults({ jenkins: { latencyMs: 400 } });
    try {
      const a = watch();
      step('a to lead');
      await eventually('a to lead', () => leads(a).length > 0, 60_000);
      const queued = await sandbox.queueBuilds('awsDeploy', 2, '3s');
      await new Promise((r) => setTimeout(r, 300));
      a.signal('SIGSTOP');
      const b = watch();
      step('b to take over');
      await eventually('b to take over', () => leads(b).length > 0, LEASE_MS + 60_000);
      step('b to tick');
      await eventually('b to tick', () => b.lines.some((l) => l.type === 'pool'), 60_000);
      // b paused too (shorter than its lease): whatever mutating call comes now can only be a's.
      b.signal('SIGSTOP');
      await new Promise((r) => setTimeout(r, 500));
      const from = sandbox.requests().length;
      a.signal('SIGCONT');
      step('a to say it lost the lease');
      await eventually('a to say it lost the lease', () => a.lines.find((l) => l.type === 'leadership' && l.role === 'follower' && l.lost !== undefined), 30_000);
      step('a to follow b');
      await eventually('a to follow b', () => a.lines.find((l) => l.type === 'leadership' && l.role === 'follower' && l.lost === undefined && l.epoch === leads(b)[0]!.epoch), 30_000);
      await new Promise((r) => setTimeout(r, 2 * TICK_MS));
      const calls = sandbox.requests(from);
      b.signal('SIGCONT');
      expect(calls.filter((c) => c.mutating), `${outputs([a, b])}\n${JSON.stringify(calls)}`).toEqual([]);
      expect(calls.filter((c) => c.service === 'dynamodb').length, JSON.stringify(calls)).toBeGreaterThan(0);
      step('the two builds ended');
      await eventually('the two builds ended', async () => (await sandbox.builds()).filter((x) => queued.some((q) => q.id === x.id)).every((x) => x.result === 'SUCCESS'), 120_000);
      await sandbox.faults({ jenkins: { latencyMs: 0 } });
      await settled(before, 1, outputs([a, b]));
      await stopAll([a, b]);
    } finally {
      await sandbox.faults({ jenkins: { latencyMs: 0 } });
    }
  });
});
