// The shared clients on the wire: a local HTTP server stands in for EC2 and SSM, reached through
// the SDK's own AWS_ENDPOINT_URL_<SERVICE> variables, to see retries, endpoints and messages.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { describeEndpoint, ec2Client, maxAttempts, ssmClient } from '../../../provisioner/src/aws/clients.ts';
import { Ec2Compute } from '../../../provisioner/src/aws/ec2.ts';
import { SsmParameters, SsmRunCommand } from '../../../provisioner/src/aws/ssm.ts';
import { RemoteError } from '../../../provisioner/src/errors.ts';

interface Seen {
  target: string;
  body: string;
}

let server: Server;
let url: string;
let seen: Seen[] = [];
let answers: Array<{ status: number; type: string; body: string }> = [];

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => resolve(body));
  });
}

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const body = await readBody(req);
    seen.push({ target: String(req.headers['x-amz-target'] ?? new URLSearchParams(body).get('Action')), body });
    const answer = answers.shift() ?? { status: 500, type: 'text/plain', body: 'no answer queued' };
    res.writeHead(answer.status, { 'content-type': answer.type });
    res.end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

beforeEach(() => {
  seen = [];
  answers = [];
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIATESTTESTTESTTEST');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test-secret-key');
  vi.stubEnv('AWS_SESSION_TOKEN', '');
  vi.stubEnv('AWS_ENDPOINT_URL', '');
  vi.stubEnv('AWS_ENDPOINT_URL_EC2', url);
  vi.stubEnv('AWS_ENDPOINT_URL_SSM', url);
});

const throttled = {
  status: 503,
  type: 'text/xml',
  body: '<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>r-1</RequestID></Response>',
};
const noInstances = {
  status: 200,
  type: 'text/xml',
  body: '<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r-2</requestId><reservationSet/></DescribeInstancesResponse>',
};

describe('the shared AWS clients', () => {
  it('are one per service and region', () => {
    expect(ec2Client('ap-south-1')).toBe(ec2Client('ap-south-1'));
    expect(ec2Client('ap-south-1')).not.toBe(ec2Client('ap-south-2'));
    expect(ssmClient('ap-south-1')).toBe(ssmClient('ap-south-1'));
  });

  it('use adaptive retries with more attempts than the SDK default of 3', async () => {
    for (const client of [ec2Client('ap-south-1'), ssmClient('ap-south-1')]) {
      const strategy = await client.config.retryStrategy();
      expect((strategy as { mode?: string }).mode).toBe('adaptive');
      expect(await client.config.maxAttempts()).toBe(maxAttempts);
    }
    expect(maxAttempts).toBeGreaterThanOrEqual(5);
  });

  it('reach the endpoint in AWS_ENDPOINT_URL_EC2 and ride out throttling', async () => {
    answers = [throttled, noInstances];
    // A region no other test used: the client resolves its configured endpoint once.
    const instances = await new Ec2Compute('ca-central-1').listInstances('bank-ci');
    expect(instances).toEqual([]);
    expect(seen.map((s) => s.target)).toEqual(['DescribeInstances', 'DescribeInstances']);
    expect(new URLSearchParams(seen[0]!.body).get('Filter.1.Name')).toBe('tag:jenkins-fleet:fleet');
  });

  it('name the configured endpoint and the answer when EC2 refuses', async () => {
    answers = [
      {
        status: 403,
        type: 'text/xml',
        body: '<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation.</Message></Error></Errors><RequestID>r-3</RequestID></Response>',
      },
    ];
    const error = await new Ec2Compute('sa-east-1').listInstances('bank-ci').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as Error).message).toBe(
      `listing the instances of fleet bank-ci: EC2 at ${url} (sa-east-1) answered 403 UnauthorizedOperation: You are not authorized to perform this operation.`,
    );
  });

  it('say that nobody answered when the endpoint refuses connections', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const dead = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    vi.stubEnv('AWS_ENDPOINT_URL_EC2', dead);
    const error = await new Ec2Compute('eu-north-1').listInstances('bank-ci').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as Error).message).toMatch(new RegExp(`^listing the instances of fleet bank-ci: EC2 at ${dead} \\(eu-north-1\\) refused the connection`));
  }, 30_000);

  it('read EC2 error codes off the wire: an unknown id is dropped from a termination', async () => {
    answers = [
      {
        status: 400,
        type: 'text/xml',
        body: "<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code><Message>The instance ID 'i-0000000000000bad' does not exist</Message></Error></Errors><RequestID>r-4</RequestID></Response>",
      },
      {
        status: 200,
        type: 'text/xml',
        body: '<TerminateInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r-5</requestId><instancesSet/></TerminateInstancesResponse>',
      },
    ];
    await new Ec2Compute('ap-northeast-1').terminate(['i-0000000000000001', 'i-0000000000000bad']);
    expect(seen.map((s) => new URLSearchParams(s.body).getAll('InstanceId.2'))).toEqual([['i-0000000000000bad'], []]);
    expect(new URLSearchParams(seen[1]!.body).get('InstanceId.1')).toBe('i-0000000000000001');
  });

  it('read SSM JSON error types off the wire: a missing parameter is already deleted, an unknown instance undeliverable', async () => {
    const json = (status: number, body: unknown) => ({ status, type: 'application/x-amz-json-1.1', body: JSON.stringify(body) });
    answers = [json(400, { __type: 'ParameterNotFound', message: 'Parameter /x not found.' })];
    await new SsmParameters('ap-northeast-2').deleteSecret('/x');
    expect(seen.map((s) => s.target)).toEqual(['AmazonSSM.DeleteParameter']);

    seen = [];
    answers = [
      json(400, { __type: 'InvalidInstanceId', Message: 'Instances [[i-0000000000000bad]] not in a valid state for account 123456789012' }),
    ];
    const results = await new SsmRunCommand('ap-northeast-2', { pollIntervalMs: 1 }).runScript(['i-0000000000000bad'], 'true', { fleet: 'bank-ci', comment: 'probe', timeoutSeconds: 60 });
    expect(results).toEqual([
      { instanceId: 'i-0000000000000bad', status: 'Undeliverable', stdout: '', stderr: 'SSM refused the command: Instances [[i-0000000000000bad]] not in a valid state for account 123456789012' },
    ]);
    expect(seen.map((s) => s.target)).toEqual(['AmazonSSM.SendCommand']);
    expect(JSON.parse(seen[0]!.body)).toMatchObject({ DocumentName: 'AWS-RunShellScript', InstanceIds: ['i-0000000000000bad'], Parameters: { commands: ['true'] } });
  });

  it('describe AWS regional endpoints when nothing else is configured', () => {
    expect(describeEndpoint('EC2', 'eu-central-1', {})).toBe('EC2 at https://ec2.eu-central-1.amazonaws.com');
    expect(describeEndpoint('SSM', 'cn-north-1', {})).toBe('SSM at https://ssm.cn-north-1.amazonaws.com.cn');
    expect(describeEndpoint('SSM', 'us-east-1', { AWS_ENDPOINT_URL: 'http://127.0.0.1:9' })).toBe('SSM at http://127.0.0.1:9 (us-east-1)');
    expect(describeEndpoint('SSM', 'us-east-1', { AWS_ENDPOINT_URL: 'http://x', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' })).toBe(
      'SSM at https://ssm.us-east-1.amazonaws.com',
    );
  });
});
