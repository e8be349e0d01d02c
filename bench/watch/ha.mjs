#!/usr/bin/env node
// A highly available `watch` (issue 16, "Measured"): three `watch` processes against the sandbox,
// each in a PID namespace of its own (util-linux unshare) as three hosts or ECS tasks are, so that
// none can tell another died and every takeover waits for the lease to expire. Builds arrive at
// random all along; N times, at a random moment, the leader is killed with -9 and started again
// (as ECS or systemd restarts it). Prints:
//   takeover     from the kill to a follower's acquisition (p50/p95/max), against lease + tick, and
//                how long after the dead leader's lease expired (the part that is not the lease);
//   duplicates   ClientTokens whose instances came from more than one RunInstances, agent names
//                registered twice, launches replayed under their token, and the most instances
//                alive at once against the pool's max (a second leader's launch would go over it);
//   orphans      an instance without its node, or a node without its instance, seen so for longer
//                than the boot deadline plus one tick (sampled every second);
//   builds       every build queued ended SUCCESS, none aborted.
//
//   node bench/watch/ha.mjs [--kills 100] [--lease 10s] [--tick 1s] [--boot-deadline 30s] [--json FILE]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { parse, stringify } from 'yaml';
import { bin, flags, root, seconds, startSandbox } from '../provision/lib.mjs';

const args = flags(process.argv.slice(2));
const kills = Number(args.kills ?? 100);
const leaseMs = seconds(args.lease ?? '10s') * 1000;
const tickMs = seconds(args.tick ?? '1s') * 1000;
const bootDeadlineMs = seconds(args['boot-deadline'] ?? '30s') * 1000;
const executors = 2;
const max = 6;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : NaN; };
const f = (ms) => `${(ms / 1000).toFixed(2)} s`;
const log = (line) => process.stderr.write(`[ha ${new Date().toISOString()}] ${line}\n`);

const dir = mkdtempSync(join(tmpdir(), 'bench-ha-'));
const fleet = parse(readFileSync(join(root, 'examples/fleet.yaml'), 'utf8'));
const { count: _count, ...base } = fleet.pools.find((p) => p.name === 'awsDeploy');
fleet.pools = [{ ...base, executors, min: 0, max, idleAfter: '5s', bootDeadline: `${bootDeadlineMs / 1000}s` }];
const config = join(dir, 'fleet.yaml');
writeFileSync(config, stringify(fleet));

const sandbox = await startSandbox(join(dir, 'state'), ['--fleet', config, '--boot-delay', '1s', '--ssm-online-delay', '1s', '--queue-maintenance', '1s', '--lost-agent-timeout', '5s', '--terminated-linger', '30s', '--agent-retry', '1s']);
const url = sandbox.env.JENKINS_URL.replace(/\/jenkins\/$/, '');
const dynamo = new DynamoDBClient({ region: sandbox.env.AWS_REGION, endpoint: sandbox.env.AWS_ENDPOINT_URL_DYNAMODB, maxAttempts: 3, credentials: { accessKeyId: 'AKIAADMINISTRATOR000', secretAccessKey: 'x' } });
const lease = async () => {
  const { Item } = await dynamo.send(new GetItemCommand({ TableName: fleet.lock.table, Key: { lease: { S: `fleet/${fleet.fleet}` } }, ConsistentRead: true }));
  return { lockId: Item?.lockId?.S, epoch: Number(Item?.epoch?.N ?? 0), acquiredAt: Number(Item?.acquiredAt?.N ?? 0), expiresAt: Number(Item?.expiresAt?.N ?? 0) };
};
const state = async () => (await fetch(`${url}/_sandbox/state`)).json();

/** `watch --json` in its own PID namespace; killing unshare with -9 kills it (--kill-child). */
function watch() {
  const child = spawn('unshare', ['--pid', '--fork', '--mount-proc', '--kill-child=SIGKILL', process.execPath, bin, '--config', config, 'watch', '--tick', `${tickMs / 1000}s`, '--lease', `${leaseMs / 1000}s`, '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH, HOME: dir, ...sandbox.env },
  });
  const w = { child, lockIds: new Set(), output: '', exited: new Promise((r) => child.once('close', r)) };
  let partial = '';
  child.stdout.on('data', (c) => {
    partial += c;
    const lines = partial.split('\n');
    partial = lines.pop();
    for (const l of lines) {
      if (!l.startsWith('{')) continue;
      const line = JSON.parse(l);
      if (line.type === 'leadership' && line.role === 'leader') w.lockIds.add(line.lockId);
    }
  });
  child.stderr.on('data', (c) => { w.output = (w.output + c).slice(-4000); });
  child.once('error', (err) => { throw new Error(`unshare (util-linux) is needed: ${err.message}`); });
  return w;
}
/** SIGTERM to the watch itself (unshare does not pass signals on). */
const terminate = (w) => {
  try {
    const inner = Number(readFileSync(`/proc/${w.child.pid}/task/${w.child.pid}/children`, 'utf8').trim().split(/\s+/)[0]);
    process.kill(inner, 'SIGTERM');
  } catch {
    w.child.kill('SIGKILL');
  }
};

// Builds at random: 0..3 every 1.5 s on average, 2..8 s long, for 20 s, then 15 s of none (the
// pool scales in), again and again: launches, drains and removals go on all along.
let arriving = true;
const queued = [];
const arrivalsFrom = Date.now();
const arrivals = (async () => {
  while (arriving) {
    const quiet = Math.floor((Date.now() - arrivalsFrom) / 1000) % 35 >= 20;
    const count = quiet ? 0 : Math.floor(Math.random() * 4);
    if (count > 0) {
      const r = await fetch(`${url}/_sandbox/builds`, { method: 'POST', body: JSON.stringify({ label: 'awsDeploy', count, duration: `${2 + Math.floor(Math.random() * 7)}s` }) });
      if (r.ok) queued.push(...(await r.json()).builds.map((b) => b.id));
    }
    await sleep(500 + Math.random() * 2000);
  }
})();

// Orphans, sampled every second: first seen, and the longest any lasted.
const orphanSince = new Map();
/** Every instance of the fleet seen alive, with its ClientToken; the most alive at once. */
const tokenOf = new Map();
let peakAlive = 0;
const orphanLongest = new Map();
let sampling = true;
const sampler = (async () => {
  while (sampling) {
    const s = await state().catch(() => undefined);
    if (s) {
      const now = Date.now();
      const live = s.instances.filter((i) => (i.state === 'pending' || i.state === 'running') && i.tags['jenkins-fleet:fleet'] === fleet.fleet);
      const nodes = s.nodes.filter((n) => n.name.startsWith('awsDeploy-i-'));
      for (const i of live) tokenOf.set(i.id, i.clientToken);
      peakAlive = Math.max(peakAlive, live.length);
      const current = new Set([
        ...live.filter((i) => !nodes.some((n) => n.name === `awsDeploy-${i.id}`)).map((i) => `instance ${i.id} without node`),
        ...nodes.filter((n) => !live.some((i) => n.name === `awsDeploy-${i.id}`)).map((n) => `node ${n.name} without instance`),
      ]);
      for (const key of current) if (!orphanSince.has(key)) orphanSince.set(key, now);
      for (const [key, since] of orphanSince) {
        orphanLongest.set(key, Math.max(orphanLongest.get(key) ?? 0, now - since));
        if (!current.has(key)) orphanSince.delete(key);
      }
    }
    await sleep(1000);
  }
})();

const watches = [watch(), watch(), watch()];
const takeovers = [];
const pastExpiry = [];
let noLeader = 0;
const startedAt = Date.now();
log(`3 watches, lease ${leaseMs / 1000}s, tick ${tickMs / 1000}s, ${kills} kills; load ${loadavg().map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} cores`);
try {
  for (let k = 0; k < kills; k++) {
    // The leader: the watch that said it leads under the lease's current lock ID.
    const deadline = Date.now() + leaseMs + 60_000;
    let held;
    let leader;
    for (;;) {
      held = await lease();
      leader = watches.find((w) => held.lockId && w.lockIds.has(held.lockId));
      if (leader) break;
      if (Date.now() > deadline) throw new Error(`no watch leads after ${f(leaseMs + 60_000)}:\n${watches.map((w) => w.output).join('\n---\n')}`);
      await sleep(100);
    }
    // A random moment of its leadership: mid-tick, mid-launch, mid-bootstrap, or between ticks.
    await sleep(Math.random() * 4000);
    held = await lease();
    if (!leader.lockIds.has(held.lockId)) { k--; continue; }
    const killedAt = Date.now();
    leader.child.kill('SIGKILL');
    await leader.exited;
    watches[watches.indexOf(leader)] = watch();
    let after;
    for (;;) {
      after = await lease();
      if (after.lockId && after.lockId !== held.lockId) break;
      if (Date.now() - killedAt > leaseMs + 60_000) { noLeader++; break; }
      await sleep(50);
    }
    takeovers.push(after.acquiredAt - killedAt);
    pastExpiry.push(after.acquiredAt - held.expiresAt);
    if ((k + 1) % 10 === 0) log(`${k + 1} kills: takeover p50 ${f(pct(takeovers, 50))}, max ${f(Math.max(...takeovers))}; load ${loadavg()[0].toFixed(2)}`);
  }
} finally {
  arriving = false;
  await arrivals;
}
const killsDone = takeovers.length;
const elapsed = Date.now() - startedAt;
// Every build ends, and the pool comes back to min, under the watches still running.
const ended = async () => (await (await fetch(`${url}/_sandbox/builds`)).json()).filter((b) => queued.includes(b.id));
for (const t0 = Date.now(); Date.now() - t0 < 300_000; await sleep(1000)) if ((await ended()).every((b) => b.result !== null)) break;
for (const t0 = Date.now(); Date.now() - t0 < 120_000; await sleep(1000)) {
  const s = await state();
  if (s.instances.filter((i) => i.state === 'pending' || i.state === 'running').length === 0) break;
}
await sleep(3000);
sampling = false;
await sampler;
for (const w of watches) terminate(w);
await Promise.all(watches.map((w) => w.exited));

const builds = await ended();
const final = await state();
const launchRequests = readFileSync(join(dir, 'state', 'requests.log'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const launches = launchRequests.filter((e) => e.action === 'RunInstances' && e.status === 200 && !String(e.subject ?? '').startsWith('replay'));
const replays = launchRequests.filter((e) => e.action === 'RunInstances' && e.status === 200 && String(e.subject ?? '').startsWith('replay'));
const launchedIds = launches.flatMap((e) => String(e.subject).split(' ').filter(Boolean));
for (const i of final.instances.filter((i) => i.tags['jenkins-fleet:fleet'] === fleet.fleet)) tokenOf.set(i.id, i.clientToken);
// A ClientToken whose instances came from more than one RunInstances that created instances.
const launchesOfToken = new Map();
for (const [index, e] of launches.entries()) {
  for (const id of String(e.subject).split(' ')) {
    const token = tokenOf.get(id);
    if (token !== undefined) launchesOfToken.set(token, new Set([...(launchesOfToken.get(token) ?? []), index]));
  }
}
const duplicateTokens = [...launchesOfToken.values()].filter((set) => set.size > 1).length;
const nodeCreates = new Map();
for (const e of launchRequests.filter((e) => e.service === 'jenkins' && e.mutating && /createItem|doCreateItem/.test(e.action) && e.status === 200)) nodeCreates.set(e.subject, (nodeCreates.get(e.subject) ?? 0) + 1);
const namesTwice = [...nodeCreates].filter(([, n]) => n > 1).length;
const orphanBound = bootDeadlineMs + tickMs;
const orphansOld = [...orphanLongest].filter(([, ms]) => ms > orphanBound);
const bound = leaseMs + tickMs;

const report = {
  date: new Date().toISOString(),
  load: loadavg(),
  cores: cpus().length,
  kills: killsDone,
  minutes: elapsed / 60_000,
  leaseMs,
  tickMs,
  takeover: { p50: pct(takeovers, 50), p95: pct(takeovers, 95), max: Math.max(...takeovers), bound, over: takeovers.filter((t) => t > bound).length, noLeader },
  pastExpiry: { p50: pct(pastExpiry, 50), p95: pct(pastExpiry, 95), max: Math.max(...pastExpiry), min: Math.min(...pastExpiry) },
  duplicates: { tokensLaunchedTwice: duplicateTokens, namesRegisteredTwice: namesTwice, replays: replays.length },
  instances: { launched: launchedIds.length, launchCalls: launches.length, withToken: tokenOf.size, peakAlive, max, builds: builds.length },
  orphans: { olderThanBound: orphansOld.length, bound: orphanBound, longest: Math.max(0, ...orphanLongest.values()), seen: orphanLongest.size },
  builds: { queued: builds.length, success: builds.filter((b) => b.result === 'SUCCESS' && !b.abortedBy).length, other: builds.filter((b) => b.result !== 'SUCCESS' || b.abortedBy).map((b) => `${b.id} ${b.result}`) },
};
console.log(`HA watch: 3 processes, ${killsDone} kill -9 of the leader in ${report.minutes.toFixed(1)} min (lease ${leaseMs / 1000}s, tick ${tickMs / 1000}s; load ${report.load.map((l) => l.toFixed(2)).join(' ')} on ${report.cores} cores)`);
console.log(`  takeover after the kill   p50 ${f(report.takeover.p50)}  p95 ${f(report.takeover.p95)}  max ${f(report.takeover.max)}  (bound lease + tick = ${f(bound)}; ${report.takeover.over} over, ${noLeader} without a new leader)`);
console.log(`  after the lease expired   p50 ${f(report.pastExpiry.p50)}  p95 ${f(report.pastExpiry.p95)}  max ${f(report.pastExpiry.max)}  min ${f(report.pastExpiry.min)}`);
console.log(`  duplicate launches        ${duplicateTokens} ClientToken(s) launched twice, ${namesTwice} agent name(s) registered twice (${replays.length} launches replayed under their token)`);
console.log(`  instances                 ${launchedIds.length} launched by ${launches.length} RunInstances for ${builds.length} builds; at most ${peakAlive} alive at once (max ${max})`);
console.log(`  orphans                   ${orphansOld.length} older than boot deadline + tick (${f(orphanBound)}); ${orphanLongest.size} seen in passing, the longest ${f(report.orphans.longest)}`);
console.log(`  builds                    ${report.builds.success}/${builds.length} SUCCESS${report.builds.other.length ? `; others: ${report.builds.other.join(', ')}` : ''}`);
if (args.json) writeFileSync(args.json, JSON.stringify(report, null, 2));
dynamo.destroy();
await sandbox.stop();
rmSync(dir, { recursive: true, force: true });
