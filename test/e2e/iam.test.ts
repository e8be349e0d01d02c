// IAM in the sandbox: the provisioner's EC2 and SSM calls are authorised against the policy of
// terraform/modules/provisioner-iam (read from its HCL, instantiated for examples/fleet.yaml). The
// module as committed lets a whole `up` and `down` through; the module without one statement makes
// the run fail where AWS would, naming the action.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCommandInvocationCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, describe, expect, it } from 'vitest';
import { alive, eventually, Sandbox } from './harness.ts';

const root = new URL('../../', import.meta.url).pathname;
const scratch: string[] = [];
afterAll(() => { for (const dir of scratch) rmSync(dir, { recursive: true, force: true }); });

/** A copy of terraform/modules whose provisioner-iam lacks the statement with this Sid. */
function modulesWithout(sid: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'iam-modules-'));
  scratch.push(dir);
  cpSync(join(root, 'terraform/modules'), dir, { recursive: true });
  const file = join(dir, 'provisioner-iam/main.tf');
  const text = readFileSync(file, 'utf8');
  const at = text.indexOf(`sid       = "${sid}"`) >= 0 ? text.indexOf(`sid       = "${sid}"`) : text.indexOf(`sid = "${sid}"`);
  expect(at, `statement ${sid} in provisioner-iam/main.tf`).toBeGreaterThan(0);
  const start = text.lastIndexOf('  statement {', at);
  let depth = 0;
  let end = start;
  for (let i = text.indexOf('{', start); i < text.length; i++) {
    if (text[i] === '{') depth++;
    if (text[i] === '}' && --depth === 0) { end = i + 1; break; }
  }
  writeFileSync(file, text.slice(0, start) + text.slice(end));
  return dir;
}

const flags = ['--boot-delay', '1s', '--ssm-online-delay', '1s', '--terminated-linger', '5s'];
const refusals = (s: Sandbox) => s.requests().filter((r) => r.error === 'UnauthorizedOperation' || r.error === 'AccessDeniedException');

describe('IAM: the provisioner runs with exactly what provisioner-iam grants', () => {
  it('lets a whole up and down of the example fleet through with the module as committed', { timeout: 180_000 }, async () => {
    const sandbox = await new Sandbox(flags).start();
    try {
      const config = sandbox.fleet();
      const up = await sandbox.provisioner(config, ['up', '--yes', '--timeout', '120s']);
      expect(up.code, up.stderr).toBe(0);
      const down = await sandbox.provisioner(config, ['down', '--yes', '--timeout', '120s']);
      expect(down.code, down.stderr).toBe(0);
      expect(refusals(sandbox)).toEqual([]);
      // Every EC2 and SSM call of the run was authorised (the sandbox says so at start).
      expect(sandbox.requests().filter((r) => r.service === 'ec2' && r.action === 'RunInstances' && r.status === 200).length).toBeGreaterThan(0);
    } finally {
      await sandbox.stop();
    }
  });

  it("lets each agent's host read its own secret and refuses it another agent's (agent-iam)", { timeout: 180_000 }, async () => {
    const sandbox = await new Sandbox(flags).start();
    // The account's administrator runs a command on an agent host (not the provisioner's key).
    const ssm = new SSMClient({ region: 'us-east-1', endpoint: sandbox.env.AWS_ENDPOINT_URL_SSM, credentials: { accessKeyId: 'AKIAADMINISTRATOR000', secretAccessKey: 'x' } });
    try {
      const config = sandbox.fleet();
      const up = await sandbox.provisioner(config, ['up', '--yes', '--timeout', '120s']);
      expect(up.code, up.stderr).toBe(0);
      const [a, b] = alive(await sandbox.state()).map((i) => i.id);
      const secret = (id: string) => `/jenkins-fleet/bank-ci/agents/${id}/secret`;
      // The host's own `aws` (its instance role's identity); values go to /dev/null, never to SSM's output.
      const script = `aws ssm get-parameter --with-decryption --name ${secret(a!)} > /dev/null && echo own-secret-read; aws ssm get-parameter --with-decryption --name ${secret(b!)} > /dev/null; echo "other exit $?"`;
      const sent = await ssm.send(new SendCommandCommand({ DocumentName: 'AWS-RunShellScript', InstanceIds: [a!], Parameters: { commands: [script] } }));
      const done = await eventually('the command', async () => {
        const inv = await ssm.send(new GetCommandInvocationCommand({ CommandId: sent.Command!.CommandId!, InstanceId: a! }));
        return inv.Status === 'Success' || inv.Status === 'Failed' ? inv : undefined;
      });
      expect(done.StandardOutputContent).toContain('own-secret-read');
      expect(done.StandardOutputContent).toContain('other exit 254');
      expect(done.StandardErrorContent).toContain(`An error occurred (AccessDeniedException) when calling the GetParameter operation: User: arn:aws:sts::123456789012:assumed-role/jenkins-fleet-agent/${a} is not authorized to perform: ssm:GetParameter on resource: arn:aws:ssm:us-east-1:123456789012:parameter${secret(b!)} with an explicit deny in an identity-based policy`);
    } finally {
      ssm.destroy();
      await sandbox.stop();
    }
  });

  it('fails down with UnauthorizedOperation naming ec2:TerminateInstances when TerminateOwnFleetOnly is gone', { timeout: 180_000 }, async () => {
    const sandbox = await new Sandbox([...flags, '--terraform-modules', modulesWithout('TerminateOwnFleetOnly')]).start();
    try {
      const config = sandbox.fleet();
      const up = await sandbox.provisioner(config, ['up', '--yes', '--timeout', '120s']);
      expect(up.code, up.stderr).toBe(0);
      const down = await sandbox.provisioner(config, ['down', '--yes', '--timeout', '60s']);
      // (The CLI shortens the remote's words; the request log has the whole answer.)
      expect(down.code).toBe(1);
      expect(down.stderr).toMatch(/UnauthorizedOperation: You are not authorized to perform this operation\. User: arn:aws:sts::\d{12}:assumed-role\/jenkins-fleet-bank-ci-provisioner\/\S+ is not authorized to perform: ec2:TerminateInstances on resource: arn:aws:ec2:us-east-1:\d{12}:instance\/i-[0-9a-f]+ because no identity-based policy/);
      expect(new Set(refusals(sandbox).map((r) => `${r.action} ${r.subject}`))).toEqual(new Set(['TerminateInstances ec2:TerminateInstances']));
      expect((await sandbox.state()).instances.filter((i) => i.state === 'running')).toHaveLength(4);
    } finally {
      await sandbox.stop();
    }
  });

  it('fails up with AccessDeniedException naming ssm:PutParameter when FleetParametersOnly is gone', { timeout: 180_000 }, async () => {
    const sandbox = await new Sandbox([...flags, '--terraform-modules', modulesWithout('FleetParametersOnly')]).start();
    try {
      const up = await sandbox.provisioner(sandbox.fleet(), ['up', '--yes', '--timeout', '60s']);
      expect(up.code).toBe(1);
      expect(up.stderr).toMatch(/AccessDeniedException: User: arn:aws:sts::\d{12}:assumed-role\/jenkins-fleet-bank-ci-provisioner\/\S+ is not authorized to perform: ssm:PutParameter on resource: arn:aws:ssm:us-east-1:\d{12}:parameter\/jenkins-fleet\/bank-ci\/agents\/i-[0-9a-f]+\/secret because no identity-based policy/);
      expect((await sandbox.state()).parameters).toEqual([]);
    } finally {
      await sandbox.stop();
    }
  });
});
