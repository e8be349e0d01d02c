// A build that starts and ends on an ephemeral agent while no `watch` leads (between a kill -9 and
// the restart) is never seen: Jenkins keeps no exported record of it. The watch that begins to lead
// retires every idle ephemeral agent it finds, so that agent is never given a second build.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { alive, eventually, Sandbox } from './harness.ts';

const root = new URL('../../', import.meta.url).pathname;

const dir = mkdtempSync(join(tmpdir(), 'e2e-watch-takeover-'));
/** An ephemeral pool kept warm (one idle agent waits for the next build), beside a deploy pool at rest (terraform/jenkins wants one). */
const config = (() => {
  const fleet = parse(readFileSync(join(root, 'examples/fleet.yaml'), 'utf8')) as Record<string, any>;
  const { count: _count, ...base } = (fleet.pools as Record<string, any>[])[0]!;
  fleet.pools = [{ ...base, min: 0, max: 2 }, { ...base, name: 'pullRequests', labels: ['pull-request'], executors: 1, tools: [], min: 0, max: 3, minIdle: 1, ephemeral: true, idleAfter: '10m', bootDeadline: '2m' }];
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

/** `watch --json` in the background, its output read as it comes. */
function watching() {
  const run = sandbox.provisioner(config, ['watch', '--tick', '1s', '--json']);
  let out = '';
  run.child.stdout!.on('data', (c: Buffer) => { out += c; });
  const lines = () => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, any>);
  return { run, lines, output: () => out };
}

const warmAgents = async () => (await sandbox.state()).nodes.filter((n) => n.name.startsWith('pullRequests-i-') && n.online && !n.temporarilyOffline && !n.busy).map((n) => n.name);

describe('watch taking over an ephemeral pool', () => {
  it('retires an agent that ran a build while no watch led: it runs no second build and is removed', { timeout: 240_000 }, async () => {
    // A watch keeps one agent warm, and is killed.
    const first = watching();
    const [warm] = await eventually('a warm agent online', async () => ((await warmAgents()).length === 1 ? await warmAgents() : undefined), 90_000);
    first.run.child.kill('SIGKILL');
    await first.run;

    // With no watch running, a build starts and ends on it: nobody drains it.
    const [unseen] = await sandbox.queueBuilds('pull-request', 1, '2s');
    const ran = await eventually('the unseen build ended', async () => (await sandbox.builds()).find((b) => b.id === unseen!.id && b.result !== null), 60_000);
    expect(ran).toMatchObject({ node: warm, result: 'SUCCESS' });
    expect(await warmAgents(), 'the agent that ran the unseen build is still online and idle').toContain(warm);

    // A watch begins to lead: it retires the agent, says why, and keeps one warm agent with a new one.
    const second = watching();
    try {
      const line = await eventually('the retirement in a pool line', () => second.lines().find((l) => l.type === 'pool' && (l.unwatched as string[] | undefined)?.includes(warm!)), 60_000);
      expect(line!.reason).toContain('retire 1 idle that may have run a build while no watch led');
      // The next build runs elsewhere: never a second one on that agent.
      const [next] = await sandbox.queueBuilds('pull-request', 1, '2s');
      const done = await eventually('the next build ended', async () => (await sandbox.builds()).find((b) => b.id === next!.id && b.result !== null), 120_000);
      expect(done).toMatchObject({ result: 'SUCCESS' });
      expect(done!.node).not.toBe(warm);
      await eventually('the retired agent removed: node deleted, instance terminated', async () => {
        const state = await sandbox.state();
        return !state.nodes.some((n) => n.name === warm) && !alive(state, 'pullRequests').some((i) => `pullRequests-${i.id}` === warm);
      }, 60_000);
      expect((await sandbox.builds()).filter((b) => b.node === warm).map((b) => b.id), second.output()).toEqual([unseen!.id]);
      expect((await sandbox.builds()).filter((b) => b.result !== null && b.result !== 'SUCCESS')).toEqual([]);
    } finally {
      second.run.child.kill('SIGTERM');
      await second.run;
    }
  });
});
