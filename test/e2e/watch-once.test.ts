// `provisioner watch --once` run again and again, as cron runs it: each run is a new process, so
// what one run saw of an agent's idleness reaches the next only through the instance's
// jenkins-fleet:idle-since tag. Two runs more than a queue-maintenance cycle apart remove an agent
// idle past idleAfter and minUptime, and never one that took a build in between.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { alive, eventually, Sandbox, type SandboxBuild } from './harness.ts';

const root = new URL('../../', import.meta.url).pathname;

const dir = mkdtempSync(join(tmpdir(), 'e2e-watch-once-'));
const config = (() => {
  const fleet = parse(readFileSync(join(root, 'examples/fleet.yaml'), 'utf8')) as Record<string, any>;
  const { count: _count, ...base } = (fleet.pools as Record<string, any>[])[0]!;
  fleet.pools = [{ ...base, executors: 1, tools: [], min: 0, max: 4, idleAfter: '3s', minUptime: '2s', bootDeadline: '2m' }];
  const path = join(dir, 'fleet.yaml');
  writeFileSync(path, stringify(fleet));
  return path;
})();
const sandbox = new Sandbox(['--fleet', config, '--boot-delay', '1s', '--ssm-online-delay', '1s', '--queue-maintenance', '1s', '--terminated-linger', '5s']);
beforeAll(async () => { await sandbox.start(); });
afterAll(async () => {
  await sandbox.stop();
  rmSync(dir, { recursive: true, force: true });
});

const build = async (id: number): Promise<SandboxBuild> => (await sandbox.builds()).find((b) => b.id === id)!;

async function once(): Promise<string> {
  const run = await sandbox.provisioner(config, ['watch', '--once']);
  expect(run.code, run.stdout + run.stderr).toBe(0);
  return run.stdout;
}

const idleTags = async () => Object.fromEntries(alive(await sandbox.state(), 'awsDeploy').map((i) => [`awsDeploy-${i.id}`, i.tags['jenkins-fleet:idle-since']]));

describe('watch --once from cron', () => {
  it('removes an agent idle past idleAfter across two runs, and keeps the one that took a build in between', { timeout: 240_000 }, async () => {
    // Run 1 launches two agents for two short builds, and waits for them to come online.
    const first = await sandbox.queueBuilds('awsDeploy', 2, '1s');
    await once();
    for (const b of first) await eventually(`build ${b.id} ended`, async () => (await build(b.id)).result !== null);
    const agents = alive(await sandbox.state(), 'awsDeploy').map((i) => `awsDeploy-${i.id}`);
    expect(agents).toHaveLength(2);

    // Run 2 sees both idle for the first time: it records that on the instances and removes nothing.
    const recordedAt = Date.now();
    const second = await once();
    expect(second).not.toMatch(/drain \d+:|remove \d+/);
    const tags = await idleTags();
    for (const name of agents) expect(Number(tags[name]), JSON.stringify(tags)).toBeGreaterThan(recordedAt - 60_000);

    // One agent takes a long build in between; the other stays idle.
    const [long] = await sandbox.queueBuilds('awsDeploy', 1, '40s');
    const busy = (await eventually('the long build started', async () => (await build(long!.id)).node ?? undefined))!;
    const idle = agents.find((n) => n !== busy)!;
    await new Promise((r) => setTimeout(r, 6_000)); // past idleAfter (3s), minUptime (2s) and a maintenance cycle (5s)

    // Run 3: drains the idle agent, looks again a maintenance cycle later, removes it; keeps the busy one.
    const third = await once();
    expect(third).toMatch(/awsDeploy: .*drain 1: idle 3s/);
    expect(third).toMatch(/awsDeploy: .*remove 1 drained and idle/);
    const after = alive(await sandbox.state(), 'awsDeploy').map((i) => `awsDeploy-${i.id}`);
    expect(after).toEqual([busy]);
    expect(after).not.toContain(idle);
    expect((await idleTags())[busy]).toBe('busy');

    // The long build ends as it would have: not by a removal.
    const ended = await eventually('the long build ended', async () => ((await build(long!.id)).result !== null ? build(long!.id) : undefined), 90_000);
    expect(ended).toMatchObject({ result: 'SUCCESS', node: busy });
    expect(ended.abortedBy).toBeUndefined();

    // Run 4, right after that build: its agent's idle time starts now, not at run 2's record.
    const fourth = await once();
    expect(fourth).not.toMatch(/drain \d+: idle/);
    expect(alive(await sandbox.state(), 'awsDeploy').map((i) => `awsDeploy-${i.id}`)).toEqual([busy]);
  });
});
