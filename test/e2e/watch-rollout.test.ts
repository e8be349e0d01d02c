// A rolling replacement under `provisioner watch`: a pool's instance setting changes (a new fleet
// file, as a new image tag brings it to the ECS task) while builds run on its agents; the new watch
// replaces them in rounds of maxSurge, ends no build, and the pool never holds more than
// max + maxSurge instances.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { alive, eventually, Sandbox } from './harness.ts';

const root = new URL('../../', import.meta.url).pathname;

const dir = mkdtempSync(join(tmpdir(), 'e2e-watch-rollout-'));
const pool = { min: 2, max: 3, maxSurge: 1, maxUnavailable: 0 };
function fleetFile(name: string, instanceType: string): string {
  const fleet = parse(readFileSync(join(root, 'examples/fleet.yaml'), 'utf8')) as Record<string, any>;
  const { count: _count, ...base } = (fleet.pools as Record<string, any>[])[0]!;
  fleet.pools = [{ ...base, executors: 1, tools: [], ...pool, instanceType, idleAfter: '30s', bootDeadline: '2m' }];
  const path = join(dir, name);
  writeFileSync(path, stringify(fleet));
  return path;
}
const before = fleetFile('fleet-before.yaml', 't3.medium');
const after = fleetFile('fleet-after.yaml', 't3.large');
const sandbox = new Sandbox(['--fleet', before, '--boot-delay', '1s', '--ssm-online-delay', '1s', '--queue-maintenance', '1s', '--terminated-linger', '5s']);
beforeAll(async () => { await sandbox.start(); });
afterAll(async () => {
  await sandbox.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('a rolling replacement under watch', () => {
  it('replaces agents running builds in rounds of maxSurge, ends no build, and stays within max + maxSurge', { timeout: 300_000 }, async () => {
    const first = sandbox.provisioner(before, ['watch', '--tick', '1s']);
    await eventually('two agents online', async () => (await sandbox.state()).nodes.filter((n) => n.online && n.name.startsWith('awsDeploy-i-')).length === 2, 90_000);
    const old = alive(await sandbox.state(), 'awsDeploy').map((i) => i.id);
    // Both agents busy with long builds while the setting changes.
    const long = await sandbox.queueBuilds('awsDeploy', 2, '25s');
    await eventually('both long builds running', async () => (await sandbox.builds()).filter((b) => long.some((l) => l.id === b.id) && b.startedAt !== null).length === 2);

    // The new fleet file reaches a new watch (ECS: a new task, the old one stopped).
    first.child.kill('SIGTERM');
    await first;
    const from = sandbox.requests().length;
    const second = sandbox.provisioner(after, ['watch', '--tick', '1s']);
    let most = 0;
    const counting = setInterval(() => {
      void sandbox.state().then((s) => { most = Math.max(most, alive(s, 'awsDeploy').length); }, () => undefined);
    }, 250);
    try {
      // More builds arrive meanwhile: the pool keeps serving.
      await new Promise((r) => setTimeout(r, 3_000));
      const more = await sandbox.queueBuilds('awsDeploy', 2, '3s');
      await eventually('every old agent replaced by a t3.large one', async () => {
        const live = alive(await sandbox.state(), 'awsDeploy');
        return live.length >= pool.min && live.every((i) => !old.includes(i.id)) && (await sandbox.builds()).every((b) => b.result !== null);
      }, 180_000);
      const all = (await sandbox.builds()).filter((b) => [...long, ...more].some((x) => x.id === b.id));
      expect(all.map((b) => [b.result, b.abortedBy ?? null])).toEqual(all.map(() => ['SUCCESS', null]));
      // The long builds ran to their end on the old agents.
      expect(all.filter((b) => long.some((l) => l.id === b.id)).map((b) => b.node)).toEqual(expect.arrayContaining(old.map((id) => `awsDeploy-${id}`)));
    } finally {
      clearInterval(counting);
      second.child.kill('SIGTERM');
    }
    const run = await second;
    expect(run.stdout + run.stderr).not.toMatch(/failed|removed while a build still ran/);
    expect(most, 'instances of the pool alive at once').toBeLessThanOrEqual(pool.max + pool.maxSurge);
    // In rounds: each launch call replaced at most maxSurge agents.
    const launches = sandbox.requests(from).filter((e) => e.action === 'RunInstances' && e.status === 200);
    expect(launches.length).toBeGreaterThanOrEqual(2);
    const state = await sandbox.state();
    const live = alive(state, 'awsDeploy');
    expect(live.every((i) => !old.includes(i.id))).toBe(true);
    for (const id of old) expect(state.nodes.some((n) => n.name === `awsDeploy-${id}`)).toBe(false);
  });
});
