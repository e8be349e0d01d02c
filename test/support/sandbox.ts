// Starts a sandbox in-process on a free port with a temporary state directory, and builds the
// real clients (EC2, SSM, jenkins) pointed at it exactly as the provisioner would be.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { createRequire } from 'node:module';
import { defaultOptions, startSandbox, type RunningSandbox, type SandboxOptions } from '../../provisioner/sandbox/src/server.ts';

/** The part of the `jenkins` npm client (v1.1.0, untyped) these tests call. */
export interface JenkinsClient {
  node: {
    create(opts: Record<string, unknown>): Promise<void>;
    get(name: string): Promise<Record<string, any>>;
    exists(name: string): Promise<boolean>;
    list(): Promise<Record<string, any>[]>;
    destroy(name: string): Promise<void>;
    disable(name: string, message?: string): Promise<void>;
    enable(name: string): Promise<void>;
  };
  queue: { list(): Promise<unknown[]> };
  crumbIssuer: { get(): Promise<Record<string, any>> };
  info(): Promise<Record<string, any>>;
}

const JenkinsCtor = createRequire(import.meta.url)('jenkins') as new (opts: { baseUrl: string; crumbIssuer?: boolean }) => JenkinsClient;

export function jenkinsClient(url: string, user: string, token: string, crumbIssuer = false): JenkinsClient {
  const base = new URL(url);
  base.username = user;
  base.password = token;
  return new JenkinsCtor({ baseUrl: base.toString().replace(/\/$/, ''), crumbIssuer });
}

export interface Harness {
  sandbox: RunningSandbox;
  dir: string;
  ec2: EC2Client;
  ssm: SSMClient;
  jenkins: JenkinsClient;
  stop(keep?: boolean): Promise<void>;
}

export async function startHarness(tune: (o: SandboxOptions) => void = () => undefined, dir = mkdtempSync(join(tmpdir(), 'sandbox-test-'))): Promise<Harness> {
  const options = defaultOptions(dir);
  options.timing = { bootMs: 200, ssmOnlineMs: 200, shutdownMs: 200, lingerMs: 1500 };
  options.seed = 42;
  options.agentRetrySeconds = 0.5;
  tune(options);
  const sandbox = await startSandbox(options);
  const credentials = { accessKeyId: sandbox.env.AWS_ACCESS_KEY_ID!, secretAccessKey: sandbox.env.AWS_SECRET_ACCESS_KEY! };
  const ec2 = new EC2Client({ region: sandbox.env.AWS_REGION, endpoint: sandbox.env.AWS_ENDPOINT_URL_EC2, credentials, maxAttempts: 1 });
  const ssm = new SSMClient({ region: sandbox.env.AWS_REGION, endpoint: sandbox.env.AWS_ENDPOINT_URL_SSM, credentials, maxAttempts: 1 });
  const jenkins = jenkinsClient(sandbox.env.JENKINS_URL!, sandbox.env.JENKINS_USER!, sandbox.env.JENKINS_API_TOKEN!);
  return {
    sandbox, dir, ec2, ssm, jenkins,
    async stop(keep = false) {
      ec2.destroy();
      ssm.destroy();
      await sandbox.stop();
      if (!keep) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function eventually<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function jenkinsAuth(h: Harness, user = h.sandbox.env.JENKINS_USER!, token = h.sandbox.env.JENKINS_API_TOKEN!): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}` };
}
