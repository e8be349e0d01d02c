#!/usr/bin/env node
// Spot under `watch`: a pool scaled 0..max on Spot with On-Demand for the rest, Spot capacity taken
// away for every type, and K builds queued at once. Prints how long each build waited in the queue
// against B + S + 2 ticks, and how far apart the CreateFleet and the On-Demand RunInstances of the
// shortfall were (the same tick, or not).
//
//   node bench/provision/spot-watch.mjs [--builds 4] [--boot 1.5s] [--ssm 3s] [--tick 1s] [--capacity spot-then-on-demand] [--json FILE]
//
// `--capacity on-demand` runs the same pool On-Demand, the baseline the bound is compared with.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { parse, stringify } from 'yaml';
import { bin, flags, requests, root, seconds, startSandbox } from './lib.mjs';

const args = flags(process.argv.slice(2));
const builds = Number(args.builds ?? 4);
const boot = args.boot ?? '1.5s';
const ssm = args.ssm ?? '3s';
const tick = args.tick ?? '1s';
const capacity = args.capacity ?? 'spot-then-on-demand';

const dir = mkdtempSync(join(tmpdir(), 'bench-spot-watch-'));
const fleet = parse(readFileSync(join(root, 'examples/fleet.yaml'), 'utf8'));
const { count: _count, instanceType: _type, ...base } = fleet.pools[0];
fleet.pools = [{ ...base, executors: 1, min: 0, max: builds + 2, idleAfter: '1m', bootDeadline: '2m', instanceTypes: ['t3.medium', 'm5.large'], capacity }];
const config = join(dir, 'fleet.yaml');
writeFileSync(config, stringify(fleet));

const sandbox = await startSandbox(join(dir, 'state'), ['--fleet', config, '--boot-delay', boot, '--ssm-online-delay', ssm, '--queue-maintenance', '1s', '--spot-capacity', '*=0']);
const watch = spawn(process.execPath, [bin, '--config', config, 'watch', '--tick', tick], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, HOME: process.env.HOME, ...sandbox.env } });
let output = '';
watch.stdout.on('data', (c) => { output += c; });
watch.stderr.on('data', (c) => { output += c; });
const base_url = sandbox.env.JENKINS_URL.replace(/\/jenkins\/$/, '');
try {
  // Let watch settle (placeholders, first ticks) before the builds arrive.
  await new Promise((r) => setTimeout(r, 3 * seconds(tick) * 1000));
  const from = requests(join(dir, 'state')).length;
  const queued = await fetch(`${base_url}/_sandbox/builds`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ label: 'awsDeploy', count: builds, duration: '2s' }) });
  if (!queued.ok) throw new Error(`queueing builds: ${await queued.text()}`);
  const ids = new Set((await queued.json()).builds.map((b) => b.id));
  let done;
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    const all = await (await fetch(`${base_url}/_sandbox/builds`)).json();
    done = all.filter((b) => ids.has(b.id));
    if (done.every((b) => b.startedAt !== null)) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  if (!done.every((b) => b.startedAt !== null)) throw new Error(`not every build started within 3 minutes:\n${output.slice(-3000)}`);
  const waits = done.map((b) => (b.startedAt - b.queuedAt) / 1000).sort((a, b) => a - b);
  const log = requests(join(dir, 'state'), from);
  const at = (e) => Date.parse(e.t);
  const launches = log.filter((e) => (e.action === 'CreateFleet' || e.action === 'RunInstances') && e.status === 200);
  const fleetCall = launches.find((e) => e.action === 'CreateFleet');
  const onDemand = launches.find((e) => e.action === 'RunInstances' && fleetCall && at(e) >= at(fleetCall));
  const bound = seconds(boot) + seconds(ssm) + 2 * seconds(tick);
  const result = {
    builds,
    boot: seconds(boot),
    ssm: seconds(ssm),
    tick: seconds(tick),
    bound,
    waits,
    maxWait: waits.at(-1),
    launches: launches.map((e) => `${e.action} +${((at(e) - at(log[0])) / 1000).toFixed(2)} s`),
    shortfallAfterMs: fleetCall && onDemand ? at(onDemand) - at(fleetCall) : undefined,
  };
  console.log(`${capacity} under watch: ${builds} builds queued at once, Spot capacity taken away for every type; B=${boot}, S=${ssm}, tick ${tick}`);
  console.log(`waits in the queue: ${waits.map((w) => `${w.toFixed(2)} s`).join(', ')}; longest ${result.maxWait.toFixed(2)} s against B + S + 2 ticks = ${bound.toFixed(2)} s`);
  console.log(`launch calls: ${result.launches.join(', ')}; On-Demand shortfall ${result.shortfallAfterMs ?? '-'} ms after the CreateFleet answer`);
  if (args.json) writeFileSync(args.json, JSON.stringify(result, null, 2));
} finally {
  const exited = new Promise((r) => watch.once('exit', r));
  watch.kill('SIGTERM');
  await exited;
  await sandbox.stop();
  rmSync(dir, { recursive: true, force: true });
}
