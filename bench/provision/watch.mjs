#!/usr/bin/env node
// `provisioner watch` benchmark against the sandbox with real builds (issue 15's "Measured" list):
//   cold   a build queued on a pool at zero: how long until the launch (RunInstances) and until the
//          build starts, against B + S + 5 s (B, S: the sandbox's boot and SSM delays);
//   warm   a pool kept with minIdle: how long a queued build waits to start;
//   burst  100 builds at once on E-executor agents: instances launched, against 1.05 x ceil(100/E);
//   churn  random arrivals for a while with watch killed (-9) and restarted at random moments:
//          scale-in decisions made, builds ended by a removal, ephemeral agents with a second build,
//          and how long after the last build the pools are back at min (against idleAfter + 2 ticks).
//
//   node bench/provision/watch.mjs [--boot 2s] [--ssm 2s] [--tick 5s] [--samples 6] [--burst 100]
//        [--executors 4] [--churn 180s] [--only cold,warm,burst,churn] [--json FILE]
//        [--idle-after 10s] [--builds 2-21s] [--arrivals 1-7s] [--decisions N] [--instant-hosts]
//        [--seed 20261128]
// --decisions N runs the churn until N scale-in decisions (drains of idle or ephemeral agents) were
// made, --churn then being its upper bound; with a short --idle-after and --tick, short --builds and
// --instant-hosts (the sandbox's hosts skip the bootstrap script) that takes minutes, not an hour.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { bin, flags, requests, root, seconds, startSandbox } from './lib.mjs';

const args = flags(process.argv.slice(2));
const boot = args.boot ?? '2s';
const ssm = args.ssm ?? '2s';
const tick = args.tick ?? '5s';
const samples = Number(args.samples ?? 6);
const burst = Number(args.burst ?? 100);
const executors = Number(args.executors ?? 4);
const churnMs = seconds(args.churn ?? '180s') * 1000;
const idleAfter = args['idle-after'] ?? '10s';
const [buildMin, buildMax] = (args.builds ?? '2-21s').replace(/s$/, '').split('-').map(Number);
const wantedDecisions = Number(args.decisions ?? 0);
const [gapMin, gapMax] = (args.arrivals ?? '1-7s').replace(/s$/, '').split('-').map(Number);
const instantHosts = args['instant-hosts'] !== undefined;
/** Which parts to run (`--only cold,warm,burst,churn`). */
const only = new Set((args.only ?? 'cold,warm,burst,churn').split(','));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]; };
const f = (ms) => `${(ms / 1000).toFixed(1)} s`;

/** examples/fleet.yaml's awsDeploy pool, scaled as `scaling` says, plus an ephemeral pool. */
function fleetFile(dir, scaling) {
  const fleet = parse(readFileSync(join(root, 'examples/fleet.yaml'), 'utf8'));
  const { count: _count, ...base } = fleet.pools.find((p) => p.name === 'awsDeploy');
  fleet.pools = [
    { ...base, executors, idleAfter, bootDeadline: '5m', ...scaling },
    { ...base, name: 'pullRequests', labels: ['pull-request'], tools: [], executors: 1, min: 0, max: 10, ephemeral: true, idleAfter, bootDeadline: '5m' },
  ];
  const path = join(dir, 'fleet.yaml');
  writeFileSync(path, stringify(fleet));
  return path;
}

async function world(scaling, extra = []) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-watch-'));
  const config = fleetFile(dir, scaling);
  const state = join(dir, 'state');
  const sandbox = await startSandbox(state, ['--fleet', config, '--boot-delay', boot, '--ssm-online-delay', ssm, '--lost-agent-timeout', '10s', '--terminated-linger', '10s', ...(instantHosts ? ['--instant-hosts'] : []), ...extra]);
  const url = sandbox.env.JENKINS_URL.replace(/\/jenkins\/$/, '');
  return {
    config,
    state,
    async queue(label, count, duration) {
      const r = await fetch(`${url}/_sandbox/builds`, { method: 'POST', body: JSON.stringify({ label, count, duration }) });
      if (!r.ok) throw new Error(await r.text());
      return (await r.json()).builds;
    },
    async builds() {
      return (await fetch(`${url}/_sandbox/builds`)).json();
    },
    async live(pool) {
      const s = await (await fetch(`${url}/_sandbox/state`)).json();
      return s.instances.filter((i) => (i.state === 'pending' || i.state === 'running') && i.tags['jenkins-fleet:pool'] === pool);
    },
    watch() {
      const child = spawn(process.execPath, [bin, '--config', config, 'watch', '--tick', tick], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, HOME: process.env.HOME, ...sandbox.env } });
      let output = '';
      child.stdout.on('data', (c) => { output += c; });
      child.stderr.on('data', (c) => { output += c; });
      const exited = new Promise((r) => child.once('close', r));
      return { child, output: () => output, async stop(signal = 'SIGTERM') { child.kill(signal); await exited; } };
    },
    async close() {
      await sandbox.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function until(what, probe, timeoutMs = 300_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // A sandbox busy with a hundred agents may drop a connection: ask again.
    const value = await probe().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

const results = {};

/**
 * Scale-in decisions in watch's output: each drain it made (an idle agent, or an ephemeral one that
 * took its build, by a tick or by the look between ticks), one `AGENT: draining` line each. A
 * killed watch may drain an agent again after its restart only if the drain was lost, so each agent
 * counts once.
 */
function drainsIn(output) {
  return new Set([...output.matchAll(/ (\S+): draining \(no new builds\)/g)].map((m) => m[1])).size;
}

// Cold: a pool at zero, one build at a time.
if (only.has('cold')) {
  const w = await world({ min: 0, max: 5 });
  const run = w.watch();
  const launch = [];
  const start = [];
  try {
    await sleep(seconds(tick) * 1000 + 1000); // the first tick makes the placeholder
    for (let i = 0; i < samples; i++) {
      const from = requests(w.state).length;
      const [b] = await w.queue('awsDeploy', 1, '1s');
      const started = await until('the build started', async () => (await w.builds()).find((x) => x.id === b.id && x.startedAt));
      const launched = requests(w.state, from).find((e) => e.action === 'RunInstances' && e.status === 200);
      launch.push(Date.parse(launched.t) - b.queuedAt);
      start.push(started.startedAt - b.queuedAt);
      await until('the pool back at zero', async () => (await w.live('awsDeploy')).length === 0);
    }
  } finally {
    await run.stop();
    await w.close();
  }
  results.cold = { samples, launchP50: pct(launch, 50), launchP95: pct(launch, 95), startP50: pct(start, 50), startP95: pct(start, 95), bound: (seconds(boot) + seconds(ssm) + 5) * 1000 };
  console.log(`cold: queued -> launch p50 ${f(results.cold.launchP50)}, p95 ${f(results.cold.launchP95)} (tick ${tick}); queued -> build start p50 ${f(results.cold.startP50)}, p95 ${f(results.cold.startP95)} (B + S + 5 s = ${f(results.cold.bound)})`);
}

// Warm: minIdle keeps executors free; one build at a time, each waiting for its start.
if (only.has('warm')) {
  const w = await world({ min: 1, max: 5, minIdle: 2 });
  const run = w.watch();
  const start = [];
  try {
    await until('the warm agent online', async () => (await w.live('awsDeploy')).length >= 1 && run.output().includes(': online'));
    for (let i = 0; i < samples; i++) {
      const [b] = await w.queue('awsDeploy', 1, '1s');
      const started = await until('the build started', async () => (await w.builds()).find((x) => x.id === b.id && x.startedAt));
      start.push(started.startedAt - b.queuedAt);
      await sleep(2000);
    }
  } finally {
    await run.stop();
    await w.close();
  }
  results.warm = { samples, startP50: pct(start, 50), startP95: pct(start, 95) };
  console.log(`warm (minIdle 2): queued -> build start p50 ${f(results.warm.startP50)}, p95 ${f(results.warm.startP95)}`);
}

// Burst: 100 builds at once.
if (only.has('burst')) {
  const max = Math.ceil((burst / executors) * 1.5);
  const w = await world({ min: 0, max });
  const run = w.watch();
  try {
    await w.queue('awsDeploy', burst, '60s');
    await until('every build started', async () => (await w.builds()).filter((b) => b.startedAt).length === burst, 600_000);
    await sleep(2 * seconds(tick) * 1000);
  } finally {
    await run.stop();
  }
  const launched = (await w.live('awsDeploy')).length;
  await w.close();
  const needed = Math.ceil(burst / executors);
  results.burst = { builds: burst, executors, needed, launched, limit: 1.05 * needed };
  console.log(`burst: ${burst} builds on ${executors}-executor agents: ${launched} instances launched (ceil = ${needed}, limit 1.05 x = ${(1.05 * needed).toFixed(1)})`);
}

// Churn: random arrivals on both pools, watch killed with -9 now and then.
if (only.has('churn')) {
  // Every build kept (the sandbox's job discards all but the newest 2000 by default): each is counted.
  const w = await world({ min: 1, max: 8 }, ['--queue-maintenance', '5s', '--keep-builds', 'all']);
  // The arrivals, durations and kill times: the same for the same --seed.
  let seed = Number(args.seed ?? 20261128);
  const random = () => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31; };
  let run = w.watch();
  let output = '';
  let kills = 0;
  const began = Date.now();
  /** Each watch process: when it was started and when killed, to tell what led while a second build ran. */
  const runs = [{ from: began }];
  let nextKill = began + 20_000 + random() * 40_000;
  let lastArrival = began;
  const duration = (max) => `${buildMin + Math.floor(random() * Math.min(max, buildMax - buildMin + 1))}s`;
  try {
    while (Date.now() - began < churnMs && (wantedDecisions === 0 || drainsIn(output + run.output()) < wantedDecisions)) {
      if (random() < 0.7) await w.queue('awsDeploy', 1 + Math.floor(random() * 6), duration(20));
      else await w.queue('pull-request', 1 + Math.floor(random() * 3), duration(10));
      lastArrival = Date.now();
      await sleep((gapMin + random() * (gapMax - gapMin)) * 1000);
      if (Date.now() > nextKill) {
        await run.stop('SIGKILL');
        runs.at(-1).killed = Date.now();
        output += run.output();
        kills += 1;
        run = w.watch();
        runs.push({ from: Date.now() });
        nextKill = Date.now() + 20_000 + random() * 40_000;
      }
    }
    await until('every build ended', async () => (await w.builds()).every((b) => b.result !== null), 600_000);
    const lastEnd = Math.max(...(await w.builds()).map((b) => b.finishedAt));
    await until('the pools back at min', async () => (await w.live('awsDeploy')).length === 1 && (await w.live('pullRequests')).length === 0, 300_000);
    results.churn = { backAtMinAfter: Date.now() - lastEnd, arrivalSeconds: Math.round((lastArrival - began) / 1000) };
  } finally {
    await run.stop();
    output += run.output();
  }
  const all = await w.builds();
  await w.close();
  const perNode = new Map();
  for (const b of all.filter((x) => x.label === 'pull-request')) perNode.set(b.node, (perNode.get(b.node) ?? 0) + 1);
  const decisions = drainsIn(output);
  Object.assign(results.churn, {
    seconds: results.churn.arrivalSeconds,
    builds: all.length,
    kills,
    scaleInDecisions: decisions,
    endedByRemoval: all.filter((b) => b.abortedBy).length,
    // watch's own count: a node it deleted that Jenkins still listed with a build running.
    removedWhileRunning: [...output.matchAll(/removed while a build still ran there/g)].length,
    notSuccess: all.filter((b) => b.result !== 'SUCCESS').length,
    ephemeralSecondBuilds: [...perNode.values()].filter((n) => n > 1).length,
    bound: seconds(idleAfter) * 1000 + 2 * seconds(tick) * 1000,
  });
  // Each agent with a second build: its builds, which watch process ran meanwhile, and what watch said of it.
  const iso = (ms) => (ms ? new Date(ms).toISOString() : '-');
  const ledAt = (t) => {
    const r = runs.findIndex((x) => x.from <= t && (x.killed === undefined || t < x.killed));
    return r < 0 ? 'no watch running' : `watch #${r + 1} (started ${iso(runs[r].from)}${runs[r].killed ? `, killed ${iso(runs[r].killed)}` : ''})`;
  };
  results.churn.secondBuilds = [...perNode].filter(([, n]) => n > 1).map(([node]) => ({
    node,
    builds: all.filter((b) => b.node === node).sort((a, b) => a.startedAt - b.startedAt).map((b) => ({ id: b.id, started: iso(b.startedAt), finished: iso(b.finishedAt), startedUnder: ledAt(b.startedAt), finishedUnder: ledAt(b.finishedAt) })),
    said: output.split('\n').filter((l) => l.includes(node)).slice(0, 12),
  }));
  for (const s of results.churn.secondBuilds) {
    console.log(`second build on ${s.node}:`);
    for (const b of s.builds) console.log(`  build ${b.id}: ${b.started} -> ${b.finished}; started under ${b.startedUnder}; ended under ${b.finishedUnder}`);
    for (const line of s.said) console.log(`  watch: ${line}`);
  }
  const c = results.churn;
  console.log(`churn: ${c.seconds} s of random arrivals, ${c.builds} builds, ${c.kills} kill -9 of watch: ${c.scaleInDecisions} scale-in decisions (drains), ${c.endedByRemoval} builds ended by a removal (watch saw ${c.removedWhileRunning}), ${c.notSuccess} not SUCCESS, ${c.ephemeralSecondBuilds} ephemeral agents with a second build; back at min ${f(c.backAtMinAfter)} after the last build ended (idleAfter + 2 ticks = ${f(c.bound)})`);
}

if (args.json) writeFileSync(args.json, `${JSON.stringify(results, null, 2)}\n`);
