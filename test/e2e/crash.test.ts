// Crash safety: `up` killed with SIGKILL at random moments of a 30-agent launch, rerun each time,
// ends with exactly the fleet the file describes: every instance with its one node, all online,
// no orphan instance, node or secret, no duplicate name. (E2E_SCALE scales the 30; E2E_KILLS the 20.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, converged, counts, Sandbox, scaled } from './harness.ts';

const agents = scaled(30);
const kills = Number(process.env.E2E_KILLS ?? 20);
const sandbox = new Sandbox(['--boot-delay', '1s', '--ssm-online-delay', '1s', '--terminated-linger', '10s', '--seed', '7']);
beforeAll(async () => { await sandbox.start(); });
afterAll(async () => sandbox.stop());

describe('crash safety', () => {
  it(`converges to exactly ${agents} agents after ${kills} kill -9 of up`, { timeout: 420_000 }, async () => {
    const wanted = { awsDeploy: Math.ceil(agents / 2), awsDeploy2: Math.floor(agents / 2) };
    const config = sandbox.fleet((f) => counts(f, wanted));
    const moments: number[] = [];
    let killed = 0;
    // A seeded spread of moments over the life of an `up` (start-up ~1.5-3 s, then launch,
    // register, bootstrap, online), so kills land in every phase.
    let seed = 12345;
    const random = () => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31; };
    for (let n = 0; n < kills; n++) {
      const at = 1000 + Math.floor(random() * 9000);
      moments.push(at);
      const run = sandbox.provisioner(config, ['up', '--yes', '--timeout', '120s']);
      const timer = setTimeout(() => run.child.kill('SIGKILL'), at);
      const result = await run;
      clearTimeout(timer);
      if (result.code === null) killed++;
    }
    // Most runs must really die mid-way, or this would test nothing.
    expect(killed).toBeGreaterThanOrEqual(Math.ceil(kills / 2));
    const final = await sandbox.provisioner(config, ['up', '--yes', '--timeout', '180s']);
    expect(final.code, `kills at ${moments.join(', ')} ms\n${final.stdout}\n${final.stderr}`).toBe(0);
    const state = await sandbox.state();
    expect(converged(state, wanted)).toEqual([]);
    expect(alive(state)).toHaveLength(agents);
    expect(state.nodes.filter((n) => n.description.includes('jenkins-fleet'))).toHaveLength(agents);
    const live = new Set(alive(state).map((i) => i.id));
    const secrets = state.parameters.filter((p) => p.name.startsWith('/jenkins-fleet/bank-ci/agents/')).map((p) => p.name.split('/')[4]!);
    expect(secrets.filter((id) => !live.has(id)), 'secrets of instances that are gone').toEqual([]);
  });
});
