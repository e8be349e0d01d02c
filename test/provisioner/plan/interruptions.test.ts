import { describe, expect, it } from 'vitest';
import { interruptionDrainReason, isNotice, parseInterruptionReason, parseNotice, strongerNotice } from '../../../provisioner/src/plan/interruptions.ts';
import { drainMessage } from '../../../provisioner/src/plan/plan.ts';
import { decideScaling, emptyMemory, unreplaced, type ObservedAgent, type PoolDecision, type ScalingMemory, type ScalingPolicy } from '../../../provisioner/src/plan/scale.ts';

const NOW = Date.UTC(2026, 10, 28, 12, 0, 0);
const S = 1_000;
const MIN = 60 * S;

// The events as the EC2 user guide prints them (spot-instance-termination-notices, rebalance-recommendations).
const warning = {
  version: '0',
  id: '12345678-1234-1234-1234-123456789012',
  'detail-type': 'EC2 Spot Instance Interruption Warning',
  source: 'aws.ec2',
  account: '123456789012',
  time: '2026-11-28T12:00:00Z',
  region: 'us-east-2',
  resources: ['arn:aws:ec2:us-east-2:123456789012:instance/i-1234567890abcdef0'],
  detail: { 'instance-id': 'i-1234567890abcdef0', 'instance-action': 'terminate' },
};
const rebalance = {
  version: '0',
  id: '12345678-1234-1234-1234-123456789012',
  'detail-type': 'EC2 Instance Rebalance Recommendation',
  source: 'aws.ec2',
  account: '123456789012',
  time: '2026-11-28T11:59:00Z',
  region: 'us-east-2',
  resources: ['arn:aws:ec2:us-east-2:123456789012:instance/i-1234567890abcdef0'],
  detail: { 'instance-id': 'i-1234567890abcdef0' },
};

describe('interruption notices', () => {
  it('read the warning and the rebalance recommendation exactly as EventBridge delivers them', () => {
    expect(parseNotice(JSON.stringify(warning))).toEqual({ kind: 'warning', instanceId: 'i-1234567890abcdef0', at: NOW, action: 'terminate', region: 'us-east-2' });
    expect(parseNotice(JSON.stringify(rebalance))).toEqual({ kind: 'rebalance', instanceId: 'i-1234567890abcdef0', at: NOW - MIN, region: 'us-east-2' });
  });

  it('say why a message is no notice: another source or detail-type, no instance id, no time, an unknown action, not JSON', () => {
    const ignored = (body: unknown) => {
      const parsed = parseNotice(typeof body === 'string' ? body : JSON.stringify(body));
      expect(isNotice(parsed)).toBe(false);
      return (parsed as { ignored: string }).ignored;
    };
    expect(ignored({ ...warning, source: 'aws.autoscaling' })).toMatch(/source "aws.autoscaling"/);
    expect(ignored({ ...warning, 'detail-type': 'EC2 Instance State-change Notification' })).toMatch(/detail-type/);
    expect(ignored({ ...warning, detail: { 'instance-action': 'terminate' } })).toMatch(/instance-id/);
    expect(ignored({ ...warning, time: 'soon' })).toMatch(/time "soon"/);
    expect(ignored({ ...warning, detail: { 'instance-id': 'i-1234567890abcdef0', 'instance-action': 'explode' } })).toMatch(/instance-action "explode"/);
    expect(ignored('{"Records":')).toBe('not JSON');
    expect(ignored('[]')).toMatch(/not an EventBridge event/);
  });

  it('are recorded in the drain message and read back from it, so a restarted watch knows them', () => {
    const message = drainMessage('bank-ci', interruptionDrainReason({ kind: 'warning', at: NOW, action: 'terminate' }));
    expect(message).toMatch(/by provisioner \(fleet bank-ci\): EC2 Spot interruption warning at 2026-11-28T12:00:00.000Z/);
    expect(parseInterruptionReason(message)).toEqual({ kind: 'warning', at: NOW });
    expect(parseInterruptionReason(drainMessage('bank-ci', interruptionDrainReason({ kind: 'rebalance', at: NOW })))).toEqual({ kind: 'rebalance', at: NOW });
    expect(parseInterruptionReason(drainMessage('bank-ci', 'idle for 10m, not needed'))).toBeUndefined();
  });

  it('a warning outranks a rebalance recommendation for the same instance', () => {
    expect(strongerNotice({ kind: 'rebalance', at: NOW - MIN }, { kind: 'warning', at: NOW })).toEqual({ kind: 'warning', at: NOW });
    expect(strongerNotice({ kind: 'warning', at: NOW }, { kind: 'rebalance', at: NOW + MIN })).toEqual({ kind: 'warning', at: NOW });
  });
});

function policy(over: Partial<ScalingPolicy> = {}): ScalingPolicy {
  return { pool: 'awsDeploy', min: 0, max: 3, minIdle: 0, idleAfter: 10 * MIN, minUptime: 0, ephemeral: false, executorsPerAgent: 2, launchesPerTick: 10, bootDeadline: 10 * MIN, retryBudget: 3, retryAfter: 15 * MIN, ...over };
}

function agent(name: string, phase: ObservedAgent['phase'], over: Partial<ObservedAgent> = {}): ObservedAgent {
  return { name, phase, launchedAt: NOW - 30 * MIN, executors: 2, busy: 0, hasRun: false, ...over };
}

function decide(p: ScalingPolicy, demand: number, agents: ObservedAgent[], memory: ScalingMemory = emptyMemory(), now = NOW): { decision: PoolDecision; memory: ScalingMemory } {
  const { decisions, memory: next } = decideScaling([{ policy: p, demand, agents }], memory, now);
  return { decision: decisions[0] as PoolDecision, memory: next };
}

const interrupted = (at = NOW - 2 * S) => ({ kind: 'warning' as const, at });

describe('the scaler, for interrupted agents', () => {
  it('launches a replacement at once for a busy interrupted agent, even at max, and leaves its build alone', () => {
    const { decision } = decide(policy({ max: 2 }), 0, [agent('a', 'drained', { busy: 1, interrupted: interrupted(), drainedAt: NOW - 2 * S }), agent('b', 'online', { busy: 2 })]);
    expect(decision.launch).toBe(1);
    expect(decision.remove).toEqual([]);
    expect(decision.resume).toEqual([]);
    expect(decision.numbers.interrupted).toBe(1);
    expect(decision.reason).toMatch(/launch 1: replacing 1 interrupted/);
  });

  it('launches no second replacement while the first boots, nor after it came online', () => {
    const leaving = agent('a', 'drained', { busy: 1, interrupted: interrupted(NOW - 10 * S), drainedAt: NOW - 10 * S });
    expect(decide(policy(), 0, [leaving, agent('r', 'launching', { launchedAt: NOW - 8 * S })]).decision.launch).toBe(0);
    expect(decide(policy(), 0, [leaving, agent('r', 'online', { launchedAt: NOW - 8 * S })]).decision.launch).toBe(0);
    // An agent that was there before the notice is no replacement.
    expect(decide(policy(), 0, [leaving, agent('old', 'online', { launchedAt: NOW - MIN })]).decision.launch).toBe(1);
  });

  it('never takes an interrupted agent back online, even with builds waiting', () => {
    const { decision } = decide(policy({ max: 5 }), 4, [agent('a', 'drained', { interrupted: interrupted(), drainedAt: NOW - 2 * S })]);
    expect(decision.resume).toEqual([]);
    expect(decision.launch).toBe(2); // four builds on agents of two executors: the interrupted one counts for none
  });

  it('removes an interrupted agent once drained past a maintenance cycle with no build, at once if its agent never connected', () => {
    expect(decide(policy(), 0, [agent('a', 'drained', { interrupted: interrupted(), drainedAt: NOW - 2 * S })]).decision.remove).toEqual([]);
    expect(decide(policy(), 0, [agent('a', 'drained', { interrupted: interrupted(NOW - 10 * S), drainedAt: NOW - 10 * S })]).decision.remove).toEqual([{ agent: 'a', why: 'interrupted' }]);
    expect(decide(policy(), 0, [agent('a', 'drained', { busy: 1, interrupted: interrupted(NOW - 10 * S), drainedAt: NOW - 10 * S })]).decision.remove).toEqual([]);
    expect(decide(policy(), 0, [agent('a', 'connecting', { interrupted: interrupted() })]).decision.remove).toEqual([{ agent: 'a', why: 'interrupted' }]);
  });

  it('a rebalance recommendation drains and replaces but waits for the builds like a warning does', () => {
    const { decision } = decide(policy(), 0, [agent('a', 'drained', { busy: 2, interrupted: { kind: 'rebalance', at: NOW - 10 * S }, drainedAt: NOW - 10 * S })]);
    expect(decision.launch).toBe(1);
    expect(decision.remove).toEqual([]);
  });

  it('pairs replacements with notices, earliest first', () => {
    const a = agent('a', 'drained', { interrupted: interrupted(NOW - 20 * S) });
    const b = agent('b', 'drained', { interrupted: interrupted(NOW - 5 * S) });
    expect(unreplaced([a, b], [agent('r', 'launching', { launchedAt: NOW - 10 * S })])).toBe(1);
    expect(unreplaced([a, b], [agent('r', 'launching', { launchedAt: NOW - 30 * S })])).toBe(2);
    expect(unreplaced([a, b], [agent('r1', 'launching', { launchedAt: NOW - 4 * S }), agent('r2', 'online', { launchedAt: NOW - 3 * S })])).toBe(0);
  });
});
