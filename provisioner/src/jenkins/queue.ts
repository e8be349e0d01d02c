// The build queue as Jenkins exports it on `queue/api/json` (Queue.getItems: WaitingItem,
// BlockedItem, BuildableItem), read into the provisioner's QueueItem. Pure: the controller adapter
// fetches the JSON (with `Accept-Language: en`, since `why` is localised) and hands it here.
import type { QueueItem } from '../plan/demand.ts';

/**
 * What the controller exports for one queue item, with the `tree=` `watch` asks for; the full
 * answer has these fields too.
 */
export const queueTree = 'items[id,why,buildable,blocked,pending,stuck,inQueueSince,buildableStartMilliseconds,task[name,url]]';

/** The queue's answer is not what Jenkins sends; each problem names the item and field. */
export class QueueFormatError extends Error {
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`the build queue's answer is not Jenkins' Queue format: ${problems.join('; ')}`);
    this.name = 'QueueFormatError';
    this.problems = problems;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads `queue/api/json` (full, or with `queueTree`); throws QueueFormatError naming every bad field. */
export function readQueueItems(json: unknown): QueueItem[] {
  if (!isObject(json) || !Array.isArray(json.items)) {
    throw new QueueFormatError([`expected an object with an 'items' array, found ${describe(json)}`]);
  }
  const problems: string[] = [];
  const items: QueueItem[] = [];
  json.items.forEach((raw: unknown, index: number) => {
    const where = `items[${index}]`;
    if (!isObject(raw)) {
      problems.push(`${where}: expected an object, found ${describe(raw)}`);
      return;
    }
    const bad = (field: string, expected: string) => problems.push(`${where}.${field}: expected ${expected}, found ${describe(raw[field])}`);
    const { id, why, buildable, blocked, pending, stuck, inQueueSince, buildableStartMilliseconds, task } = raw;
    const before = problems.length;
    if (typeof id !== 'number' || !Number.isInteger(id)) bad('id', 'an integer');
    if (why !== null && typeof why !== 'string') bad('why', 'a string or null');
    if (typeof buildable !== 'boolean') bad('buildable', 'true or false');
    if (typeof blocked !== 'boolean') bad('blocked', 'true or false');
    // Only a BuildableItem has `pending`; one without it cannot be told apart from a started one.
    if (buildable === true ? typeof pending !== 'boolean' : pending !== undefined && typeof pending !== 'boolean') bad('pending', 'true or false on a buildable item');
    if (stuck !== undefined && typeof stuck !== 'boolean') bad('stuck', 'true or false');
    if (typeof inQueueSince !== 'number') bad('inQueueSince', 'epoch milliseconds');
    if (buildableStartMilliseconds !== undefined && typeof buildableStartMilliseconds !== 'number') bad('buildableStartMilliseconds', 'epoch milliseconds');
    if (!isObject(task) || typeof task.name !== 'string') bad('task', "an object with a 'name'");
    if (problems.length > before) return;
    items.push({
      id: id as number,
      task: (task as { name: string }).name,
      why: why as string | null,
      buildable: buildable as boolean,
      blocked: blocked as boolean,
      pending: pending === true,
      stuck: stuck === true,
      inQueueSince: inQueueSince as number,
      ...(typeof buildableStartMilliseconds === 'number' ? { buildableSince: buildableStartMilliseconds } : {}),
    });
  });
  if (problems.length > 0) throw new QueueFormatError(problems);
  return items;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}
