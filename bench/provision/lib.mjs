// What the provisioning benchmarks share: a `provisioner sandbox` in a child process, fleet files
// of one pool of N agents, timed CLI runs, and the sandbox's request log read back.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { build, stale } from '../../scripts/build.mjs';

export const root = new URL('../../', import.meta.url).pathname;
/** The CLI as users run it: the build of provisioner/src (made anew first if a source is newer). */
export const bin = join(root, 'bin/provisioner.mjs');
if (stale()) await build();

/** `--name value` pairs of argv. */
export function flags(argv) {
  return Object.fromEntries(argv.reduce((pairs, a, i, all) => (a.startsWith('--') ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []));
}

export const seconds = (d) => (d.endsWith('ms') ? Number(d.slice(0, -2)) / 1000 : d.endsWith('s') ? Number(d.slice(0, -1)) : Number(d) / 1000);

/** A sandbox on `dir` with `extra` flags; resolves once it printed its exports. */
export async function startSandbox(dir, extra) {
  const child = spawn(process.execPath, [bin, 'sandbox', '--state', dir, ...extra], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (c) => { out += c; if (out.includes('AWS_SECRET_ACCESS_KEY')) resolve(); });
    child.once('exit', (code) => reject(new Error(`sandbox exited with ${code}`)));
  });
  const env = Object.fromEntries([...out.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1], m[2].replace(/^'|'$/g, '')]));
  return {
    env,
    child,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** examples/fleet.yaml with only its awsDeploy pool, of `n` agents. */
export function fleetFile(dir, n) {
  const fleet = parse(readFileSync(join(root, 'examples/fleet.yaml'), 'utf8'));
  fleet.pools = fleet.pools.filter((p) => p.name === 'awsDeploy');
  fleet.pools[0].count = n;
  const path = join(dir, 'fleet.yaml');
  writeFileSync(path, stringify(fleet));
  return path;
}

/** One CLI run, timed from spawning it until it exited. */
export function run(config, cliArgs, env) {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [bin, '--config', config, ...cliArgs], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } });
  let output = '';
  child.stdout.on('data', (c) => { output += c; });
  child.stderr.on('data', (c) => { output += c; });
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, output, seconds: Number(process.hrtime.bigint() - started) / 1e9 })));
}

export function requests(dir, from = 0) {
  return readFileSync(join(dir, 'requests.log'), 'utf8').split('\n').filter(Boolean).slice(from).map((l) => JSON.parse(l));
}

/**
 * A call the hosts made, not the provisioner: an agent's WebSocket, agent.jar, or an SSM call
 * signed with an instance's identity (logged "by i-...").
 */
export const byHost = (e) => e.action.startsWith('WS ') || e.action.includes('jnlpJars') || / by i-[0-9a-f]+$/.test(e.subject ?? '');

/** Calls per `service action` (Jenkins paths with the node's name as NAME). */
export function tally(entries) {
  const counts = {};
  for (const e of entries) {
    if (e.service === 'control') continue;
    const key = `${e.service} ${e.action.replace(/computer\/NAME\//, 'computer/*/')}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** Wall time of a CLI run that contacts nothing: start-up alone. */
export async function startup() {
  const times = [];
  for (let i = 0; i < 3; i++) times.push((await run(join(root, 'examples/fleet.yaml'), ['--help'], {})).seconds);
  return Math.min(...times);
}

export const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
