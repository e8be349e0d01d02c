// Crash safety: `up` killed with SIGKILL at 20 random moments and run again each time ends with
// exactly the fleet the file describes (30 agents): every instance with its one node, all online,
// no orphan instance, node or secret, no duplicate name. So that every kill lands while `up` has
// work to do, the wanted size alternates between 30 and a random smaller size: kills hit launches,
// registrations, bootstraps and drains alike. (E2E_SCALE scales the 30; E2E_KILLS the 20.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, converged, counts, Sandbox, scaled } from './harness.ts';

const agents = scaled(30);
const kills = Number(process.env.E2E_KILLS ?? 20);
// Boot and SSM delays long enough that a scale-up outlasts the kill window: a kill must land mid-run.
const sandbox = new Sandbox(['--boot-delay', '2s', '--ssm-online-delay', '2s', '--terminated-linger', '10s', '--seed', '7']);
beforeAll(async () => { await sandbox.start(); });
afterAll(async () => sandbox.stop());

const split = (n: number) => ({ awsDeploy: Math.ceil(n / 2), awsDeploy2: Math.floor(n / 2) });

describe('crash safety', () => {
  it(`converges to exactly ${agents} agents after ${kills} kill -9 of up`, { timeout: 480_000 }, async () => {
    let seed = 12345;
    const random = () => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31; };
    const history: string[] = [];
    let killed = 0;
    for (let n = 0; n < kills; n++) {
      const size = n % 2 === 0 ? agents : Math.max(1, Math.floor(agents * (0.5 + random() * 0.4)));
      const config = sandbox.fleet((f) => counts(f, split(size)));
      // A fifth of the kills land before the plan (start-up, observation); the others at a random
      // moment after the plan is printed, within the time the rest of the run takes here.
      const run = sandbox.provisioner(config, ['up', '--yes', '--timeout', '120s']);
      const early = random() < 0.2;
      const at = early ? 300 + Math.floor(random() * 2000) : Math.floor(random() * (n % 2 === 0 ? 5000 : 1200));
      let timer: NodeJS.Timeout | undefined;
      if (early) timer = setTimeout(() => run.child.kill('SIGKILL'), at);
      else {
        let seen = '';
        run.child.stdout!.on('data', (c: Buffer) => {
          seen += c;
          if (!timer && /^Plan: /m.test(seen)) timer = setTimeout(() => run.child.kill('SIGKILL'), at);
        });
      }
      const result = await run;
      clearTimeout(timer);
      if (result.code === null) killed++;
      history.push(`${size} agents, kill ${at} ms ${early ? 'after start' : 'after the plan'}: ${result.code === null ? 'killed' : `exited ${result.code}`}`);
    }
    // Most runs must really die mid-way, or this would test nothing.
    expect(killed, history.join('\n')).toBeGreaterThanOrEqual(Math.ceil(kills * 0.6));
    const wanted = split(agents);
    const final = await sandbox.provisioner(sandbox.fleet((f) => counts(f, wanted)), ['up', '--yes', '--timeout', '180s']);
    expect(final.code, `${history.join('\n')}\n${final.stdout}\n${final.stderr}`).toBe(0);
    const state = await sandbox.state();
    expect(converged(state, wanted)).toEqual([]);
    expect(alive(state)).toHaveLength(agents);
    expect(state.nodes.filter((n) => n.description.includes('jenkins-fleet'))).toHaveLength(agents);
    const live = new Set(alive(state).map((i) => i.id));
    const secrets = state.parameters.filter((p) => p.name.startsWith('/jenkins-fleet/bank-ci/agents/')).map((p) => p.name.split('/')[4]!);
    expect(secrets.filter((id) => !live.has(id)), 'secrets of instances that are gone').toEqual([]);
  });
});
