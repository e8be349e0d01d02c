// DynamoDB in the sandbox (the run lock's table): dynalite behind the sandbox's /dynamodb/, through
// the real SDK client; the provisioner's calls authorised against provisioner-iam (its own fleet's
// item only), the item kept across a restart of the sandbox.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand, PutItemCommand, ScanCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Leases } from '../../../provisioner/src/aws/lease.ts';
import { parseFleet } from '../../../provisioner/src/config/load.ts';
import { defaultModulesDir } from '../../../provisioner/sandbox/src/iam/fleet-iam.ts';
import { startHarness, type Harness } from '../../support/sandbox.ts';

const root = new URL('../../../', import.meta.url).pathname;
const fleet = parseFleet(readFileSync(join(root, 'examples/fleet.yaml'), 'utf8'), 'fleet.yaml', {});
const TABLE = fleet.lock!.table;

function dynamo(h: Harness, accessKeyId = h.sandbox.env.AWS_ACCESS_KEY_ID!): DynamoDBClient {
  return new DynamoDBClient({ region: h.sandbox.env.AWS_REGION, endpoint: h.sandbox.env.AWS_ENDPOINT_URL_DYNAMODB, maxAttempts: 1, credentials: { accessKeyId, secretAccessKey: 'x' } });
}

function requests(h: Harness): Array<Record<string, unknown>> {
  return readFileSync(join(h.dir, 'requests.log'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.service === 'dynamodb');
}

describe('the run lock table in the sandbox, under IAM', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness((o) => { o.iam = { fleet, modulesDir: defaultModulesDir }; });
  });
  afterAll(async () => { await h?.stop(); });

  it('exports the endpoint and serves the table examples/fleet.yaml names, where the lease works as on DynamoDB', async () => {
    expect(h.sandbox.env.AWS_ENDPOINT_URL_DYNAMODB).toBe(`${h.sandbox.url}/dynamodb/`);
    const client = dynamo(h);
    const leases = new Leases({ client, table: TABLE });
    const first = await leases.acquire('fleet/bank-ci', 'up by test', 60_000);
    expect(first.acquired).toBe(true);
    const second = await leases.acquire('fleet/bank-ci', 'up by other', 60_000);
    expect(second).toMatchObject({ acquired: false, current: { holder: 'up by test' } });
    if (first.acquired) expect(await leases.release(first.lease)).toBe(true);
    const log = requests(h);
    expect(log.map((e) => [e.action, e.status, e.mutating, e.error ?? ''])).toEqual([
      ['UpdateItem', 200, true, ''],
      ['UpdateItem', 400, false, 'ConditionalCheckFailedException'],
      ['GetItem', 200, false, ''],
      ['UpdateItem', 200, true, ''],
    ]);
    expect(log[0]!.subject).toBe(`${TABLE} fleet/bank-ci`);
    client.destroy();
  });

  it("refuses the provisioner another fleet's item, another table, and actions its policy lacks, as DynamoDB words it", async () => {
    const client = dynamo(h);
    const other = await client.send(new GetItemCommand({ TableName: TABLE, Key: { lease: { S: 'fleet/other-fleet' } } })).then(() => new Error('expected a refusal'), (e: unknown) => e as Error);
    expect(other.name).toBe('AccessDeniedException');
    expect(other.message).toBe(`User: arn:aws:sts::123456789012:assumed-role/jenkins-fleet-bank-ci-provisioner/sandbox is not authorized to perform: dynamodb:GetItem on resource: arn:aws:dynamodb:us-east-1:123456789012:table/${TABLE} because no identity-based policy allows the dynamodb:GetItem action`);
    const table = await client.send(new GetItemCommand({ TableName: 'someone-elses', Key: { lease: { S: 'fleet/bank-ci' } } })).then(() => new Error('expected a refusal'), (e: unknown) => e as Error);
    expect(table.name).toBe('AccessDeniedException');
    const scan = await client.send(new ScanCommand({ TableName: TABLE })).then(() => new Error('expected a refusal'), (e: unknown) => e as Error);
    expect(scan.name).toBe('AccessDeniedException');
    const put = await client.send(new PutItemCommand({ TableName: TABLE, Item: { lease: { S: 'fleet/bank-ci' } } })).then(() => new Error('expected a refusal'), (e: unknown) => e as Error);
    expect(put.name).toBe('AccessDeniedException');
    client.destroy();
  });

  it("answers the account's administrator anything, and DynamoDB's own errors for a table that does not exist", async () => {
    const admin = dynamo(h, 'AKIAADMINISTRATOR000');
    expect((await admin.send(new ScanCommand({ TableName: TABLE }))).Items).toBeDefined();
    const missing = await admin.send(new GetItemCommand({ TableName: 'no-such-table', Key: { lease: { S: 'x' } } })).then(() => new Error('expected a refusal'), (e: unknown) => e as Error);
    expect(missing.name).toBe('ResourceNotFoundException');
    const malformed = await admin.send(new UpdateItemCommand({ TableName: TABLE, Key: { lease: { S: 'x' } }, UpdateExpression: 'SET #a = :v', ExpressionAttributeValues: { ':v': { S: 'y' } } })).then(() => new Error('expected a refusal'), (e: unknown) => e as Error);
    expect(malformed.name).toBe('ValidationException');
    admin.destroy();
  });

  it('refuses a signature scoped to another service or region', async () => {
    const signed = await fetch(`${h.sandbox.url}/dynamodb/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'DynamoDB_20120810.GetItem', authorization: 'AWS4-HMAC-SHA256 Credential=AKIASANDBOX000000000/20260101/us-east-1/ssm/aws4_request, SignedHeaders=host, Signature=00' },
      body: '{}',
    });
    expect(signed.status).toBe(400);
    expect(await signed.json()).toEqual({ __type: 'com.amazon.coral.service#InvalidSignatureException', message: "Credential should be scoped to correct service: 'dynamodb'." });
  });
});

describe('the run lock table across a restart of the sandbox', () => {
  it('keeps a held lock (and its epoch) in the state directory', async () => {
    const first = await startHarness((o) => { o.iam = { fleet, modulesDir: defaultModulesDir }; });
    const client = dynamo(first);
    const taken = await new Leases({ client, table: TABLE }).acquire('fleet/bank-ci', 'up by test', 600_000);
    expect(taken.acquired).toBe(true);
    client.destroy();
    await first.stop(true);
    const again = await startHarness((o) => { o.iam = { fleet, modulesDir: defaultModulesDir }; }, first.dir);
    const after = dynamo(again);
    try {
      expect(await new Leases({ client: after, table: TABLE }).describe('fleet/bank-ci')).toMatchObject({ holder: 'up by test', epoch: 1 });
    } finally {
      after.destroy();
      await again.stop();
    }
  });
});
