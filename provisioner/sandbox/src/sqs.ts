// SQS's AWS JSON 1.0 protocol as @aws-sdk/client-sqs speaks it (X-Amz-Target AmazonSQS.<Operation>,
// x-amzn-query-mode), for the queue EventBridge puts EC2's interruption notices in: ReceiveMessage
// (visibility timeout, receipt handles, long polling up to 20 s), DeleteMessage, SendMessage and
// GetQueueAttributes on queues that exist from the start, as terraform/jenkins makes them. Errors
// carry the modelled __type and the x-amzn-query-error code the SDK reads (SQS API Reference,
// each action's Errors and Common Errors). Kept in the store, so a restart keeps the messages.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Sandbox } from './world.ts';

export interface SqsMessage {
  id: string;
  body: string;
  sentAt: number;
  /** Hidden from receives until then (in flight after a receive). */
  visibleAt: number;
  receiveCount: number;
  firstReceivedAt?: number;
  /** The handle of its latest receive: only that one deletes it. */
  receipt?: string;
}

export interface SqsQueue {
  url: string;
  name: string;
  /** The queue's VisibilityTimeout attribute (seconds): a receive that names none hides messages this long. */
  visibilityTimeout: number;
  /** MessageRetentionPeriod (seconds): older messages are gone. */
  retention: number;
  messages: SqsMessage[];
}

export interface SqsAnswer {
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, string>;
  mutating: boolean;
  error?: string;
  subject?: string;
}

class SqsError extends Error {
  constructor(
    readonly type: string,
    readonly queryCode: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const invalid = (message: string) => new SqsError('InvalidParameterValue', 'InvalidParameterValue', 400, message);

export function queueUrl(region: string, accountId: string, name: string): string {
  return `https://sqs.${region}.amazonaws.com/${accountId}/${name}`;
}

export class SqsStandIn {
  /** Long polls waiting for a message, by queue URL. */
  private readonly waiting = new Map<string, Set<() => void>>();

  constructor(private readonly sb: Sandbox) {}

  private get queues(): SqsQueue[] {
    return (this.sb.store.world.queues ??= []);
  }

  /** A queue as terraform/jenkins makes it (60 s visibility, 1 h retention), by name or URL; an existing one is kept. */
  ensureQueue(nameOrUrl: string): SqsQueue {
    const url = nameOrUrl.startsWith('https://') ? nameOrUrl : queueUrl(this.sb.region, this.sb.accountId, nameOrUrl);
    const name = url.split('/').pop()!;
    let queue = this.queues.find((q) => q.url === url);
    if (!queue) {
      queue = { url, name, visibilityTimeout: 60, retention: 3600, messages: [] };
      this.queues.push(queue);
      this.sb.store.save();
    }
    return queue;
  }

  /** What a rule target does with a matched event: the event JSON becomes one message's body. */
  send(url: string, body: string): SqsMessage {
    const queue = this.queues.find((q) => q.url === url);
    if (!queue) throw new Error(`no queue ${url}`);
    const now = Date.now();
    const message: SqsMessage = { id: randomUUID(), body, sentAt: now, visibleAt: now, receiveCount: 0 };
    queue.messages.push(message);
    this.sb.store.save();
    this.wake(url);
    return message;
  }

  private wake(url: string): void {
    const waiters = this.waiting.get(url);
    if (!waiters) return;
    this.waiting.delete(url);
    for (const w of waiters) w();
  }

  /** Wakes every long poll (the sandbox stops). */
  close(): void {
    for (const url of [...this.waiting.keys()]) this.wake(url);
  }

  async handle(op: string, input: Record<string, unknown>): Promise<SqsAnswer> {
    try {
      switch (op) {
        case 'ReceiveMessage':
          return await this.receive(input);
        case 'DeleteMessage':
          return this.delete(input);
        case 'SendMessage':
          return this.sendMessage(input);
        case 'GetQueueAttributes':
          return this.attributes(input);
        default:
          // The stand-in answers only what the provisioner and its tests call; the rest as SQS answers an unknown target.
          throw new SqsError('UnknownOperationException', 'UnknownOperationException', 400, `Unknown operation ${op}`);
      }
    } catch (err) {
      if (!(err instanceof SqsError)) throw err;
      // awsQueryCompatible: the SDK reads the code from x-amzn-query-error, the shape from __type.
      return {
        status: err.status,
        body: { __type: `com.amazonaws.sqs#${err.type}`, message: err.message },
        headers: { 'x-amzn-query-error': `${err.queryCode};Sender` },
        mutating: false,
        error: err.queryCode,
        ...(typeof input.QueueUrl === 'string' ? { subject: input.QueueUrl.split('/').pop() } : {}),
      };
    }
  }

  private queue(input: Record<string, unknown>): SqsQueue {
    if (typeof input.QueueUrl !== 'string' || !input.QueueUrl) throw new SqsError('MissingParameter', 'MissingParameter', 400, 'The request must contain the parameter QueueUrl.');
    const queue = this.queues.find((q) => q.url === input.QueueUrl);
    if (!queue) throw new SqsError('QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue', 400, 'The specified queue does not exist.');
    const now = Date.now();
    queue.messages = queue.messages.filter((m) => now < m.sentAt + queue.retention * 1000);
    return queue;
  }

  private integer(input: Record<string, unknown>, field: string, least: number, most: number, fallback: number): number {
    const value = input[field];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value)) throw new SqsError('SerializationException', 'SerializationException', 400, `${field} must be an integer`);
    if (value < least || value > most) throw invalid(`Value ${value} for parameter ${field} is invalid. Reason: must be between ${least} and ${most}, if provided.`);
    return value;
  }

  private async receive(input: Record<string, unknown>): Promise<SqsAnswer> {
    let queue = this.queue(input);
    const max = this.integer(input, 'MaxNumberOfMessages', 1, 10, 1);
    const wait = this.integer(input, 'WaitTimeSeconds', 0, 20, 0);
    const visibility = this.integer(input, 'VisibilityTimeout', 0, 43_200, queue.visibilityTimeout);
    const deadline = Date.now() + wait * 1000;
    for (;;) {
      const now = Date.now();
      const visible = queue.messages.filter((m) => m.visibleAt <= now).slice(0, max);
      if (visible.length > 0 || now >= deadline) {
        for (const m of visible) {
          m.receiveCount += 1;
          m.firstReceivedAt ??= now;
          m.visibleAt = now + visibility * 1000;
          m.receipt = `${randomBytes(48).toString('base64')}`;
        }
        if (visible.length > 0) this.sb.store.save();
        const messages = visible.map((m) => ({
          MessageId: m.id,
          ReceiptHandle: m.receipt,
          MD5OfBody: createHash('md5').update(m.body, 'utf8').digest('hex'),
          Body: m.body,
        }));
        return { status: 200, body: messages.length > 0 ? { Messages: messages } : {}, headers: {}, mutating: visible.length > 0, subject: `${queue.name} ${visible.length}` };
      }
      // Long polling: answer as soon as a message is sent, or one in flight becomes visible again.
      const nextVisible = Math.min(deadline, ...queue.messages.map((m) => m.visibleAt));
      await new Promise<void>((resolve) => {
        const waiters = this.waiting.get(queue.url) ?? new Set<() => void>();
        this.waiting.set(queue.url, waiters);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, Math.max(1, nextVisible - Date.now()));
        waiters.add(done);
      });
      queue = this.queue(input);
    }
  }

  private delete(input: Record<string, unknown>): SqsAnswer {
    const queue = this.queue(input);
    const handle = input.ReceiptHandle;
    if (typeof handle !== 'string' || !handle) throw new SqsError('MissingParameter', 'MissingParameter', 400, 'The request must contain the parameter ReceiptHandle.');
    const message = queue.messages.find((m) => m.receipt === handle);
    if (!message) throw new SqsError('ReceiptHandleIsInvalid', 'ReceiptHandleIsInvalid', 404, `The input receipt handle "${handle}" is not a valid receipt handle.`);
    queue.messages = queue.messages.filter((m) => m !== message);
    this.sb.store.save();
    return { status: 200, body: {}, headers: {}, mutating: true, subject: `${queue.name} ${message.id}` };
  }

  private sendMessage(input: Record<string, unknown>): SqsAnswer {
    const queue = this.queue(input);
    if (typeof input.MessageBody !== 'string' || input.MessageBody.length === 0) throw new SqsError('MissingParameter', 'MissingParameter', 400, 'The request must contain the parameter MessageBody.');
    if (Buffer.byteLength(input.MessageBody) > 1024 * 1024) throw invalid('One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes.');
    const message = this.send(queue.url, input.MessageBody);
    return { status: 200, body: { MessageId: message.id, MD5OfMessageBody: createHash('md5').update(message.body, 'utf8').digest('hex') }, headers: {}, mutating: true, subject: `${queue.name} ${message.id}` };
  }

  private attributes(input: Record<string, unknown>): SqsAnswer {
    const queue = this.queue(input);
    const now = Date.now();
    const all: Record<string, string> = {
      ApproximateNumberOfMessages: String(queue.messages.filter((m) => m.visibleAt <= now).length),
      ApproximateNumberOfMessagesNotVisible: String(queue.messages.filter((m) => m.visibleAt > now).length),
      VisibilityTimeout: String(queue.visibilityTimeout),
      MessageRetentionPeriod: String(queue.retention),
      QueueArn: `arn:aws:sqs:${this.sb.region}:${this.sb.accountId}:${queue.name}`,
    };
    const names = Array.isArray(input.AttributeNames) ? (input.AttributeNames as unknown[]) : [];
    for (const n of names) if (typeof n !== 'string' || (n !== 'All' && !(n in all))) throw new SqsError('InvalidAttributeName', 'InvalidAttributeName', 400, `Unknown Attribute ${String(n)}.`);
    const picked = names.includes('All') ? all : Object.fromEntries(Object.entries(all).filter(([k]) => names.includes(k)));
    return { status: 200, body: Object.keys(picked).length > 0 ? { Attributes: picked } : {}, headers: {}, mutating: false, subject: queue.name };
  }
}
