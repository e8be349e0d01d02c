#!/usr/bin/env node
// The provisioner measured apart from its hosts: `provisioner up` through a sandbox whose hosts
// answer Run Command at once (`provisioner sandbox --instant-hosts`: no bootstrap runs, each
// instance's agent connects with the secret stored for it), so that 200 simulated bootstraps
// sharing this machine's CPUs do not stand in for 200 EC2 instances running theirs in parallel.
// Prints T(N) and T(N)/T(1) over interleaved rounds (each round runs every size once, in turn,
// on a fresh sandbox; the ratio is taken within a round, so load that drifts over the run cancels
// out), the provisioner's own calls per agent apart from the hosts', and a steady-state `plan` of
// a large fleet (wall time, calls, mutating calls).
//
//   node bench/provision/instant.mjs [--sizes 1,200] [--rounds 3] [--plan-size 1000] [--plans 5]
//                                    [--boot 1.5s] [--ssm 3s] [--keep DIR] [--json FILE]
//
// --keep DIR leaves the plan's sandbox running (until Ctrl-C) with DIR/env and DIR/fleet.yaml, to
// time `plan` with any outside timer:
//   sh -c '. DIR/env && exec node bin/provisioner.mjs --config DIR/fleet.yaml plan --detailed-exitcode'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { byHost, fleetFile, flags, median, requests, run, seconds, startSandbox, startup, tally } from './lib.mjs';

const args = flags(process.argv.slice(2));
const sizes = (args.sizes ?? '1,200').split(',').map(Number);
const rounds = Number(args.rounds ?? 3);
const planSize = Number(args['plan-size'] ?? 1000);
const plans = Number(args.plans ?? 5);
const boot = args.boot ?? '1.5s';
const ssm = args.ssm ?? '3s';
const sandboxFlags = ['--instant-hosts', '--write-behind', '250ms', '--boot-delay', boot, '--ssm-online-delay', ssm];
const sum = (counts) => Object.values(counts).reduce((a, b) => a + b, 0);

/** `up` of n agents on a fresh sandbox: wall time and the calls, the provisioner's and the hosts' apart. */
async function upOnce(n) {
  const dir = mkdtempSync(join(tmpdir(), `bench-instant-${n}-`));
  const sandbox = await startSandbox(join(dir, 'state'), sandboxFlags);
  try {
    const r = await run(fleetFile(dir, n), ['up', '--yes', '--timeout', '20m'], sandbox.env);
    if (r.code !== 0) throw new Error(`up of ${n} failed (exit ${r.code}):\n${r.output}`);
    const log = requests(join(dir, 'state'));
    return { n, seconds: r.seconds, provisioner: tally(log.filter((e) => !byHost(e))), hosts: tally(log.filter(byHost)) };
  } finally {
    await sandbox.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = { boot: seconds(boot), ssm: seconds(ssm), startupSeconds: await startup(), rounds: [], plan: undefined };
process.stderr.write(`bench: instant hosts, B=${boot} S=${ssm}; CLI start-up ${results.startupSeconds.toFixed(2)} s\n`);
for (let round = 1; round <= rounds; round++) {
  const ups = [];
  for (const n of sizes) {
    ups.push(await upOnce(n));
    process.stderr.write(`bench: round ${round}, up of ${n} agents: ${ups.at(-1).seconds.toFixed(2)} s\n`);
  }
  results.rounds.push(ups);
}

if (planSize > 0) {
  const dir = args.keep ? resolve(args.keep) : mkdtempSync(join(tmpdir(), `bench-instant-plan-${planSize}-`));
  mkdirSync(dir, { recursive: true });
  const sandbox = await startSandbox(join(dir, 'state'), sandboxFlags);
  try {
    const config = fleetFile(dir, planSize);
    const upRun = await run(config, ['up', '--yes', '--timeout', '30m'], sandbox.env);
    if (upRun.code !== 0) throw new Error(`up of ${planSize} failed (exit ${upRun.code}):\n${upRun.output}`);
    const from = requests(join(dir, 'state')).length;
    const runs = [];
    for (let i = 0; i < plans; i++) runs.push(await run(config, ['plan', '--detailed-exitcode'], sandbox.env));
    const entries = requests(join(dir, 'state'), from);
    results.plan = {
      n: planSize,
      upSeconds: upRun.seconds,
      seconds: runs.map((p) => p.seconds),
      exitCodes: runs.map((p) => p.code),
      callsPerPlan: sum(tally(entries)) / plans,
      calls: tally(entries),
      mutating: entries.filter((e) => e.mutating).length,
    };
    process.stderr.write(`bench: steady-state plan of ${planSize}: median ${median(results.plan.seconds).toFixed(2)} s\n`);
    if (args.keep) {
      writeFileSync(join(dir, 'env'), Object.entries(sandbox.env).map(([k, v]) => `export ${k}='${v}'\n`).join(''));
      process.stderr.write(`bench: the sandbox of ${planSize} agents keeps running (Ctrl-C stops it); time plan with\n  sh -c '. ${dir}/env && exec node bin/provisioner.mjs --config ${config} plan --detailed-exitcode'\n`);
      await new Promise((done) => { process.once('SIGINT', done); process.once('SIGTERM', done); });
    }
  } finally {
    await sandbox.stop();
    if (!args.keep) rmSync(dir, { recursive: true, force: true });
  }
}

// ---- figures
const f2 = (x) => x.toFixed(2);
console.log(`Instant hosts; B = ${results.boot} s, S = ${results.ssm} s; CLI start-up (node and the built CLI, --help) = ${f2(results.startupSeconds)} s\n`);
const [first] = sizes;
if (results.rounds.length > 0) {
  console.log(`| round | ${sizes.map((n) => `T(${n})`).join(' | ')} | ${sizes.slice(1).map((n) => `T(${n}) / T(${first})`).join(' | ')} |`);
  console.log(`|---:|${sizes.map(() => '---:').join('|')}|${sizes.slice(1).map(() => '---:').join('|')}|`);
  for (const [i, ups] of results.rounds.entries()) {
    console.log(`| ${i + 1} | ${ups.map((u) => `${f2(u.seconds)} s`).join(' | ')} | ${ups.slice(1).map((u) => f2(u.seconds / ups[0].seconds)).join(' | ')} |`);
  }
  const ratio = (n) => median(results.rounds.map((ups) => ups.find((u) => u.n === n).seconds / ups[0].seconds));
  console.log(`| median | ${sizes.map((n) => `${f2(median(results.rounds.map((ups) => ups.find((u) => u.n === n).seconds)))} s`).join(' | ')} | ${sizes.slice(1).map((n) => `**${f2(ratio(n))}**`).join(' | ')} |`);

  console.log("\nThe provisioner's own calls (the hosts' apart: agents' WebSockets, agent.jar, the hosts' SSM calls), first round:");
  for (const u of results.rounds[0]) {
    console.log(`N=${u.n}: ${sum(u.provisioner)} calls (${f2(sum(u.provisioner) / u.n)} per agent): ${Object.entries(u.provisioner).sort().map(([k, v]) => `${k} ${v}`).join('; ')}; the hosts': ${sum(u.hosts)}`);
  }
  const small = results.rounds[0][0];
  for (const u of results.rounds[0].slice(1)) {
    const marginal = (sum(u.provisioner) - sum(small.provisioner)) / (u.n - small.n);
    const perAgent = Object.entries(u.provisioner).filter(([k, v]) => v - (small.provisioner[k] ?? 0) === u.n - small.n).map(([k]) => k);
    console.log(`Calls per added agent from N=${small.n} to N=${u.n}: **${f2(marginal)}** (one per agent each: ${perAgent.join(', ')})`);
  }
}
if (results.plan) {
  const p = results.plan;
  console.log(`\nSteady-state plan of ${p.n} agents (after an up of ${f2(p.upSeconds)} s): median **${f2(median(p.seconds))} s** wall over ${p.seconds.length} (min ${f2(Math.min(...p.seconds))}, max ${f2(Math.max(...p.seconds))}), exit codes ${p.exitCodes.join(', ')}; ${p.callsPerPlan} calls per plan (${Object.entries(p.calls).map(([k, v]) => `${k} ${v / p.seconds.length}`).join(', ')}); **${p.mutating} mutating calls** over ${p.seconds.length} plans.`);
}
if (args.json) writeFileSync(args.json, `${JSON.stringify(results, null, 2)}\n`);
