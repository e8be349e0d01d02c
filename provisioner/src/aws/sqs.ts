// The interruption queue (SQS): EventBridge's EC2 Spot interruption warnings and rebalance
// recommendations, received in every tick and in `watch`'s one-second look between ticks, parsed
// into notices, deleted once acted on.
import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { queueUrlPattern } from '../config/schema.ts';
import { isNotice, parseNotice } from '../plan/interruptions.ts';
import type { InterruptionQueue, QueueMessage } from '../ports.ts';
import { awsRemoteError, sqsClient } from './clients.ts';
import { sqsSdk } from './sdk.ts';

/**
 * How long a received message stays hidden from other receives: long enough for one tick to drain
 * the agent, launch its replacement and delete the message; if the reader dies before deleting it,
 * the next reader (or the next leader) gets it again after this.
 */
export const visibilitySeconds = 60;

/**
 * Seconds the tick's receive waits for a message when none is there: 1, long polling (SQS then asks
 * every server, where a wait of 0 samples only some and may answer empty while messages wait), run
 * beside the tick's observation so it adds nothing. The look between ticks asks without waiting, to
 * keep its one-second cadence: a message one short poll misses, the next look or the tick finds.
 */
export const waitSeconds = 1;

export class SqsInterruptionQueue implements InterruptionQueue {
  readonly region: string;
  private readonly client: SQSClient;

  constructor(readonly url: string, fallbackRegion: string) {
    this.region = queueUrlPattern.exec(url)?.[1] ?? fallbackRegion;
    this.client = sqsClient(this.region);
  }

  async receive(briefly: boolean): Promise<QueueMessage[]> {
    const sdk = sqsSdk();
    try {
      const answer = await this.client.send(
        new sdk.ReceiveMessageCommand({ QueueUrl: this.url, MaxNumberOfMessages: 10, WaitTimeSeconds: briefly ? waitSeconds : 0, VisibilityTimeout: visibilitySeconds }),
      );
      return (answer.Messages ?? []).flatMap((m: Message): QueueMessage[] => {
        if (!m.ReceiptHandle) return [];
        const parsed = parseNotice(m.Body ?? '');
        return [{ receipt: m.ReceiptHandle, id: m.MessageId ?? '', ...(isNotice(parsed) ? { notice: parsed } : { ignored: parsed.ignored }) }];
      });
    } catch (err) {
      throw awsRemoteError(`receiving interruption notices from ${this.url}`, 'SQS', this.region, err);
    }
  }

  async delete(message: QueueMessage): Promise<void> {
    const sdk = sqsSdk();
    try {
      await this.client.send(new sdk.DeleteMessageCommand({ QueueUrl: this.url, ReceiptHandle: message.receipt }));
    } catch (err) {
      throw awsRemoteError(`deleting message ${message.id} from ${this.url}`, 'SQS', this.region, err);
    }
  }
}
