import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { QueueFormatError, readQueueItems } from '../../../provisioner/src/jenkins/queue.ts';
import { demandFromQueue, readWhy, type PoolServing, type QueueItem } from '../../../provisioner/src/plan/demand.ts';

const fixture = JSON.parse(readFileSync(new URL('../../fixtures/jenkins/queue.json', import.meta.url), 'utf8')) as unknown;
const T0 = 1795780800000;

const pools: PoolServing[] = [
  { name: 'awsDeploy', labels: ['awsDeploy', 'python', 'terraform'], scaled: true },
  { name: 'awsDeploy2', labels: ['awsDeploy2', 'python', 'docker'], scaled: true },
];
const nodePools = new Map<string, string | undefined>([
  ['awsDeploy-i-0123456789abcdef0', 'awsDeploy'],
  ['awsDeploy2-i-0fedcba9876543210', 'awsDeploy2'],
  ['mac-mini', undefined],
]);

let nextId = 1;
function waiting(why: string, extra: Partial<QueueItem> = {}): QueueItem {
  nextId += 1;
  return { id: nextId, task: `job-${nextId}`, why, buildable: true, blocked: false, pending: false, stuck: false, inQueueSince: T0, ...extra };
}

describe('the queue is read from queue/api/json as Jenkins exports it', () => {
  it('reads every item of the fixture with its kind of wait', () => {
    const items = readQueueItems(fixture);
    expect(items.map((i) => [i.id, i.buildable, i.blocked, i.pending])).toEqual([
      [205, false, false, false],
      [204, false, true, false],
      [203, true, false, false],
      [202, true, false, false],
      [201, true, false, false],
      [200, true, false, false],
      [199, true, false, false],
      [198, true, false, true],
    ]);
    expect(items[2]).toEqual({
      id: 203,
      task: 'bank-app » main #40 (Build and test)',
      why: 'Waiting for next available executor on ‘python’',
      buildable: true,
      blocked: false,
      pending: false,
      stuck: false,
      inQueueSince: T0 + 7000,
      buildableSince: T0 + 7001,
    });
    expect(items[0]?.buildableSince).toBeUndefined();
  });

  it('names every item and field that is not as Jenkins sends it', () => {
    const broken = {
      items: [
        { id: 1, why: 'x', buildable: true, blocked: false, inQueueSince: T0, task: { name: 'a' } },
        { id: '2', why: 3, buildable: 'yes', blocked: false, pending: false, inQueueSince: T0, task: {} },
        'item',
      ],
    };
    let caught: unknown;
    try {
      readQueueItems(broken);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(QueueFormatError);
    expect((caught as QueueFormatError).problems).toEqual([
      'items[0].pending: expected true or false on a buildable item, found nothing',
      'items[1].id: expected an integer, found "2"',
      'items[1].why: expected a string or null, found 3',
      'items[1].buildable: expected true or false, found "yes"',
      "items[1].task: expected an object with a 'name', found an object",
      'items[2]: expected an object, found "item"',
    ]);
  });

  it('refuses an answer that is not a queue', () => {
    expect(() => readQueueItems({ computer: [] })).toThrow("expected an object with an 'items' array, found an object");
    expect(() => readQueueItems(null)).toThrow('found null');
  });
});

describe('why an item waits is read from the words of Jenkins’ Messages.properties', () => {
  it.each([
    ['Waiting for next available executor on ‘python’', { kind: 'executor-on', target: 'python' }],
    ['Waiting for next available executor on ‘awsDeploy-i-0123456789abcdef0’', { kind: 'executor-on', target: 'awsDeploy-i-0123456789abcdef0' }],
    ['Waiting for next available executor on ‘terraform&&(awsDeploy||awsDeploy2)’', { kind: 'executor-on', target: 'terraform&&(awsDeploy||awsDeploy2)' }],
    ['There are no nodes with the label ‘docker’', { kind: 'label-empty', label: 'docker' }],
    ['All nodes of label ‘python&&!docker’ are offline', { kind: 'label-offline', label: 'python&&!docker' }],
    ['‘awsDeploy-i-0123456789abcdef0’ is offline', { kind: 'node-offline', node: 'awsDeploy-i-0123456789abcdef0' }],
    ['Waiting for next available executor', { kind: 'any-executor' }],
    ['Jenkins is about to shut down', { kind: 'shutting-down' }],
    // A label's name may itself hold the closing quote; the message's own end decides.
    ['There are no nodes with the label ‘it’s’', { kind: 'label-empty', label: 'it’s' }],
    // Several executors' reasons joined by "; " (CompositeCauseOfBlockage) name no single label or node.
    ['‘a’ is offline; ‘b’ is offline', { kind: 'other', text: '‘a’ is offline; ‘b’ is offline' }],
    ['‘a’ doesn’t have label ‘docker’; ‘b’ is offline', { kind: 'other', text: '‘a’ doesn’t have label ‘docker’; ‘b’ is offline' }],
    // Straight quotes are not Jenkins' words; nor is another language.
    ["Waiting for next available executor on 'python'", { kind: 'other', text: "Waiting for next available executor on 'python'" }],
    ['Warten auf den nächsten freien Build-Prozessor auf ‘python’', { kind: 'other', text: 'Warten auf den nächsten freien Build-Prozessor auf ‘python’' }],
    ['Build #41 is already in progress (ETA: 2 min 5 sec)', { kind: 'other', text: 'Build #41 is already in progress (ETA: 2 min 5 sec)' }],
  ])('%s', (why, wait) => {
    expect(readWhy(why)).toEqual(wait);
  });
});

describe('demand is attributed to the pool that serves what each item waits for', () => {
  it('counts the fixture: labels, an expression, a node, no label, and what is not demand', () => {
    const demand = demandFromQueue(readQueueItems(fixture), pools, nodePools);
    expect(demand.items.map((i) => [i.id, i.waitsFor, i.pool, i.candidates, i.unattributed])).toEqual([
      [203, 'python', 'awsDeploy', ['awsDeploy', 'awsDeploy2'], undefined],
      [202, 'docker', 'awsDeploy2', ['awsDeploy2'], undefined],
      [201, 'terraform&&awsDeploy', 'awsDeploy', ['awsDeploy'], undefined],
      [200, 'awsDeploy-i-0123456789abcdef0', 'awsDeploy', ['awsDeploy'], undefined],
      [199, undefined, undefined, [], 'no-label'],
    ]);
    expect(demand.pools).toEqual(
      new Map([
        ['awsDeploy', { items: 3, oldestSince: T0 + 4001 }],
        ['awsDeploy2', { items: 1, oldestSince: T0 + 6001 }],
      ]),
    );
    expect(demand.unattributed).toEqual(new Map([['no-label', 1]]));
    expect(demand.notDemand).toEqual({ waiting: 1, blocked: 1, pending: 1, shuttingDown: 0 });
  });

  it.each<[string, string, PoolServing[], string | undefined, string | undefined]>([
    // [why, case, pools, pool it counts for, unattributed reason]
    ['Waiting for next available executor on ‘python&&!docker’', 'an expression only one pool satisfies', pools, 'awsDeploy', undefined],
    ['Waiting for next available executor on ‘python||docker’', 'an expression both satisfy: the first in the file', pools, 'awsDeploy', undefined],
    ['Waiting for next available executor on ‘awsDeploy2||awsDeploy’', 'fleet order, not the expression’s order', pools, 'awsDeploy', undefined],
    ['All nodes of label ‘python’ are offline', 'a fixed pool first: the scaled one grows', [{ ...pools[0]!, scaled: false }, pools[1]!], 'awsDeploy2', undefined],
    ['All nodes of label ‘python’ are offline', 'only fixed pools: counted for the first', pools.map((p) => ({ ...p, scaled: false })), 'awsDeploy', undefined],
    ['There are no nodes with the label ‘windows’', 'a label no pool carries', pools, undefined, 'no-pool-serves-label'],
    ['There are no nodes with the label ‘!docker’', 'a negation', pools, 'awsDeploy', undefined],
    ['Waiting for next available executor on ‘mac-mini’', 'a node not of the fleet', pools, undefined, 'other-node'],
    ['‘mac-mini’ is offline', 'an offline node not of the fleet', pools, undefined, 'other-node'],
    ['‘awsDeploy2-i-0fedcba9876543210’ is offline', 'an offline node of the fleet', pools, 'awsDeploy2', undefined],
    ['‘awsDeploy2-i-0fedcba9876543210’ is offline', 'a node of a pool no longer in the file', [pools[0]!], undefined, 'other-node'],
    ['‘gone-node’ is offline', 'a node Jenkins no longer lists', pools, undefined, 'other-node'],
    ['Waiting for next available executor', 'no label at all', pools, undefined, 'no-label'],
    ['‘a’ is offline; ‘b’ is offline', 'several reasons', pools, undefined, 'unreadable-why'],
    ['Warten auf den nächsten freien Build-Prozessor', 'another language', pools, undefined, 'unreadable-why'],
  ])('%s (%s)', (why, _case, fleetPools, pool, reason) => {
    const demand = demandFromQueue([waiting(why)], fleetPools, nodePools);
    expect(demand.items[0]?.pool).toBe(pool);
    expect(demand.items[0]?.unattributed).toBe(reason);
    const counted = [...demand.pools.values()].reduce((sum, p) => sum + p.items, 0);
    expect(counted + [...demand.unattributed.values()].reduce((a, b) => a + b, 0)).toBe(1);
  });

  it('reads a label with spaces as Jenkins does: one atom', () => {
    const spaced: PoolServing[] = [{ name: 'mac', labels: ['mac os', 'xcode'], scaled: true }];
    expect(demandFromQueue([waiting('There are no nodes with the label ‘mac os’')], spaced, new Map()).pools.get('mac')?.items).toBe(1);
    expect(demandFromQueue([waiting('There are no nodes with the label ‘"mac os"&&xcode’')], spaced, new Map()).pools.get('mac')?.items).toBe(1);
  });

  it('counts one executor per item and keeps the longest wait, from when the item became buildable', () => {
    const items = [
      waiting('Waiting for next available executor on ‘docker’', { inQueueSince: T0 + 50, buildableSince: T0 + 60 }),
      waiting('Waiting for next available executor on ‘docker’', { inQueueSince: T0 + 10, buildableSince: T0 + 30 }),
      waiting('There are no nodes with the label ‘docker’', { inQueueSince: T0 + 20 }),
    ];
    expect(demandFromQueue(items, pools, nodePools).pools.get('awsDeploy2')).toEqual({ items: 3, oldestSince: T0 + 20 });
    expect(demandFromQueue(items, pools, nodePools).pools.get('awsDeploy')).toEqual({ items: 0 });
  });

  it('does not count items in the quiet period, blocked, handed to an executor, or held by a shutdown', () => {
    const items = [
      waiting('In the quiet period. Expires in 3 sec', { buildable: false }),
      waiting('Build #3 is already in progress', { buildable: false, blocked: true }),
      waiting('Waiting for next available executor on ‘docker’', { pending: true }),
      waiting('Jenkins is about to shut down'),
    ];
    const demand = demandFromQueue(items, pools, nodePools);
    expect(demand.notDemand).toEqual({ waiting: 1, blocked: 1, pending: 1, shuttingDown: 1 });
    expect(demand.items).toEqual([]);
    expect([...demand.pools.values()].every((p) => p.items === 0)).toBe(true);
  });
});
