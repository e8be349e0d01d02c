// Demand for agents, per pool, from the build queue: which items wait for an executor, and for
// which pool. Jenkins exports the label an item waits for only inside `why`, worded by its
// Messages.properties; this module reads those words back and matches the label against each
// pool's labels. Pure: the queue and the nodes come in, counts go out.
import { labelMatches, labelName, readLabel } from './labels.ts';

/** One item of the build queue, as far as demand for agents goes (read by jenkins/queue.ts). */
export interface QueueItem {
  id: number;
  /** The task's name: a job, or for a Pipeline's `node` step "part of JOB #N". */
  task: string;
  /** Why it waits, worded by Jenkins (CauseOfBlockage.getShortDescription); null only for items that left. */
  why: string | null;
  /** Out of its quiet period and not blocked: it waits for an executor only. */
  buildable: boolean;
  /** Held back by something other than executors (a build in progress, a throttle, ...). */
  blocked: boolean;
  /** Already handed to an executor that has not started it yet. */
  pending: boolean;
  stuck: boolean;
  /** Epoch milliseconds it entered the queue. */
  inQueueSince: number;
  /** Epoch milliseconds it left the quiet period (BlockedItem and BuildableItem only). */
  buildableSince?: number;
}

/**
 * What a buildable item waits for, read from `why` (Queue.BuildableItem.getCauseOfBlockage):
 * - `executor-on`: "Waiting for next available executor on ‘X’" — X is the label's name, or the
 *   name of its only node (CauseOfBlockage.BecauseLabelIsBusy / BecauseNodeIsBusy);
 * - `label-empty`: "There are no nodes with the label ‘X’" (BecauseLabelIsOffline, no node, no cloud);
 * - `label-offline`: "All nodes of label ‘X’ are offline" (BecauseLabelIsOffline);
 * - `node-offline`: "‘N’ is offline" — the label's only node is offline (BecauseNodeIsOffline);
 * - `any-executor`: "Waiting for next available executor" — no label, or no agent node at all;
 * - `shutting-down`: "Jenkins is about to shut down";
 * - `other`: anything else (several reasons joined by "; ", a plugin's reason, another language).
 */
export type Wait =
  | { kind: 'executor-on'; target: string }
  | { kind: 'label-empty'; label: string }
  | { kind: 'label-offline'; label: string }
  | { kind: 'node-offline'; node: string }
  | { kind: 'any-executor' }
  | { kind: 'shutting-down' }
  | { kind: 'other'; text: string };

// hudson/model/Messages.properties (English), with its curly quotes U+2018 and U+2019.
const whyPatterns: Array<[RegExp, (x: string) => Wait]> = [
  [/^Waiting for next available executor on \u2018(.*)\u2019$/s, (target) => ({ kind: 'executor-on', target })],
  [/^There are no nodes with the label \u2018(.*)\u2019$/s, (label) => ({ kind: 'label-empty', label })],
  [/^All nodes of label \u2018(.*)\u2019 are offline$/s, (label) => ({ kind: 'label-offline', label })],
  // A node's name has no ';' (Jenkins.checkGoodName), which tells this from several reasons joined by "; ".
  [/^\u2018([^;]*)\u2019 is offline$/s, (node) => ({ kind: 'node-offline', node })],
];

/** Reads a buildable item's `why` into what it waits for. */
export function readWhy(why: string): Wait {
  for (const [pattern, make] of whyPatterns) {
    const match = pattern.exec(why);
    if (match) return make(match[1] as string);
  }
  if (why === 'Waiting for next available executor') return { kind: 'any-executor' };
  if (why === 'Jenkins is about to shut down') return { kind: 'shutting-down' };
  return { kind: 'other', text: why };
}

/** A pool as demand sees it: its name and labels, and whether `watch` may scale it (it has a `max`). */
export interface PoolServing {
  name: string;
  labels: readonly string[];
  scaled: boolean;
}

/** Why an item waiting for an executor was given to no pool (never guessed: counted). */
export type UnattributedReason =
  /** No label asked (or Jenkins has no agent node at all, so it names none). */
  | 'no-label'
  /** Waits for a node that is not one of the fleet's. */
  | 'other-node'
  /** Waits for a label that no pool of the fleet carries. */
  | 'no-pool-serves-label'
  /** `why` is not one of the texts above (several reasons, a plugin's, another language). */
  | 'unreadable-why';

export interface AttributedItem {
  id: number;
  task: string;
  wait: Wait;
  /** The label's canonical name, or the node's name, the item waits for, when `why` names one. */
  waitsFor?: string;
  /** The pool it counts for; absent when unattributed. */
  pool?: string;
  /** Every pool that could serve it, fleet order (the first scaled one gets it). */
  candidates: string[];
  unattributed?: UnattributedReason;
  /** Epoch milliseconds since it has been waiting for an executor. */
  waitingSince: number;
}

export interface PoolDemand {
  /** Items waiting for an executor of this pool: each needs one executor. */
  items: number;
  /** Epoch milliseconds of the longest-waiting one. */
  oldestSince?: number;
}

export interface Demand {
  pools: Map<string, PoolDemand>;
  unattributed: Map<UnattributedReason, number>;
  /** Items that are not demand: in their quiet period, blocked, handed to an executor, or held by a shutdown. */
  notDemand: { waiting: number; blocked: number; pending: number; shuttingDown: number };
  /** Every buildable, unblocked, not pending item, attributed or not (for metrics per label). */
  items: AttributedItem[];
}

/**
 * Demand per pool. `pools` in the fleet file's order; `nodePools` names every node Jenkins has,
 * with its pool when it is one of the fleet's (undefined otherwise). An item whose label several
 * pools carry counts once, for the first of them `watch` scales (else the first), so two pools
 * never both grow for one build.
 */
export function demandFromQueue(items: readonly QueueItem[], pools: readonly PoolServing[], nodePools: ReadonlyMap<string, string | undefined>): Demand {
  const demand: Demand = {
    pools: new Map(pools.map((p) => [p.name, { items: 0 }])),
    unattributed: new Map(),
    notDemand: { waiting: 0, blocked: 0, pending: 0, shuttingDown: 0 },
    items: [],
  };
  const scaled = new Set(pools.filter((p) => p.scaled).map((p) => p.name));
  const knownAtoms = new Set([...pools.flatMap((p) => p.labels), ...nodePools.keys()]);

  const forLabel = (text: string): Pick<AttributedItem, 'waitsFor' | 'candidates' | 'unattributed'> => {
    const label = readLabel(text, knownAtoms);
    const candidates = pools.filter((p) => labelMatches(label, p.labels)).map((p) => p.name);
    return { waitsFor: labelName(label), candidates, ...(candidates.length === 0 ? { unattributed: 'no-pool-serves-label' as const } : {}) };
  };
  const poolNames = new Set(pools.map((p) => p.name));
  const forNode = (node: string): Pick<AttributedItem, 'waitsFor' | 'candidates' | 'unattributed'> => {
    const pool = nodePools.get(node);
    // A node of a pool no longer in the file is on its way out: nothing to grow for it.
    return pool === undefined || !poolNames.has(pool) ? { waitsFor: node, candidates: [], unattributed: 'other-node' } : { waitsFor: node, candidates: [pool] };
  };

  for (const item of items) {
    if (item.blocked) {
      demand.notDemand.blocked += 1;
      continue;
    }
    if (!item.buildable) {
      demand.notDemand.waiting += 1;
      continue;
    }
    if (item.pending) {
      demand.notDemand.pending += 1;
      continue;
    }
    const wait = readWhy(item.why ?? '');
    if (wait.kind === 'shutting-down') {
      demand.notDemand.shuttingDown += 1;
      continue;
    }
    let found: Pick<AttributedItem, 'waitsFor' | 'candidates' | 'unattributed'>;
    switch (wait.kind) {
      case 'executor-on':
        // A node's name when the label has exactly one node, else the label's name.
        found = nodePools.has(wait.target) ? forNode(wait.target) : forLabel(wait.target);
        break;
      case 'node-offline':
        found = forNode(wait.node);
        break;
      case 'label-empty':
      case 'label-offline':
        found = forLabel(wait.label);
        break;
      case 'any-executor':
        found = { candidates: [], unattributed: 'no-label' };
        break;
      case 'other':
        found = { candidates: [], unattributed: 'unreadable-why' };
        break;
    }
    const waitingSince = item.buildableSince ?? item.inQueueSince;
    const pool = found.candidates.find((c) => scaled.has(c)) ?? found.candidates[0];
    const attributed: AttributedItem = { id: item.id, task: item.task, wait, ...found, waitingSince, ...(pool !== undefined ? { pool } : {}) };
    demand.items.push(attributed);
    if (pool !== undefined) {
      const counted = demand.pools.get(pool) ?? { items: 0 };
      counted.items += 1;
      counted.oldestSince = Math.min(counted.oldestSince ?? waitingSince, waitingSince);
      demand.pools.set(pool, counted);
    } else if (found.unattributed) {
      demand.unattributed.set(found.unattributed, (demand.unattributed.get(found.unattributed) ?? 0) + 1);
    }
  }
  return demand;
}
