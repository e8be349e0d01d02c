#!/usr/bin/env node
// Provisioning benchmark: `provisioner up` of N agents through a sandbox whose boot delay B and
// SSM-online delay S are realistic values scaled down, timed from the start of `up` until it
// exits with every agent online, with the number of calls per API action from the sandbox's
// request log; then a steady-state `plan` of a large fleet (wall time, calls, mutating calls).
//
//   node bench/provision/run.mjs [--sizes 1,10,50,200] [--plan-size 500] [--boot 1.5s] [--ssm 3s] [--json FILE]
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fleetFile, flags, requests, run, seconds, startSandbox as sandboxOn, startup, tally } from './lib.mjs';

const args = flags(process.argv.slice(2));
const sizes = (args.sizes ?? '1,10,50,200').split(',').map(Number);
const planSize = Number(args['plan-size'] ?? 500);
const boot = args.boot ?? '1.5s';
const ssm = args.ssm ?? '3s';
const startSandbox = (dir) => sandboxOn(dir, ['--boot-delay', boot, '--ssm-online-delay', ssm]);

/** Resident memory (KiB) of the processes running on the sandbox's hosts under `dir`, and how many. */
function hostMemory(dir) {
  let kib = 0;
  let count = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`${dir}/state/hosts/`)) continue;
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (rss) { kib += Number(rss[1]); count++; }
    } catch { /* gone */ }
  }
  return { kib, count };
}

const results = { boot: seconds(boot), ssm: seconds(ssm), startupSeconds: await startup(), up: [], plan: undefined };
process.stderr.write(`bench: B=${boot} S=${ssm}; CLI start-up ${results.startupSeconds.toFixed(2)} s\n`);

for (const n of sizes) {
  const dir = mkdtempSync(join(tmpdir(), `bench-up-${n}-`));
  const sandbox = await startSandbox(join(dir, 'state'));
  try {
    const config = fleetFile(dir, n);
    const r = await run(config, ['up', '--yes', '--timeout', '20m'], sandbox.env);
    if (r.code !== 0) throw new Error(`up of ${n} failed (exit ${r.code}):\n${r.output}`);
    const log = requests(join(dir, 'state'));
    const calls = tally(log);
    // Where the time goes: moments of the first call of each step, from the start of `up`.
    const begin = Date.parse(log[0].t) - (r.seconds * 1000 - (Date.parse(log.at(-1).t) - Date.parse(log[0].t)));
    const first = (match) => { const e = log.find(match); return e ? (Date.parse(e.t) - begin) / 1000 : undefined; };
    const lastOf = (match) => { const e = log.filter(match).at(-1); return e ? (Date.parse(e.t) - begin) / 1000 : undefined; };
    const timeline = {
      firstCall: first(() => true),
      runInstances: first((e) => e.action === 'RunInstances'),
      sendCommand: first((e) => e.action === 'SendCommand'),
      lastSendCommand: lastOf((e) => e.action === 'SendCommand'),
      firstAgentConnected: first((e) => e.action === 'WS wsagents/ open'),
      lastAgentConnected: lastOf((e) => e.action === 'WS wsagents/ open'),
      lastCall: lastOf((e) => e.service !== 'control' && !e.action.startsWith('WS')),
      exit: r.seconds,
    };
    // How long the hosts themselves took to run the bootstrap (the sandbox runs every host on
    // this machine's CPUs; real hosts run theirs in parallel on their own).
    const world = await (await fetch(`${sandbox.env.JENKINS_URL.replace(/jenkins\/$/, '')}_sandbox/state`)).json();
    const runs = world.commands.flatMap((c) => c.invocations).filter((i) => i.startedAt && i.endedAt);
    const hostSeconds = runs.map((i) => (i.endedAt - i.startedAt) / 1000);
    timeline.bootstrapMedian = hostSeconds.sort((a, b) => a - b)[Math.floor(hostSeconds.length / 2)];
    timeline.bootstrapSpan = runs.length ? (Math.max(...runs.map((i) => i.endedAt)) - Math.min(...runs.map((i) => i.startedAt))) / 1000 : undefined;
    const memory = hostMemory(dir);
    results.up.push({ n, seconds: r.seconds, calls, timeline, hostProcesses: memory.count, hostRssMiB: memory.kib / 1024 });
    process.stderr.write(`bench: up of ${n} agents: ${r.seconds.toFixed(2)} s\n`);
  } finally {
    await sandbox.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (planSize > 0) {
  const dir = mkdtempSync(join(tmpdir(), `bench-plan-${planSize}-`));
  const sandbox = await startSandbox(join(dir, 'state'));
  try {
    const config = fleetFile(dir, planSize);
    const upRun = await run(config, ['up', '--yes', '--timeout', '30m'], sandbox.env);
    if (upRun.code !== 0) throw new Error(`up of ${planSize} failed (exit ${upRun.code}):\n${upRun.output}`);
    const from = requests(join(dir, 'state')).length;
    const plans = [];
    for (let i = 0; i < 3; i++) plans.push(await run(config, ['plan', '--detailed-exitcode'], sandbox.env));
    const entries = requests(join(dir, 'state'), from);
    results.plan = {
      n: planSize,
      upSeconds: upRun.seconds,
      seconds: Math.min(...plans.map((p) => p.seconds)),
      exitCodes: plans.map((p) => p.code),
      calls: tally(entries.slice(0, entries.length / 3)),
      mutating: entries.filter((e) => e.mutating).length,
    };
    process.stderr.write(`bench: steady-state plan of ${planSize}: ${results.plan.seconds.toFixed(2)} s\n`);
  } finally {
    await sandbox.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- figures
const t1 = results.up.find((u) => u.n === 1)?.seconds;
console.log(`B = ${results.boot} s, S = ${results.ssm} s, CLI start-up (node and the built CLI, no network) = ${results.startupSeconds.toFixed(2)} s\n`);
console.log('| agents N | wall time T(N) | T(N) / T(1) | RunInstances | SendCommand | DescribeInstances | DescribeInstanceInformation | computer/api/json | doCreateItem | all calls |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const u of results.up) {
  const c = u.calls;
  const total = Object.values(c).reduce((a, b) => a + b, 0);
  console.log(`| ${u.n} | ${u.seconds.toFixed(2)} s | ${t1 ? (u.seconds / t1).toFixed(2) : '-'} | ${c['ec2 RunInstances'] ?? 0} | ${c['ssm SendCommand'] ?? 0} | ${c['ec2 DescribeInstances'] ?? 0} | ${c['ssm DescribeInstanceInformation'] ?? 0} | ${c['jenkins GET computer/api/json'] ?? 0} | ${c['jenkins POST computer/doCreateItem'] ?? 0} | ${total} |`);
}
console.log(`\nHost processes after up (agent stand-ins): ${results.up.map((u) => `N=${u.n}: ${u.hostProcesses} processes, ${u.hostRssMiB.toFixed(0)} MiB RSS (${(u.hostRssMiB / Math.max(1, u.n)).toFixed(1)} MiB per agent)`).join('; ')}`);
if (t1) console.log(`\nT(1) - (B + S) = ${(t1 - results.boot - results.ssm).toFixed(2)} s (of which CLI start-up ${results.startupSeconds.toFixed(2)} s)`);
if (results.plan) {
  const p = results.plan;
  console.log(`\nSteady-state plan of ${p.n} agents: ${p.seconds.toFixed(2)} s wall (best of 3; exit codes ${p.exitCodes.join(', ')}), ${Object.values(p.calls).reduce((a, b) => a + b, 0)} calls per plan (${Object.entries(p.calls).map(([k, v]) => `${k} ${v}`).join(', ')}), ${p.mutating} mutating calls over 3 plans.`);
}
console.log('\nTimeline (seconds from the start of `up`; approximate, from the request log):');
console.log('| N | first call | RunInstances | first SendCommand | last SendCommand | first agent connected | last agent connected | last call | exit | one bootstrap (median) | all bootstraps (span) |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
const f = (x) => (x === undefined ? '-' : x.toFixed(1));
for (const u of results.up) { const t = u.timeline; console.log(`| ${u.n} | ${f(t.firstCall)} | ${f(t.runInstances)} | ${f(t.sendCommand)} | ${f(t.lastSendCommand)} | ${f(t.firstAgentConnected)} | ${f(t.lastAgentConnected)} | ${f(t.lastCall)} | ${f(t.exit)} | ${f(t.bootstrapMedian)} | ${f(t.bootstrapSpan)} |`); }
console.log('\nCalls per action:');
for (const u of results.up) console.log(`N=${u.n}: ${Object.entries(u.calls).sort().map(([k, v]) => `${k} ${v}`).join('; ')}`);
if (args.json) writeFileSync(args.json, `${JSON.stringify(results, null, 2)}\n`);
