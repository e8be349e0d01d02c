#!/usr/bin/env node
// Spot interruptions under `watch`: a Spot pool kept busy with builds, and W interruption warnings
// issued at random moments over the run, each for a random agent that is online and not warned yet.
// Prints: the builds running on a warned agent that watch reported by name (of all such builds),
// the warnings whose replacement was online before EC2 reclaimed the instance, the time from each
// warning to watch's report, and the orphans left at the end (nodes without a live instance, live
// instances without a node, beyond the pool's size).
//
//   node bench/watch/interruptions.mjs [--warnings 50] [--agents 8] [--over 300s] [--notice 20s]
//        [--boot 1.5s] [--ssm 3s] [--tick 5s] [--real-hosts] [--seed 7] [--json FILE]
//
// By default the hosts are the sandbox's --instant-hosts (the bootstrap takes no time): it measures
// watch; --real-hosts runs each replacement's bootstrap for real on this machine.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { parse, stringify } from 'yaml';
import { bin, flags, root, seconds, startSandbox } from '../provision/lib.mjs';

const argv = process.argv.slice(2);
const args = flags(argv);
const warnings = Number(args.warnings ?? 50);
const agents = Number(args.agents ?? 8);
const over = seconds(args.over ?? '300s') * 1000;
const notice = args.notice ?? '20s';
const boot = args.boot ?? '1.5s';
const ssm = args.ssm ?? '3s';
const tick = args.tick ?? '5s';
const realHosts = argv.includes('--real-hosts');
let seed = Number(args.seed ?? 7);
const random = () => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31; };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const dir = mkdtempSync(join(tmpdir(), 'bench-interruptions-'));
const queueUrl = 'https://sqs.us-east-1.amazonaws.com/123456789012/jenkins-fleet-bank-ci-interruptions';
const fleet = parse(readFileSync(join(root, 'examples/fleet.yaml'), 'utf8'));
const { count: _count, instanceType: _type, ...base } = fleet.pools[0];
fleet.interruptions = { queue: queueUrl };
fleet.pools = [{ ...base, executors: 2, min: agents, max: agents, idleAfter: '10m', bootDeadline: '3m', instanceTypes: ['t3.medium', 'm5.large'], capacity: 'spot' }];
const config = join(dir, 'fleet.yaml');
writeFileSync(config, stringify(fleet));

const sandbox = await startSandbox(join(dir, 'state'), ['--fleet', config, '--boot-delay', boot, '--ssm-online-delay', ssm, '--queue-maintenance', '1s', '--interruption-notice', notice, '--lost-agent-timeout', '5s', '--terminated-linger', '10m', '--agent-retry', '1s', ...(realHosts ? [] : ['--instant-hosts'])]);
const url = sandbox.env.JENKINS_URL.replace(/\/jenkins\/$/, '');
const watch = spawn(process.execPath, [bin, '--config', config, 'watch', '--tick', tick, '--json'], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, HOME: process.env.HOME, ...sandbox.env } });
let output = '';
let errors = '';
watch.stdout.on('data', (c) => { output += c; });
watch.stderr.on('data', (c) => { errors += c; });
const get = async (path) => (await fetch(`${url}/_sandbox/${path}`)).json();
const post = async (path, body) => {
  const r = await fetch(`${url}/_sandbox/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!r.ok) throw new Error(`${path}: ${await r.text()}`);
  return r.json();
};
const ours = (s) => s.instances.filter((i) => i.tags['jenkins-fleet:pool'] === 'awsDeploy');
const liveOf = (s) => ours(s).filter((i) => i.state === 'pending' || i.state === 'running');

// What is seen of each node and instance over the run (polled every 250 ms).
const firstOnline = new Map();
const launchedAt = new Map();
let polling = true;
const poller = (async () => {
  while (polling) {
    try {
      const s = await get('state');
      const now = Date.now();
      for (const i of ours(s)) if (!launchedAt.has(i.id)) launchedAt.set(i.id, now);
      for (const n of s.nodes) if (n.online && !firstOnline.has(n.name)) firstOnline.set(n.name, now);
    } catch { /* the sandbox is stopping */ }
    await sleep(250);
  }
})();

const warned = [];
try {
  const started = Date.now();
  for (;;) {
    const s = await get('state');
    if (s.nodes.filter((n) => n.name.startsWith('awsDeploy-i-') && n.online).length >= agents) break;
    if (Date.now() - started > 180_000) throw new Error(`the pool did not come up in 3 minutes:\n${output.slice(-3000)}${errors.slice(-2000)}`);
    await sleep(500);
  }
  // Builds keep the agents busy: every second, enough 5-40 s builds to fill what is free and a few waiting.
  let feeding = true;
  const feeder = (async () => {
    while (feeding) {
      const all = await get('builds');
      const waiting = all.filter((b) => b.startedAt === null && b.result === null).length;
      if (waiting < 4) await post('builds', { label: 'awsDeploy', count: 4 - waiting + 2, duration: `${5 + Math.floor(random() * 36)}s` });
      await sleep(1000);
    }
  })();
  await sleep(10_000);
  const runStart = Date.now();
  const moments = Array.from({ length: warnings }, () => random() * over).sort((a, b) => a - b);
  for (const at of moments) {
    await sleep(Math.max(0, runStart + at - Date.now()));
    const s = await get('state');
    const taken = new Set(warned.map((w) => w.instanceId));
    const candidates = s.nodes.filter((n) => n.name.startsWith('awsDeploy-i-') && n.online && !n.temporarilyOffline && !taken.has(n.name.slice('awsDeploy-'.length)));
    if (candidates.length === 0) { warned.push({ skipped: true }); continue; }
    const node = candidates[Math.floor(random() * candidates.length)];
    const instanceId = node.name.slice('awsDeploy-'.length);
    const warnedAt = Date.now();
    const answer = await post(`instances/${instanceId}/interrupt`, { notice: 'warning' });
    warned.push({ instanceId, node: node.name, warnedAt, terminateAt: answer.terminateAt });
  }
  feeding = false;
  await feeder;
  // Every reclaim done, and watch's ticks after it.
  const lastReclaim = Math.max(...warned.filter((w) => !w.skipped).map((w) => w.terminateAt));
  await sleep(Math.max(0, lastReclaim - Date.now()) + 4 * seconds(tick) * 1000 + 10_000);

  const events = output.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).filter((e) => e.kind === 'interrupted');
  const reportedUrls = new Set(events.flatMap((e) => e.builds.map((b) => b.url)));
  const builds = await get('builds');
  const done = warned.filter((w) => !w.skipped);
  // Affected: builds the reclaim aborted, and builds still running on a warned agent when watch
  // reported it (one that ended in between finished unharmed, and is counted apart).
  const reportAt = (w) => {
    const e = events.find((x) => x.agent === w.node);
    return e ? Date.parse(e.time) : w.terminateAt;
  };
  const ranAfterWarning = builds.filter((b) => {
    const w = done.find((x) => x.node === b.node);
    return w && b.startedAt !== null && b.startedAt <= w.terminateAt && (b.finishedAt === null || b.finishedAt > w.warnedAt);
  });
  const affected = ranAfterWarning.filter((b) => {
    const w = done.find((x) => x.node === b.node);
    return b.abortedBy === 'spot-interruption' || b.finishedAt === null || b.finishedAt > reportAt(w);
  });
  const endedBeforeReport = ranAfterWarning.length - affected.length;
  const reported = affected.filter((b) => reportedUrls.has(`${url}/jenkins/job/sandbox-build/${b.id}/`));
  // Replacements: agents launched after a warning, paired with warnings earliest first, online before its reclaim.
  const used = new Set();
  let onTime = 0;
  const lateness = [];
  for (const w of [...done].sort((a, b) => a.warnedAt - b.warnedAt)) {
    const candidates = [...launchedAt].filter(([id, t]) => t >= w.warnedAt && !used.has(id) && !done.some((d) => d.instanceId === id && d.warnedAt <= w.warnedAt)).sort((a, b) => a[1] - b[1]);
    const pick = candidates.find(([id]) => firstOnline.has(`awsDeploy-${id}`)) ?? candidates[0];
    if (!pick) continue;
    used.add(pick[0]);
    const online = firstOnline.get(`awsDeploy-${pick[0]}`);
    if (online !== undefined && online < w.terminateAt) onTime += 1;
    if (online !== undefined) lateness.push((online - w.warnedAt) / 1000);
  }
  const reportLatency = done.map((w) => {
    const e = events.find((x) => x.agent === w.node);
    return e ? (Date.parse(e.time) - w.warnedAt) / 1000 : undefined;
  }).filter((x) => x !== undefined).sort((a, b) => a - b);
  const final = await get('state');
  const live = liveOf(final);
  const liveIds = new Set(live.map((i) => i.id));
  const agentNodes = final.nodes.filter((n) => n.name.startsWith('awsDeploy-i-'));
  const nodesWithoutInstance = agentNodes.filter((n) => !liveIds.has(n.name.slice('awsDeploy-'.length)));
  const instancesWithoutNode = live.filter((i) => !agentNodes.some((n) => n.name === `awsDeploy-${i.id}`));
  const quantile = (xs, q) => (xs.length ? xs[Math.min(xs.length - 1, Math.floor(q * xs.length))] : NaN);
  const result = {
    warnings: done.length,
    skipped: warned.length - done.length,
    agents,
    overSeconds: over / 1000,
    notice,
    tick,
    boot,
    ssm,
    hosts: realHosts ? 'real' : 'instant',
    affectedBuilds: affected.length,
    reportedBuilds: reported.length,
    endedBeforeReport,
    abortedByInterruption: builds.filter((b) => b.abortedBy === 'spot-interruption').length,
    unreported: affected.filter((b) => !reported.includes(b)).map((b) => `#${b.id} on ${b.node} (started ${b.startedAt}, finished ${b.finishedAt}, ${b.result ?? 'running'}${b.abortedBy ? ` ${b.abortedBy}` : ''}; warned ${done.find((w) => w.node === b.node).warnedAt}, reported ${reportAt(done.find((w) => w.node === b.node))})`),
    replacementsOnTime: onTime,
    replacementOnlineSeconds: { median: quantile([...lateness].sort((a, b) => a - b), 0.5), max: Math.max(...lateness) },
    reportSeconds: { median: quantile(reportLatency, 0.5), max: reportLatency.at(-1) },
    orphans: { nodesWithoutInstance: nodesWithoutInstance.map((n) => n.name), instancesWithoutNode: instancesWithoutNode.map((i) => i.id) },
    liveAtEnd: live.length,
    buildsEndedByRemovalWarnings: (errors.match(/removed while a build still ran there/g) ?? []).length,
  };
  console.log(`Spot interruptions under watch: ${done.length} warnings at random over ${over / 1000} s (${result.skipped} moments found no agent to warn), pool of ${agents} Spot agents x 2 executors kept busy; notice ${notice}, tick ${tick}, B=${boot}, S=${ssm}, ${result.hosts} hosts`);
  console.log(`affected builds reported by name: ${reported.length} / ${affected.length}${result.unreported.length ? ` (not: ${result.unreported.join(', ')})` : ''}; ${result.abortedByInterruption} of them aborted by a reclaim; ${endedBeforeReport} more ended unharmed between a warning and watch's report`);
  console.log(`replacements online before the instance went: ${onTime} / ${done.length} (online ${result.replacementOnlineSeconds.median.toFixed(1)} s after the warning at the median, ${result.replacementOnlineSeconds.max.toFixed(1)} s at most)`);
  console.log(`warning to watch's report: ${result.reportSeconds.median?.toFixed(2)} s median, ${result.reportSeconds.max?.toFixed(2)} s max`);
  console.log(`orphans: ${nodesWithoutInstance.length + instancesWithoutNode.length} (nodes without a live instance: ${nodesWithoutInstance.length}, live instances without a node: ${instancesWithoutNode.length}); live agents at the end: ${live.length} of ${agents}`);
  if (args.json) writeFileSync(args.json, JSON.stringify(result, null, 2));
} finally {
  polling = false;
  await poller;
  const exited = new Promise((r) => watch.once('exit', r));
  watch.kill('SIGTERM');
  await exited;
  await sandbox.stop();
  rmSync(dir, { recursive: true, force: true });
}
