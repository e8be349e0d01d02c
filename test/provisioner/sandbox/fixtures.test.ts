// The sandbox's answers next to examples of the real services' (test/fixtures/): both go through
// the real clients, and whatever the real answer carries, the sandbox's must carry too, with the
// same types.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DescribeInstancesCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { DescribeInstanceInformationCommand, GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { eventually, jenkinsAuth, jenkinsClient, startHarness, type Harness } from '../../support/sandbox.ts';

const fixture = (path: string) => readFileSync(new URL(`../../fixtures/${path}`, import.meta.url), 'utf8');

let h: Harness;
let replay: { url: string; close(): void; next(status: number, body: string, type: string, headers?: Record<string, string>): void };
beforeAll(async () => {
  h = await startHarness();
  let answer = { status: 200, body: '', type: 'text/plain', headers: {} as Record<string, string> };
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => { res.writeHead(answer.status, { 'content-type': answer.type, ...answer.headers }); res.end(answer.body); });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  replay = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => server.close(),
    next: (status, body, type, headers = {}) => { answer = { status, body, type, headers }; },
  };
});
afterAll(async () => { replay.close(); await h.stop(); });

const credentials = { accessKeyId: 'a', secretAccessKey: 'b' };

/** Every key path of a parsed value with its type (arrays by their first element). */
function shape(value: unknown, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  if (Array.isArray(value)) {
    out.set(prefix, 'array');
    if (value.length > 0) for (const [k, v] of shape(value[0], `${prefix}[]`)) out.set(k, v);
  } else if (value instanceof Date) {
    out.set(prefix, 'date');
  } else if (value !== null && typeof value === 'object') {
    out.set(prefix, 'object');
    for (const [key, v] of Object.entries(value)) if (key !== '$metadata' && v !== undefined) for (const [k, t] of shape(v, prefix ? `${prefix}.${key}` : key)) out.set(k, t);
  } else {
    out.set(prefix, typeof value);
  }
  return out;
}

function missingFrom(sandbox: unknown, real: unknown): string[] {
  const mine = shape(sandbox);
  return [...shape(real)].filter(([k, t]) => mine.get(k) !== t).map(([k, t]) => `${k}: ${t} (sandbox: ${mine.get(k) ?? 'absent'})`);
}

describe('the sandbox next to the real formats', () => {
  it('EC2 DescribeInstances carries every field of the real answer', async () => {
    replay.next(200, fixture('ec2/describe-instances.xml'), 'text/xml;charset=UTF-8');
    const real = await new EC2Client({ region: 'us-east-1', endpoint: replay.url, credentials, maxAttempts: 1 }).send(new DescribeInstancesCommand({}));
    const launched = await h.ec2.send(new RunInstancesCommand({
      ImageId: 'resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64', InstanceType: 't3.medium', MinCount: 1, MaxCount: 1, SubnetId: 'subnet-0a1b2c3d4e5f60001', SecurityGroupIds: ['sg-0a1b2c3d4e5f60003'],
      IamInstanceProfile: { Name: 'jenkins-fleet-agent' }, MetadataOptions: { HttpTokens: 'required' }, ClientToken: 'jf-0123456789abcdef',
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'jenkins-fleet:pool', Value: 'awsDeploy' }, { Key: 'Name', Value: 'bank-ci-awsDeploy' }] }],
    }));
    const id = launched.Instances![0]!.InstanceId!;
    const mine = await eventually('running', async () => {
      const d = await h.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
      return d.Reservations![0]!.Instances![0]!.State!.Name === 'running' ? d : undefined;
    });
    expect(missingFrom(mine, real)).toEqual([]);
  });

  it('EC2 errors parse the same: code, message, HTTP status', async () => {
    replay.next(400, fixture('ec2/error-instance-not-found.xml'), 'text/xml;charset=UTF-8');
    const real = await new EC2Client({ region: 'us-east-1', endpoint: replay.url, credentials, maxAttempts: 1 }).send(new DescribeInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] })).catch((e: unknown) => e);
    const mine = await h.ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] })).catch((e: unknown) => e);
    for (const err of [real, mine] as { name: string; message: string; $metadata: { httpStatusCode: number } }[]) {
      expect(err).toMatchObject({ name: 'InvalidInstanceID.NotFound', message: "The instance ID 'i-0123456789abcdef0' does not exist", $metadata: { httpStatusCode: 400 } });
    }
  });

  it('SSM GetParameter, its ParameterNotFound, and DescribeInstanceInformation carry the real fields', async () => {
    const realSsm = new SSMClient({ region: 'us-east-1', endpoint: replay.url, credentials, maxAttempts: 1 });
    replay.next(200, fixture('ssm/get-parameter-secure.json'), 'application/x-amz-json-1.1');
    const real = await realSsm.send(new GetParameterCommand({ Name: '/x', WithDecryption: true }));
    await h.ssm.send(new PutParameterCommand({ Name: '/jenkins-fleet/bank-ci/agents/i-1234567890abcdef0/secret', Value: 'c0ffee', Type: 'SecureString' }));
    const mine = await h.ssm.send(new GetParameterCommand({ Name: '/jenkins-fleet/bank-ci/agents/i-1234567890abcdef0/secret', WithDecryption: true }));
    expect(missingFrom(mine, real)).toEqual([]);

    replay.next(400, fixture('ssm/error-parameter-not-found.json'), 'application/x-amz-json-1.1');
    const realErr = await realSsm.send(new GetParameterCommand({ Name: '/nope' })).catch((e: unknown) => e);
    const myErr = await h.ssm.send(new GetParameterCommand({ Name: '/nope' })).catch((e: unknown) => e);
    expect((myErr as Error).name).toBe((realErr as Error).name);
    expect((myErr as { $metadata: unknown }).$metadata).toMatchObject({ httpStatusCode: 400 });

    replay.next(200, fixture('ssm/describe-instance-information.json'), 'application/x-amz-json-1.1');
    const realInfo = await realSsm.send(new DescribeInstanceInformationCommand({}));
    const out = await h.ec2.send(new RunInstancesCommand({ ImageId: 'resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64', MinCount: 1, MaxCount: 1 }));
    const myInfo = await eventually('online', async () => {
      const r = await h.ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [out.Instances![0]!.InstanceId!] }] })).catch(() => undefined);
      return r?.InstanceInformationList!.length ? r : undefined;
    });
    expect(missingFrom(myInfo, realInfo)).toEqual([]);
    realSsm.destroy();
  });

  it('Jenkins computer/api/json?tree=, jenkins-agent.jnlp and the duplicate-name refusal match', async () => {
    const tree = 'computer[displayName,description,offline,temporarilyOffline,idle,offlineCauseReason,numExecutors,assignedLabels[name]]';
    await h.jenkins.node.create({ name: 'awsDeploy-i-1234567890abcdef0', nodeDescription: 'Managed by jenkins-fleet (fleet bank-ci, pool awsDeploy)', numExecutors: 2, remoteFS: '/home/jenkins/agent', labelString: 'awsDeploy python terraform', launcher: { 'stapler-class': 'hudson.slaves.JNLPLauncher', webSocket: true } });
    const mine = await (await fetch(`${h.sandbox.env.JENKINS_URL}computer/api/json?tree=${encodeURIComponent(tree)}`, { headers: jenkinsAuth(h) })).json() as { computer: Record<string, unknown>[] };
    const real = JSON.parse(fixture('jenkins/computer-tree.json')) as { computer: Record<string, unknown>[] };
    expect(mine.computer.map((c) => shape(c))).toEqual(real.computer.map((c) => shape(c)));
    expect(mine.computer[1]).toEqual({ ...real.computer[1], offline: true });

    const args = (xml: string) => [...xml.matchAll(/<argument>([^<]*)<\/argument>/g)].map((m) => m[1]!);
    const jnlp = await (await fetch(`${h.sandbox.env.JENKINS_URL}computer/awsDeploy-i-1234567890abcdef0/jenkins-agent.jnlp`, { headers: jenkinsAuth(h) })).text();
    const realArgs = args(fixture('jenkins/jenkins-agent.jnlp'));
    expect(args(jnlp).map((a, i) => (i === 0 ? a.length : i === realArgs.length - 1 ? 'URL' : a))).toEqual(realArgs.map((a, i) => (i === 0 ? a.length : i === realArgs.length - 1 ? 'URL' : a)));

    const realHeaders = Object.fromEntries(fixture('jenkins/duplicate-node.headers').split('\n').slice(1).filter(Boolean).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 2)]));
    replay.next(400, '<html>Error</html>', realHeaders['content-type']!, { 'x-error': realHeaders['x-error']! });
    const realErr = await jenkinsClient(replay.url, 'admin', 't').node.create({ name: 'awsDeploy-i-1234567890abcdef0' }).catch((e: Error) => e);
    const myErr = await h.jenkins.node.create({ name: 'awsDeploy-i-1234567890abcdef0' }).catch((e: Error) => e);
    expect((myErr as Error).message).toBe((realErr as Error).message);
  });
});
