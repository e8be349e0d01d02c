#!/usr/bin/env node
// Provisioning benchmark: `provisioner up` of N agents through a sandbox whose boot delay B and
// SSM-online delay S are realistic values scaled down, timed from the start of `up` until it
// exits with every agent online, with the number of calls per API action from the sandbox's
// request log; then a steady-state `plan` of a large fleet (wall time, calls, mutating calls).
//
//   node bench/provision/run.mjs [--sizes 1,10,50,200] [--plan-size 500] [--boot 1.5s] [--ssm 3s] [--json FILE]
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

const root = new URL('../../', import.meta.url).pathname;
const bin = join(root, 'bin/provisioner.mjs');

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith('--') ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []));
const sizes = (args.sizes ?? '1,10,50,200').split(',').map(Number);
const planSize = Number(args['plan-size'] ?? 500);
const boot = args.boot ?? '1.5s';
const ssm = args.ssm ?? '3s';
const seconds = (d) => (d.endsWith('ms') ? Number(d.slice(0, -2)) / 1000 : d.endsWith('s') ? Number(d.slice(0, -1)) : Number(d) / 1000);

async function startSandbox(dir) {
  const child = spawn(process.execPath, [bin, 'sandbox', '--state', dir, '--boot-delay', boot, '--ssm-online-delay', ssm], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (c) => { out += c; if (out.includes('AWS_SECRET_ACCESS_KEY')) resolve(); });
    child.once('exit', (code) => reject(new Error(`sandbox exited with ${code}`)));
  });
  const env = Object.fromEntries([...out.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1], m[2].replace(/^'|'$/g, '')]));
  return {
    env,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function fleetFile(dir, n) {
  const fleet = parse(readFileSync(join(root, 'examples/fleet.yaml'), 'utf8'));
  fleet.pools = fleet.pools.filter((p) => p.name === 'awsDeploy');
  fleet.pools[0].count = n;
  const path = join(dir, 'fleet.yaml');
  writeFileSync(path, stringify(fleet));
  return path;
}

function run(config, cliArgs, env) {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [bin, '--config', config, ...cliArgs], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } });
  let output = '';
  child.stdout.on('data', (c) => { output += c; });
  child.stderr.on('data', (c) => { output += c; });
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, output, seconds: Number(process.hrtime.bigint() - started) / 1e9 })));
}

function requests(dir, from = 0) {
  return readFileSync(join(dir, 'requests.log'), 'utf8').split('\n').filter(Boolean).slice(from).map((l) => JSON.parse(l));
}

function tally(entries) {
  const counts = {};
  for (const e of entries) {
    if (e.service === 'control') continue;
    const key = `${e.service} ${e.action.replace(/computer\/NAME\//, 'computer/*/')}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

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

/** Wall time of a CLI run that contacts nothing, to separate start-up from provisioning. */
async function startup() {
  const times = [];
  for (let i = 0; i < 3; i++) times.push((await run(join(root, 'examples/fleet.yaml'), ['--help'], {})).seconds);
  return Math.min(...times);
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
console.log(`B = ${results.boot} s, S = ${results.ssm} s, CLI start-up (node + tsx, no network) = ${results.startupSeconds.toFixed(2)} s\n`);
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
