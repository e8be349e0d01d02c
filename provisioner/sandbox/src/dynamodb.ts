// DynamoDB in the sandbox, for the run lock's table: dynalite (the DynamoDB JSON API on LevelDB,
// written against the real service's answers) on a loopback port of its own, its data in
// STATE/dynamodb so that locks survive a restart of the sandbox as the rest of the world does. The
// sandbox's /dynamodb/ endpoint checks the signature's scope and IAM as for EC2 and SSM, then hands
// the request to dynalite unchanged and its answer back byte for byte (the SDK checks x-amz-crc32).
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import dynalite from 'dynalite';

/** The table terraform/jenkins creates by default for its default fleet, bank-ci (the one examples/fleet.yaml names). */
export const defaultLockTable = 'jenkins-fleet-bank-ci-locks';

/** The partition key terraform/jenkins gives the table (aws/lease.ts's leaseKeyAttribute). */
const hashKey = 'lease';

/** The operations whose success changes a table's items (for requests.log). */
const mutating = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);

export interface DynamoAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** The error's `__type` without its namespace, when it failed. */
  error?: string;
  mutating: boolean;
}

export class DynamoDbStandIn {
  private constructor(
    private readonly server: Server,
    private readonly url: string,
  ) {}

  /** Starts dynalite on its data directory and creates `tables` (as terraform/jenkins does) where missing. */
  static async start(stateDir: string, region: string, tables: string[]): Promise<DynamoDbStandIn> {
    const path = join(stateDir, 'dynamodb');
    mkdirSync(path, { recursive: true });
    const server = dynalite({ path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // As the account's administrator would (dynalite checks a signature's form, not its value).
    const call = async (op: string, input: unknown): Promise<{ status: number; body: { __type?: string } }> => {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': `DynamoDB_20120810.${op}`,
          'x-amz-date': '20260101T000000Z',
          authorization: `AWS4-HMAC-SHA256 Credential=AKIASANDBOXADMIN0000/20260101/${region}/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=0`,
        },
        body: JSON.stringify(input),
      });
      return { status: response.status, body: (await response.json()) as { __type?: string } };
    };
    for (const table of tables) {
      const described = await call('DescribeTable', { TableName: table });
      if (described.status === 200) continue;
      if (!described.body.__type?.endsWith('#ResourceNotFoundException')) throw new Error(`sandbox: dynalite answered DescribeTable ${table} with ${described.status} ${JSON.stringify(described.body)}`);
      const created = await call('CreateTable', {
        TableName: table,
        AttributeDefinitions: [{ AttributeName: hashKey, AttributeType: 'S' }],
        KeySchema: [{ AttributeName: hashKey, KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      });
      if (created.status !== 200) throw new Error(`sandbox: dynalite answered CreateTable ${table} with ${created.status} ${JSON.stringify(created.body)}`);
      // A table is CREATING for a moment (item calls on it are ResourceNotFoundException, as on
      // DynamoDB); terraform waits for ACTIVE before it reports the table made, and so do we.
      for (let tries = 0; ; tries++) {
        const state = await call('DescribeTable', { TableName: table });
        if ((state.body as { Table?: { TableStatus?: string } }).Table?.TableStatus === 'ACTIVE') break;
        if (tries >= 200) throw new Error(`sandbox: table ${table} not ACTIVE after CreateTable: ${JSON.stringify(state.body)}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
    return new DynamoDbStandIn(server, url);
  }

  /** Hands a DynamoDB request to dynalite as it came (method, target, content type, signature headers, body). */
  async handle(headers: Record<string, string | string[] | undefined>, body: Buffer, op: string): Promise<DynamoAnswer> {
    const pass: Record<string, string> = {};
    for (const name of ['content-type', 'x-amz-target', 'authorization', 'x-amz-date', 'x-amz-security-token']) {
      const value = headers[name];
      if (typeof value === 'string') pass[name] = value;
    }
    const response = await fetch(this.url, { method: 'POST', headers: pass, body: new Uint8Array(body) });
    const answer = Buffer.from(await response.arrayBuffer());
    const out: Record<string, string> = {};
    for (const name of ['content-type', 'x-amz-crc32', 'x-amzn-requestid']) {
      const value = response.headers.get(name);
      if (value !== null) out[name] = value;
    }
    let error: string | undefined;
    if (response.status >= 400) {
      try {
        error = String((JSON.parse(answer.toString('utf8')) as { __type?: string }).__type ?? '').split('#').pop() || `HTTP ${response.status}`;
      } catch {
        error = `HTTP ${response.status}`;
      }
    }
    return { status: response.status, headers: out, body: answer, mutating: mutating.has(op) && response.status === 200, ...(error ? { error } : {}) };
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** The lease named in a request's Key (for requests.log: which fleet's lock). */
export function itemKeyOf(input: Record<string, unknown>): string | undefined {
  const key = input.Key as Record<string, { S?: unknown }> | undefined;
  const value = key?.[hashKey]?.S;
  return typeof value === 'string' ? value : undefined;
}
