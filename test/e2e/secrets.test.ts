// Secret hygiene: with a canary API token and the agents' own secrets, a full `up` must leave
// neither in the provisioner's output, any process's argv seen during the run, the SendCommand
// parameters, user data or the sandbox's request log; each host's secret file is mode 0600.
import { createHmac, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paginateListCommandInvocations, paginateListCommands, SSMClient } from '@aws-sdk/client-ssm';
import { alive, converged, counts, Sandbox } from './harness.ts';

const canary = `canary${randomBytes(12).toString('hex')}`;
const sandbox = new Sandbox(['--boot-delay', '1s', '--ssm-online-delay', '1s'], { SANDBOX_JENKINS_API_TOKEN: canary });
beforeAll(async () => { await sandbox.start(); });
afterAll(async () => sandbox.stop());

/** Every process's command line, read from /proc while something runs. */
function sampleArgv(into: Set<string>): () => void {
  const timer = setInterval(() => {
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try { into.add(readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')); } catch { /* gone */ }
    }
  }, 50);
  return () => clearInterval(timer);
}

describe('secret hygiene', () => {
  it('keeps the API token and the agents\' secrets out of output, argv, commands, user data and logs', async () => {
    expect(sandbox.env.JENKINS_API_TOKEN).toBe(canary);
    const config = sandbox.fleet((f) => counts(f, { awsDeploy: 2, awsDeploy2: 2 }));
    const argv = new Set<string>();
    const stop = sampleArgv(argv);
    const up = await sandbox.provisioner(config, ['up', '--yes', '--timeout', '90s']);
    const status = await sandbox.provisioner(config, ['status', '--json']);
    stop();
    expect(up.code, up.stdout + up.stderr).toBe(0);
    const state = await sandbox.state();
    expect(converged(state, { awsDeploy: 2, awsDeploy2: 2 })).toEqual([]);

    const world = JSON.parse(readFileSync(join(sandbox.dir, 'state', 'state.json'), 'utf8')) as { jnlpKey: string };
    const agentSecrets = state.nodes.map((n) => createHmac('sha256', world.jnlpKey).update(n.name).digest('hex'));
    expect(agentSecrets).toHaveLength(4);
    // What SSM itself stores, as anyone allowed ssm:ListCommands / ListCommandInvocations reads it.
    const ssm = new SSMClient({ region: sandbox.env.AWS_REGION, endpoint: sandbox.env.AWS_ENDPOINT_URL_SSM, credentials: { accessKeyId: sandbox.env.AWS_ACCESS_KEY_ID!, secretAccessKey: sandbox.env.AWS_SECRET_ACCESS_KEY! } });
    const stored = [];
    for await (const page of paginateListCommands({ client: ssm }, {})) stored.push(...(page.Commands ?? []));
    const outputs = [];
    for await (const page of paginateListCommandInvocations({ client: ssm }, { Details: true })) outputs.push(...(page.CommandInvocations ?? []));
    ssm.destroy();
    expect(stored.length).toBeGreaterThan(0);
    expect(outputs.length).toBeGreaterThanOrEqual(4);
    const places: Record<string, string> = {
      'SSM ListCommands (the parameters SSM keeps)': JSON.stringify(stored),
      'SSM ListCommandInvocations output': JSON.stringify(outputs),
      'provisioner stdout/stderr': up.stdout + up.stderr + status.stdout + status.stderr,
      'argv of every process seen': [...argv].join('\n'),
      'SendCommand parameters': JSON.stringify(state.commands.map((c) => c.parameters)),
      'bootstrap output': JSON.stringify(state.commands.map((c) => c.invocations)),
      'user data': state.instances.map((i) => (i.userData ? Buffer.from(i.userData, 'base64').toString('utf8') : '')).join('\n'),
      'sandbox request log': readFileSync(join(sandbox.dir, 'state', 'requests.log'), 'utf8'),
    };
    expect(argv.size).toBeGreaterThan(10);
    for (const [place, text] of Object.entries(places)) {
      expect(text.includes(canary), `the API token appears in ${place}`).toBe(false);
      for (const secret of agentSecrets) expect(text.includes(secret), `an agent secret appears in ${place}`).toBe(false);
    }
    for (const instance of alive(state)) {
      const file = join(instance.root, 'etc/jenkins-agent/secret');
      expect(statSync(file).mode & 0o777, file).toBe(0o600);
      expect(agentSecrets).toContain(readFileSync(file, 'utf8').trim());
    }
  });
});
