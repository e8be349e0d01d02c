// The SQS stand-in held to SQS's own answers where a lenient one would hide a reader's bugs:
// receipt handles (older, deleted, expired, made up), queue addresses, the system attributes a
// receive returns. Through the real @aws-sdk/client-sqs, and (for the twelve-hour expiry) the
// stand-in itself under a moved clock.
import { DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { receiptLifetimeMs, SqsStandIn } from '../../../provisioner/sandbox/src/sqs.ts';
import type { Sandbox } from '../../../provisioner/sandbox/src/world.ts';
import { startHarness, type Harness } from '../../support/sandbox.ts';

const QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/jenkins-fleet-bank-ci-interruptions';

describe('the SQS stand-in answers as SQS does', () => {
  let h: Harness;
  let sqs: SQSClient;
  beforeAll(async () => {
    h = await startHarness();
    sqs = new SQSClient({ region: 'us-east-1', endpoint: h.sandbox.env.AWS_ENDPOINT_URL_SQS, credentials: { accessKeyId: h.sandbox.env.AWS_ACCESS_KEY_ID!, secretAccessKey: 'x' }, maxAttempts: 1 });
  });
  afterAll(async () => {
    sqs?.destroy();
    await h?.stop();
  });
  const notVisible = async () => (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: QUEUE, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }))).Attributes;

  it('answers an older receipt handle 200 and deletes nothing: the message comes back after its visibility timeout', async () => {
    await sqs.send(new SendMessageCommand({ QueueUrl: QUEUE, MessageBody: 'older handle' }));
    const first = (await sqs.send(new ReceiveMessageCommand({ QueueUrl: QUEUE, VisibilityTimeout: 0 }))).Messages![0]!;
    const second = (await sqs.send(new ReceiveMessageCommand({ QueueUrl: QUEUE, VisibilityTimeout: 1 }))).Messages![0]!;
    expect(second.MessageId).toBe(first.MessageId);
    expect(second.ReceiptHandle).not.toBe(first.ReceiptHandle);
    await sqs.send(new DeleteMessageCommand({ QueueUrl: QUEUE, ReceiptHandle: first.ReceiptHandle }));
    const back = await sqs.send(new ReceiveMessageCommand({ QueueUrl: QUEUE, WaitTimeSeconds: 5, MessageSystemAttributeNames: ['ApproximateReceiveCount'] }));
    expect(back.Messages?.map((m) => [m.MessageId, m.Attributes])).toEqual([[first.MessageId, { ApproximateReceiveCount: '3' }]]);
    await sqs.send(new DeleteMessageCommand({ QueueUrl: QUEUE, ReceiptHandle: back.Messages![0]!.ReceiptHandle }));
    expect(await notVisible()).toEqual({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' });
  });

  it('answers a second delete of a deleted message 200, and refuses a handle it never issued with ReceiptHandleIsInvalid (404)', async () => {
    await sqs.send(new SendMessageCommand({ QueueUrl: QUEUE, MessageBody: 'twice' }));
    const received = (await sqs.send(new ReceiveMessageCommand({ QueueUrl: QUEUE }))).Messages![0]!;
    await sqs.send(new DeleteMessageCommand({ QueueUrl: QUEUE, ReceiptHandle: received.ReceiptHandle }));
    await sqs.send(new DeleteMessageCommand({ QueueUrl: QUEUE, ReceiptHandle: received.ReceiptHandle }));
    const handle = received.ReceiptHandle!;
    const altered = `${handle.slice(0, 10)}${handle[10] === 'A' ? 'B' : 'A'}${handle.slice(11)}`;
    for (const made of ['AQEBmadeup', altered]) {
      await expect(sqs.send(new DeleteMessageCommand({ QueueUrl: QUEUE, ReceiptHandle: made }))).rejects.toMatchObject({ name: 'ReceiptHandleIsInvalid', $metadata: { httpStatusCode: 404 } });
    }
    await expect(sqs.send(new DeleteMessageCommand({ QueueUrl: QUEUE, ReceiptHandle: '' }))).rejects.toMatchObject({ name: 'MissingParameter' });
  });

  it('returns the system attributes asked for (ApproximateReceiveCount, timestamps in epoch ms), none unasked, and refuses an unknown name', async () => {
    const sent = Date.now();
    await sqs.send(new SendMessageCommand({ QueueUrl: QUEUE, MessageBody: 'attributes' }));
    const plain = (await sqs.send(new ReceiveMessageCommand({ QueueUrl: QUEUE, VisibilityTimeout: 0 }))).Messages![0]!;
    expect(plain.Attributes).toBeUndefined();
    const all = (await sqs.send(new ReceiveMessageCommand({ QueueUrl: QUEUE, MessageSystemAttributeNames: ['All'] }))).Messages![0]!;
    expect(Object.keys(all.Attributes!).sort()).toEqual(['ApproximateFirstReceiveTimestamp', 'ApproximateReceiveCount', 'SentTimestamp']);
    expect(all.Attributes!.ApproximateReceiveCount).toBe('2');
    expect(Number(all.Attributes!.SentTimestamp)).toBeGreaterThanOrEqual(sent - 1000);
    expect(Number(all.Attributes!.ApproximateFirstReceiveTimestamp)).toBeGreaterThanOrEqual(Number(all.Attributes!.SentTimestamp));
    await sqs.send(new DeleteMessageCommand({ QueueUrl: QUEUE, ReceiptHandle: all.ReceiptHandle }));
    await expect(sqs.send(new ReceiveMessageCommand({ QueueUrl: QUEUE, MessageSystemAttributeNames: ['ReceiveCount' as 'All'] }))).rejects.toMatchObject({ name: 'InvalidAttributeName' });
  });

  it('finds the queue by account and name on its host forms, and refuses an address of another endpoint (InvalidAddress, 404) apart from a queue that does not exist', async () => {
    await sqs.send(new SendMessageCommand({ QueueUrl: 'https://queue.amazonaws.com/123456789012/jenkins-fleet-bank-ci-interruptions', MessageBody: 'legacy host' }));
    const received = (await sqs.send(new ReceiveMessageCommand({ QueueUrl: 'https://us-east-1.queue.amazonaws.com/123456789012/jenkins-fleet-bank-ci-interruptions' }))).Messages![0]!;
    expect(received.Body).toBe('legacy host');
    await sqs.send(new DeleteMessageCommand({ QueueUrl: QUEUE, ReceiptHandle: received.ReceiptHandle }));
    for (const address of ['jenkins-fleet-bank-ci-interruptions', 'https://sqs.eu-west-1.amazonaws.com/123456789012/jenkins-fleet-bank-ci-interruptions', 'https://sqs.us-east-1.amazonaws.com/jenkins-fleet-bank-ci-interruptions']) {
      await expect(sqs.send(new ReceiveMessageCommand({ QueueUrl: address }))).rejects.toMatchObject({ name: 'InvalidAddress', $metadata: { httpStatusCode: 404 } });
    }
    await expect(sqs.send(new ReceiveMessageCommand({ QueueUrl: 'https://sqs.us-east-1.amazonaws.com/210987654321/jenkins-fleet-bank-ci-interruptions' }))).rejects.toMatchObject({ name: 'QueueDoesNotExist', $metadata: { httpStatusCode: 400 } });
  });

  it('hides a message sent with DelaySeconds until the delay is over, and refuses a delay above 900', async () => {
    const sent = Date.now();
    await sqs.send(new SendMessageCommand({ QueueUrl: QUEUE, MessageBody: 'delayed', DelaySeconds: 1 }));
    expect((await sqs.send(new ReceiveMessageCommand({ QueueUrl: QUEUE }))).Messages).toBeUndefined();
    const later = (await sqs.send(new ReceiveMessageCommand({ QueueUrl: QUEUE, WaitTimeSeconds: 10 }))).Messages![0]!;
    expect(later.Body).toBe('delayed');
    expect(Date.now() - sent).toBeGreaterThanOrEqual(900);
    await sqs.send(new DeleteMessageCommand({ QueueUrl: QUEUE, ReceiptHandle: later.ReceiptHandle }));
    await expect(sqs.send(new SendMessageCommand({ QueueUrl: QUEUE, MessageBody: 'x', DelaySeconds: 901 }))).rejects.toMatchObject({ name: 'InvalidParameterValue' });
  });

  it('refuses VisibilityTimeout above 43200 and below 0, WaitTimeSeconds below 0, and a number that is no integer', async () => {
    for (const bad of [{ VisibilityTimeout: 43_201 }, { VisibilityTimeout: -1 }, { WaitTimeSeconds: -1 }]) {
      await expect(sqs.send(new ReceiveMessageCommand({ QueueUrl: QUEUE, ...bad }))).rejects.toMatchObject({ name: 'InvalidParameterValue', $metadata: { httpStatusCode: 400 } });
    }
    await expect(sqs.send(new ReceiveMessageCommand({ QueueUrl: QUEUE, MaxNumberOfMessages: 1.5 }))).rejects.toMatchObject({ name: 'SerializationException' });
  });
});

describe('a receipt handle twelve hours old', () => {
  afterEach(() => vi.useRealTimers());

  it('has expired: InvalidParameterValue, and the message stays', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const world: Record<string, unknown> = {};
    const sb = { region: 'us-east-1', accountId: '123456789012', store: { world, save: () => {} } } as unknown as Sandbox;
    const sqs = new SqsStandIn(sb);
    const queue = sqs.ensureQueue('jenkins-fleet-bank-ci-interruptions');
    queue.retention = 14 * 86_400;
    sqs.send(queue.url, 'slow reader');
    const received = await sqs.handle('ReceiveMessage', { QueueUrl: queue.url, VisibilityTimeout: 43_200 });
    const handle = (received.body.Messages as Array<{ ReceiptHandle: string }>)[0]!.ReceiptHandle;
    vi.setSystemTime(Date.now() + receiptLifetimeMs);
    const late = await sqs.handle('DeleteMessage', { QueueUrl: queue.url, ReceiptHandle: handle });
    expect(late).toMatchObject({ status: 400, headers: { 'x-amzn-query-error': 'InvalidParameterValue;Sender' } });
    expect(late.body.message).toContain('The receipt handle has expired.');
    expect(queue.messages).toHaveLength(1);
    // Just before, the same handle deletes.
    vi.setSystemTime(Date.now() - 1000);
    expect((await sqs.handle('DeleteMessage', { QueueUrl: queue.url, ReceiptHandle: handle })).status).toBe(200);
    expect(queue.messages).toHaveLength(0);
  });
});
