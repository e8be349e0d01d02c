// The interruption queue in the sandbox: SQS's JSON protocol through the real @aws-sdk/client-sqs
// (and the provisioner's adapter), as strict as SQS on its limits and receipt handles; EC2's notices
// for a Spot instance issued on the control endpoint, and the instance reclaimed when its time is up.
import { DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DescribeInstancesCommand, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqsInterruptionQueue } from '../../../provisioner/src/aws/sqs.ts';
import { parseFleet } from '../../../provisioner/src/config/load.ts';
import { defaultModulesDir } from '../../../provisioner/sandbox/src/iam/fleet-iam.ts';
import { startHarness, type Harness } from '../../support/sandbox.ts';

const root = new URL('../../../', import.meta.url).pathname;

const QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/jenkins-fleet-bank-ci-interruptions';

describe('the interruption queue (SQS) in the sandbox', () => {
  let h: Harness;
  let sqs: SQSClient;
  beforeAll(async () => {
    h = await startHarness((o) => { o.interruptionNoticeMs = 1500; o.timing.lingerMs = 60_000; });
    sqs = new SQSClient({ region: 'us-east-1', endpoint: h.sandbox.env.AWS_ENDPOINT_URL_SQS, credentials: { accessKeyId: h.sandbox.env.AWS_ACCESS_KEY_ID!, secretAccessKey: 'x' }, maxAttempts: 1 });
  });
  afterAll(async () => {
    sqs?.destroy();
    await h?.stop();
  });

  it('is there from the start, named for the fleet as terraform/jenkins names it, and its URL exported', () => {
    expect(h.sandbox.interruptionQueue).toBe(QUEUE);
    expect(h.sandbox.env.AWS_ENDPOINT_URL_SQS).toBe(`${h.sandbox.url}/sqs/`);
  });

  it('hides a received message for its visibility timeout, deletes it only by its latest receipt handle (an older one is answered 200 and deletes nothing), and checks MD5OfBody as the SDK does', async () => {
    await sqs.send(new SendMessageCommand({ QueueUrl: QUEUE, MessageBody: '{"hello":"world"}' }));
    const first = await sqs.send(new ReceiveMessageCommand({ QueueUrl: QUEUE, MaxNumberOfMessages: 10, VisibilityTimeout: 1 }));
    expect(first.Messages?.map((m) => m.Body)).toEqual(['{"hello":"world"}']);
    expect((await sqs.send(new ReceiveMessageCommand({ QueueUrl: QUEUE }))).Messages).toBeUndefined();
    // Long polling answers once the message is visible again, with a new receipt handle.
    const started = Date.now();
    const again = await sqs.send(new ReceiveMessageCommand({ QueueUrl: QUEUE, WaitTimeSeconds: 5 }));
    expect(Date.now() - started).toBeLessThan(4_500);
    expect(again.Messages?.[0]?.MessageId).toBe(first.Messages![0]!.MessageId);
    // The first receive's handle: SQS answers 200 and deletes nothing.
    await sqs.send(new DeleteMessageCommand({ QueueUrl: QUEUE, ReceiptHandle: first.Messages![0]!.ReceiptHandle }));
    expect((await sqs.send(new GetQueueAttributesCommand({ QueueUrl: QUEUE, AttributeNames: ['ApproximateNumberOfMessagesNotVisible'] }))).Attributes).toEqual({ ApproximateNumberOfMessagesNotVisible: '1' });
    await sqs.send(new DeleteMessageCommand({ QueueUrl: QUEUE, ReceiptHandle: again.Messages![0]!.ReceiptHandle }));
    const attributes = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: QUEUE, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
    expect(attributes.Attributes).toEqual({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' });
  });

  it('refuses what SQS refuses: MaxNumberOfMessages outside 1..10, WaitTimeSeconds above 20, a queue that does not exist', async () => {
    await expect(sqs.send(new ReceiveMessageCommand({ QueueUrl: QUEUE, MaxNumberOfMessages: 11 }))).rejects.toMatchObject({ name: 'InvalidParameterValue', $metadata: { httpStatusCode: 400 } });
    await expect(sqs.send(new ReceiveMessageCommand({ QueueUrl: QUEUE, MaxNumberOfMessages: 0 }))).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await expect(sqs.send(new ReceiveMessageCommand({ QueueUrl: QUEUE, WaitTimeSeconds: 21 }))).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await expect(sqs.send(new ReceiveMessageCommand({ QueueUrl: `${QUEUE}-other` }))).rejects.toMatchObject({ name: 'QueueDoesNotExist' });
  });

  it('receives a Spot instance warning as EventBridge delivers it, and EC2 reclaims the instance when the notice is up', async () => {
    const out = await h.ec2.send(new RunInstancesCommand({
      ImageId: 'resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64', InstanceType: 't3.medium', MinCount: 1, MaxCount: 1,
      SubnetId: 'subnet-0aaaaaaaaaaaaaaa1', SecurityGroupIds: ['sg-0bbbbbbbbbbbbbbb1'], IamInstanceProfile: { Name: 'jenkins-agent' }, MetadataOptions: { HttpTokens: 'required' },
    }));
    const id = out.Instances![0]!.InstanceId!;
    const control = (notice: string) => fetch(`${h.sandbox.url}/_sandbox/instances/${id}/interrupt`, { method: 'POST', body: JSON.stringify({ notice }) });
    expect((await control('warning')).status).toBe(409); // On-Demand: EC2 interrupts only Spot instances
    h.sandbox.sandbox.store.world.instances.find((i) => i.id === id)!.lifecycle = 'spot'; // the scene: a Spot instance
    expect((await control('rebalance')).status).toBe(200);
    const warned = await control('warning');
    expect(warned.status).toBe(200);
    expect((await control('warning')).status).toBe(409); // warned once

    const previous = { ...process.env };
    Object.assign(process.env, { AWS_ENDPOINT_URL_SQS: h.sandbox.env.AWS_ENDPOINT_URL_SQS, AWS_ACCESS_KEY_ID: h.sandbox.env.AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: 'x' });
    try {
      const queue = new SqsInterruptionQueue(QUEUE, 'eu-west-1');
      const messages = await queue.receive(true);
      expect(messages.map((m) => m.notice)).toEqual([
        { kind: 'rebalance', instanceId: id, at: expect.any(Number), region: 'us-east-1' },
        { kind: 'warning', instanceId: id, at: expect.any(Number), action: 'terminate', region: 'us-east-1' },
      ]);
      for (const m of messages) await queue.delete(m);
      expect(await queue.receive(true)).toEqual([]);
    } finally {
      process.env = previous;
    }
    await new Promise((r) => setTimeout(r, 2_000));
    const described = await h.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    const instance = described.Reservations![0]!.Instances![0]!;
    expect(instance.State?.Name).toMatch(/shutting-down|terminated/);
    expect(instance.StateReason).toEqual({ Code: 'Server.SpotInstanceTermination', Message: 'Server.SpotInstanceTermination: Spot instance termination' });
  });
});

describe('the interruption queue under IAM (provisioner-iam for the fleet)', () => {
  const example = readFileSync(join(root, 'examples/fleet.yaml'), 'utf8');
  const client = (h: Harness) => new SQSClient({ region: 'us-east-1', endpoint: h.sandbox.env.AWS_ENDPOINT_URL_SQS, credentials: { accessKeyId: h.sandbox.env.AWS_ACCESS_KEY_ID!, secretAccessKey: 'x' }, maxAttempts: 1 });

  it("lets the provisioner receive from and delete in its fleet's queue, and nothing else", async () => {
    const fleet = parseFleet(`${example}\ninterruptions:\n  queue: ${QUEUE}\n`, 'fleet.yaml', {});
    const h = await startHarness((o) => { o.iam = { fleet, modulesDir: defaultModulesDir }; });
    const sqs = client(h);
    try {
      expect((await sqs.send(new ReceiveMessageCommand({ QueueUrl: QUEUE }))).Messages).toBeUndefined();
      await expect(sqs.send(new SendMessageCommand({ QueueUrl: QUEUE, MessageBody: 'x' }))).rejects.toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
      await expect(sqs.send(new GetQueueAttributesCommand({ QueueUrl: QUEUE, AttributeNames: ['All'] }))).rejects.toMatchObject({ name: 'AccessDenied' });
    } finally {
      sqs.destroy();
      await h.stop();
    }
  });

  it("judges a QueueUrl of another account as that account's queue: one that does not exist there is QueueDoesNotExist, never the caller's queue of that name", async () => {
    const fleet = parseFleet(`${example}\ninterruptions:\n  queue: ${QUEUE}\n`, 'fleet.yaml', {});
    const h = await startHarness((o) => { o.iam = { fleet, modulesDir: defaultModulesDir }; });
    const sqs = client(h);
    try {
      const elsewhere = QUEUE.replace('123456789012', '210987654321');
      for (const call of [
        new ReceiveMessageCommand({ QueueUrl: elsewhere }),
        new DeleteMessageCommand({ QueueUrl: elsewhere, ReceiptHandle: 'AQEB' }),
        new SendMessageCommand({ QueueUrl: elsewhere, MessageBody: 'x' }),
      ]) {
        // The SDK reads the code from x-amzn-query-error and names the error after the modelled shape.
        await expect(sqs.send(call as ReceiveMessageCommand)).rejects.toMatchObject({ name: 'QueueDoesNotExist', Code: 'AWS.SimpleQueueService.NonExistentQueue', $metadata: { httpStatusCode: 400 } });
      }
      // A queue of the caller's own account that does not exist: the same answer, before any question of rights.
      await expect(sqs.send(new SendMessageCommand({ QueueUrl: `${QUEUE}-other`, MessageBody: 'x' }))).rejects.toMatchObject({ name: 'QueueDoesNotExist' });
      // The fleet's own queue, which exists: IAM decides (provisioner-iam grants no SendMessage).
      await expect(sqs.send(new SendMessageCommand({ QueueUrl: QUEUE, MessageBody: 'x' }))).rejects.toMatchObject({ name: 'AccessDenied' });
      const log = readFileSync(join(h.dir, 'requests.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { service: string; error?: string });
      expect(log.filter((e) => e.service === 'sqs').map((e) => e.error)).toEqual(['AWS.SimpleQueueService.NonExistentQueue', 'AWS.SimpleQueueService.NonExistentQueue', 'AWS.SimpleQueueService.NonExistentQueue', 'AWS.SimpleQueueService.NonExistentQueue', 'AccessDenied']);
    } finally {
      sqs.destroy();
      await h.stop();
    }
  });

  it("refuses to start with a fleet whose queue is in another account or region than the sandbox's, naming the queue", async () => {
    for (const queue of [QUEUE.replace('123456789012', '210987654321'), QUEUE.replace('us-east-1', 'eu-west-1')]) {
      const fleet = parseFleet(`${example}\ninterruptions:\n  queue: ${queue}\n`, 'fleet.yaml', {});
      await expect(startHarness((o) => { o.iam = { fleet, modulesDir: defaultModulesDir }; })).rejects.toThrow(`the queue ${queue} is not in the sandbox's account 123456789012 and region us-east-1`);
    }
  });

  it('gives a fleet without interruptions.queue no right on any queue', async () => {
    const h = await startHarness((o) => { o.iam = { fleet: parseFleet(example, 'fleet.yaml', {}), modulesDir: defaultModulesDir }; });
    const sqs = client(h);
    try {
      await expect(sqs.send(new ReceiveMessageCommand({ QueueUrl: QUEUE }))).rejects.toMatchObject({ name: 'AccessDenied' });
    } finally {
      sqs.destroy();
      await h.stop();
    }
  });
});
