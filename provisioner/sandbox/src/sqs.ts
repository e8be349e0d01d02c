// SQS's AWS JSON 1.0 protocol as @aws-sdk/client-sqs speaks it (X-Amz-Target AmazonSQS.<Operation>,
// x-amzn-query-mode), for the queue EventBridge puts EC2's interruption notices in: ReceiveMessage
// (visibility timeout, receipt handles, long polling up to 20 s), DeleteMessage, SendMessage and
// GetQueueAttributes on queues that exist from the start, as terraform/jenkins makes them. Errors
// carry the modelled __type and the x-amzn-query-error code the SDK reads (SQS API Reference,
// each action's Errors and Common Errors). Kept in the store, so a restart keeps the messages.
// Receipt handles are self-describing and signed, as SQS's are opaque tokens it can check without
// a lookup: a restart keeps them valid, and a made-up one is told from an old one.
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { UserError } from '../../src/errors.ts';
import type { Sandbox } from './world.ts';

export interface SqsMessage {
  id: string;
  body: string;
  sentAt: number;
  /** Hidden from receives until then (in flight after a receive). */
  visibleAt: number;
  receiveCount: number;
  firstReceivedAt?: number;
  /** The handle of its latest receive: only that one deletes it (an older one is answered 200 and deletes nothing). */
  receipt?: string;
}

/**
 * How long a receipt handle can delete its message: twelve hours after its receive, the longest
 * visibility timeout (a standard queue answers InvalidParameterValue "The receipt handle has
 * expired" after that: boto/boto3#2898).
 */
export const receiptLifetimeMs = 43_200_000;

/** The system attributes ReceiveMessage returns on request (the model's MessageSystemAttributeName). */
const messageSystemAttributes = ['All', 'SenderId', 'SentTimestamp', 'ApproximateReceiveCount', 'ApproximateFirstReceiveTimestamp', 'SequenceNumber', 'MessageDeduplicationId', 'MessageGroupId', 'AWSTraceHeader', 'DeadLetterQueueSourceArn'];

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

/**
 * What a QueueUrl addresses on the endpoint of `region`: the account and queue name of its path,
 * on one of SQS's host forms for that region; undefined for anything else (InvalidAddress).
 */
export function queueAddress(url: string, region: string): { region: string; account: string; name: string } | undefined {
  const address = /^https?:\/\/([^/]+)\/(\d{12})\/([A-Za-z0-9_-]{1,80}(?:\.fifo)?)$/.exec(url);
  const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  const hosts = [`sqs.${region}.${suffix}`, `${region}.queue.${suffix}`, ...(region === 'us-east-1' ? ['queue.amazonaws.com'] : [])];
  if (!address || !hosts.includes(address[1]!.toLowerCase())) return undefined;
  return { region, account: address[2]!, name: address[3]! };
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
    const address = queueAddress(url, this.sb.region);
    // The sandbox is one account in one region: a queue elsewhere could never be reached (or would
    // be judged as this account's), so it is refused rather than made.
    if (!address || address.account !== this.sb.accountId) {
      throw new UserError(`--fleet's interruptions: the queue ${url} is not in the sandbox's account ${this.sb.accountId} and region ${this.sb.region} (https://sqs.${this.sb.region}.amazonaws.com/${this.sb.accountId}/NAME)`);
    }
    const name = address.name;
    let queue = this.queues.find((q) => q.url === url);
    if (!queue) {
      queue = { url, name, visibilityTimeout: 60, retention: 3600, messages: [] };
      this.queues.push(queue);
      this.sb.store.save();
    }
    return queue;
  }

  /** What a rule target does with a matched event: the event JSON becomes one message's body. */
  send(url: string, body: string, delaySeconds = 0): SqsMessage {
    const queue = this.queues.find((q) => q.url === url);
    if (!queue) throw new Error(`no queue ${url}`);
    const now = Date.now();
    const message: SqsMessage = { id: randomUUID(), body, sentAt: now, visibleAt: now + delaySeconds * 1000, receiveCount: 0 };
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
      return this.failure(err, input);
    }
  }

  /** awsQueryCompatible: the SDK reads the code from x-amzn-query-error, the shape from __type. */
  private failure(err: SqsError, input: Record<string, unknown>): SqsAnswer {
    return {
      status: err.status,
      body: { __type: `com.amazonaws.sqs#${err.type}`, message: err.message },
      headers: { 'x-amzn-query-error': `${err.queryCode};Sender` },
      mutating: false,
      error: err.queryCode,
      ...(typeof input.QueueUrl === 'string' ? { subject: input.QueueUrl.split('/').pop() } : {}),
    };
  }

  /**
   * The queue a QueueUrl names. SQS finds a queue by the account and name in the URL's path, on
   * any of its host forms for this region (sqs.REGION.amazonaws.com, the legacy
   * REGION.queue.amazonaws.com, and queue.amazonaws.com for us-east-1); anything else is no
   * address of this endpoint (InvalidAddress, 404). A queue is looked for in the account the URL
   * names, never in the caller's: another account's name is that account's queue, and the sandbox
   * holds none there.
   */
  private queue(input: Record<string, unknown>): SqsQueue {
    const url = this.string(input, 'QueueUrl', true)!;
    const address = queueAddress(url, this.sb.region);
    if (!address) throw new SqsError('InvalidAddress', 'InvalidAddress', 404, `The address ${url} is not valid for this endpoint.`);
    const queue = this.queues.find((q) => q.url === queueUrl(address.region, address.account, address.name));
    if (!queue) throw new SqsError('QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue', 400, 'The specified queue does not exist.');
    const now = Date.now();
    queue.messages = queue.messages.filter((m) => now < m.sentAt + queue.retention * 1000);
    return queue;
  }

  /**
   * The ARN of the queue a request names, for IAM to judge, or SQS's answer when it names none: a
   * missing or malformed QueueUrl, or a queue that does not exist in the account the URL names
   * (QueueDoesNotExist, before any question of rights, as SQS answers for a queue that is not
   * there). The ARN is the URL's own account's and region's: a URL of another account is never
   * judged as if it named a queue of the caller's.
   */
  locate(input: Record<string, unknown>): { arn: string } | SqsAnswer {
    try {
      const queue = this.queue(input);
      const address = queueAddress(queue.url, this.sb.region)!;
      return { arn: `arn:aws:sqs:${address.region}:${address.account}:${address.name}` };
    } catch (err) {
      if (!(err instanceof SqsError)) throw err;
      return this.failure(err, input);
    }
  }

  /** A string member: of another JSON type the request does not deserialise; a required one left out or empty is MissingParameter. */
  private string(input: Record<string, unknown>, field: string, required: boolean): string | undefined {
    const value = input[field];
    if (value === undefined || value === null || value === '') {
      if (required) throw new SqsError('MissingParameter', 'MissingParameter', 400, `The request must contain the parameter ${field}.`);
      return undefined;
    }
    if (typeof value !== 'string') throw new SqsError('SerializationException', 'SerializationException', 400, `${field} must be a string`);
    return value;
  }

  /** The key receipt handles are signed with, kept in the state so that a restarted sandbox still takes its handles. */
  private get handleKey(): Buffer {
    return Buffer.from((this.sb.store.world.sqsHandleKey ??= randomBytes(32).toString('hex')), 'hex');
  }

  private issueHandle(queue: SqsQueue, message: SqsMessage, at: number): string {
    const payload = Buffer.from(JSON.stringify({ q: queue.name, m: message.id, n: message.receiveCount, t: at, r: randomBytes(12).toString('base64') }));
    const mac = createHmac('sha256', this.handleKey).update(payload).digest();
    return Buffer.concat([payload, mac]).toString('base64');
  }

  /** What a handle this queue issued says; undefined for anything else (made up, altered, another queue's). */
  private readHandle(queue: SqsQueue, handle: string): { messageId: string; issuedAt: number } | undefined {
    const raw = Buffer.from(handle, 'base64');
    if (raw.length <= 32 || raw.toString('base64') !== handle) return undefined;
    const payload = raw.subarray(0, raw.length - 32);
    const mac = createHmac('sha256', this.handleKey).update(payload).digest();
    if (!timingSafeEqual(mac, raw.subarray(raw.length - 32))) return undefined;
    const claims = JSON.parse(payload.toString('utf8')) as { q: string; m: string; t: number };
    return claims.q === queue.name ? { messageId: claims.m, issuedAt: claims.t } : undefined;
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
    const attributeNames = this.systemAttributeNames(input);
    const deadline = Date.now() + wait * 1000;
    for (;;) {
      const now = Date.now();
      const visible = queue.messages.filter((m) => m.visibleAt <= now).slice(0, max);
      if (visible.length > 0 || now >= deadline) {
        for (const m of visible) {
          m.receiveCount += 1;
          m.firstReceivedAt ??= now;
          m.visibleAt = now + visibility * 1000;
          m.receipt = this.issueHandle(queue, m, now);
        }
        if (visible.length > 0) this.sb.store.save();
        const messages = visible.map((m) => ({
          MessageId: m.id,
          ReceiptHandle: m.receipt,
          MD5OfBody: createHash('md5').update(m.body, 'utf8').digest('hex'),
          Body: m.body,
          ...this.systemAttributes(m, attributeNames),
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

  /**
   * The names asked for in MessageSystemAttributeNames and the deprecated AttributeNames (both
   * lists of the model's MessageSystemAttributeName); another name is InvalidAttributeName.
   */
  private systemAttributeNames(input: Record<string, unknown>): Set<string> {
    const names = new Set<string>();
    for (const field of ['MessageSystemAttributeNames', 'AttributeNames']) {
      const list = input[field];
      if (list === undefined || list === null) continue;
      if (!Array.isArray(list)) throw new SqsError('SerializationException', 'SerializationException', 400, `${field} must be a list of strings`);
      for (const name of list) {
        if (typeof name !== 'string') throw new SqsError('SerializationException', 'SerializationException', 400, `${field} must be a list of strings`);
        if (!messageSystemAttributes.includes(name)) throw new SqsError('InvalidAttributeName', 'InvalidAttributeName', 400, `Unknown Attribute ${name}.`);
        names.add(name);
      }
    }
    return names;
  }

  /**
   * A received message's system attributes that were asked for: a standard queue has no FIFO ones,
   * EventBridge's messages carry no trace header, and SenderId (the sender's unique id) is not modelled.
   */
  private systemAttributes(message: SqsMessage, names: Set<string>): { Attributes?: Record<string, string> } {
    const all: Record<string, string> = {
      SentTimestamp: String(message.sentAt),
      ApproximateReceiveCount: String(message.receiveCount),
      ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt ?? message.sentAt),
    };
    const picked = Object.fromEntries(Object.entries(all).filter(([k]) => names.has('All') || names.has(k)));
    return Object.keys(picked).length > 0 ? { Attributes: picked } : {};
  }

  /**
   * DeleteMessage as SQS answers it: the latest receive's handle deletes; an older handle of the
   * same message is answered 200 and deletes nothing ("the request succeeds, but the message will
   * not be deleted": it comes back after its visibility timeout); a handle of a message already
   * deleted or gone is answered 200; one twelve hours old has expired; anything this queue did not
   * issue is ReceiptHandleIsInvalid.
   */
  private delete(input: Record<string, unknown>): SqsAnswer {
    const queue = this.queue(input);
    const handle = this.string(input, 'ReceiptHandle', true)!;
    const claims = this.readHandle(queue, handle);
    if (!claims) throw new SqsError('ReceiptHandleIsInvalid', 'ReceiptHandleIsInvalid', 404, `The input receipt handle "${handle}" is not a valid receipt handle.`);
    if (Date.now() >= claims.issuedAt + receiptLifetimeMs) throw invalid(`Value ${handle} for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired.`);
    const message = queue.messages.find((m) => m.id === claims.messageId);
    if (!message || message.receipt !== handle) {
      return { status: 200, body: {}, headers: {}, mutating: false, subject: `${queue.name} ${claims.messageId} ${message ? 'received again since: kept' : 'gone already'}` };
    }
    queue.messages = queue.messages.filter((m) => m !== message);
    this.sb.store.save();
    return { status: 200, body: {}, headers: {}, mutating: true, subject: `${queue.name} ${message.id}` };
  }

  private sendMessage(input: Record<string, unknown>): SqsAnswer {
    const queue = this.queue(input);
    const body = this.string(input, 'MessageBody', true)!;
    if (Buffer.byteLength(body) > 1024 * 1024) throw invalid('One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes.');
    // A delayed message stays hidden until its delay is over (the queue's own DelaySeconds is terraform's 0).
    const delay = this.integer(input, 'DelaySeconds', 0, 900, 0);
    const message = this.send(queue.url, body, delay);
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
    if (input.AttributeNames !== undefined && input.AttributeNames !== null && !Array.isArray(input.AttributeNames)) throw new SqsError('SerializationException', 'SerializationException', 400, 'AttributeNames must be a list of strings');
    const names = Array.isArray(input.AttributeNames) ? (input.AttributeNames as unknown[]) : [];
    for (const n of names) if (typeof n !== 'string' || (n !== 'All' && !(n in all))) throw new SqsError('InvalidAttributeName', 'InvalidAttributeName', 400, `Unknown Attribute ${String(n)}.`);
    const picked = names.includes('All') ? all : Object.fromEntries(Object.entries(all).filter(([k]) => names.includes(k)));
    return { status: 200, body: Object.keys(picked).length > 0 ? { Attributes: picked } : {}, headers: {}, mutating: false, subject: queue.name };
  }
}
