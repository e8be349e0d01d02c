#!/usr/bin/env node
// Spot benchmark: `provisioner up` of one pool of N agents from an empty fleet, on a fresh sandbox
// each, in three cases: On-Demand (the baseline), Spot with capacity, and Spot with no capacity for
// any type (`--spot-capacity *=0`) under `spot-then-on-demand`, where the shortfall must be
// launched On-Demand in the same `up`. Prints the wall time of each `up` (until every agent is
// online), when its launch calls were answered, and the calls it made.
//
//   node bench/provision/spot.mjs [--size 10] [--rounds 3] [--boot 1.5s] [--ssm 3s] [--json FILE]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { flags, median, requests, root, run, startSandbox } from './lib.mjs';

const args = flags(process.argv.slice(2));
const size = Number(args.size ?? 10);
const rounds = Number(args.rounds ?? 3);
const boot = args.boot ?? '1.5s';
const ssm = args.ssm ?? '3s';

const cases = [
  { name: 'on-demand', capacity: undefined, spotCapacity: [] },
  { name: 'spot', capacity: 'spot-then-on-demand', spotCapacity: [] },
  { name: 'spot, no capacity for any type', capacity: 'spot-then-on-demand', spotCapacity: ['--spot-capacity', '*=0'] },
];

/** examples/fleet.yaml's awsDeploy pool alone, of `n` agents over two types, bought as `capacity` says. */
function fleetFile(dir, n, capacity) {
  const fleet = parse(readFileSync(join(root, 'examples/fleet.yaml'), 'utf8'));
  fleet.pools = fleet.pools.filter((p) => p.name === 'awsDeploy');
  const pool = fleet.pools[0];
  pool.count = n;
  if (capacity) {
    delete pool.instanceType;
    pool.instanceTypes = ['t3.medium', 'm5.large'];
    pool.capacity = capacity;
  }
  const path = join(dir, 'fleet.yaml');
  writeFileSync(path, stringify(fleet));
  return path;
}

const results = [];
for (let round = 1; round <= rounds; round++) {
  for (const c of cases) {
    const dir = mkdtempSync(join(tmpdir(), 'bench-spot-'));
    const sandbox = await startSandbox(join(dir, 'state'), ['--boot-delay', boot, '--ssm-online-delay', ssm, ...c.spotCapacity]);
    try {
      const r = await run(fleetFile(dir, size, c.capacity), ['up', '--yes', '--timeout', '10m'], sandbox.env);
      if (r.code !== 0) throw new Error(`up (${c.name}) failed (exit ${r.code}):\n${r.output}`);
      const log = requests(join(dir, 'state'));
      const at = (e) => Date.parse(e.t);
      const begin = at(log[0]);
      const launches = log.filter((e) => e.action === 'CreateFleet' || e.action === 'RunInstances');
      results.push({
        round,
        case: c.name,
        seconds: r.seconds,
        launches: launches.map((e) => `${e.action} +${((at(e) - begin) / 1000).toFixed(2)} s`),
        // From the Spot answer to the On-Demand launch of the shortfall, within the same `up`.
        shortfallAfterMs: (() => {
          const fleet = launches.find((e) => e.action === 'CreateFleet');
          const onDemand = launches.find((e) => e.action === 'RunInstances' && fleet && at(e) >= at(fleet));
          return fleet && onDemand ? at(onDemand) - at(fleet) : undefined;
        })(),
        calls: log.filter((e) => e.service !== 'control' && !e.action.startsWith('WS')).length,
      });
      process.stderr.write(`round ${round}, ${c.name}: ${r.seconds.toFixed(2)} s\n`);
    } finally {
      await sandbox.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

console.log(`Spot benchmark: N=${size} agents, B=${boot}, S=${ssm}, ${rounds} round(s); median of the rounds`);
console.log('| case | up (median) | launch calls (first round, from the first call) | shortfall On-Demand after CreateFleet | calls |');
console.log('|---|---:|---|---:|---:|');
for (const c of cases) {
  const mine = results.filter((r) => r.case === c.name);
  const shortfall = mine.map((r) => r.shortfallAfterMs).filter((ms) => ms !== undefined);
  console.log(`| ${c.name} | ${median(mine.map((r) => r.seconds)).toFixed(2)} s | ${mine[0].launches.join(', ')} | ${shortfall.length ? `${median(shortfall).toFixed(0)} ms` : '-'} | ${median(mine.map((r) => r.calls))} |`);
}
if (args.json) writeFileSync(args.json, JSON.stringify(results, null, 2));
