// EC2's Spot interruption notices, on demand (`POST /_sandbox/instances/ID/interrupt`): the
// EventBridge event each rule of terraform/jenkins matches, put in the interruption queue as a rule's
// SQS target puts it (the event JSON as the body); and, for a warning, the instance reclaimed when
// its notice time is up (two minutes, as EC2 gives; `--interruption-notice` for tests), its builds
// losing their agent. Pending reclaims are kept in the instance, so a restarted sandbox still does them.
import { randomUUID } from 'node:crypto';
import type { JenkinsStandIn } from './jenkins.ts';
import type { SqsStandIn } from './sqs.ts';
import type { Instance } from './state.ts';
import { instanceState, type Sandbox } from './world.ts';

export type NoticeKind = 'warning' | 'rebalance';

/** The event as the EC2 user guide documents it (spot-instance-termination-notices, rebalance-recommendations). */
export function noticeEvent(sb: Sandbox, instance: Instance, kind: NoticeKind, at: number): Record<string, unknown> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': kind === 'warning' ? 'EC2 Spot Instance Interruption Warning' : 'EC2 Instance Rebalance Recommendation',
    source: 'aws.ec2',
    account: sb.accountId,
    // EventBridge's time: seconds, UTC (yyyy-mm-ddThh:mm:ssZ).
    time: new Date(Math.floor(at / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: sb.region,
    resources: [`arn:aws:ec2:${sb.region}:${sb.accountId}:instance/${instance.id}`],
    detail: kind === 'warning' ? { 'instance-id': instance.id, 'instance-action': 'terminate' } : { 'instance-id': instance.id },
  };
}

export class Interruptions {
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly sb: Sandbox,
    private readonly sqs: SqsStandIn,
    private readonly jenkins: JenkinsStandIn,
    readonly queueUrl: string,
    /** From the warning to the reclaim. */
    readonly noticeMs: number,
  ) {}

  /** Reclaims due while the sandbox was stopped happen now; the others at their time. */
  resume(): void {
    for (const instance of this.sb.store.world.instances) if (instance.interruption && instance.terminatedAt === undefined) this.schedule(instance);
  }

  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /** Issues a notice for a running Spot instance; a problem is one sentence (the caller answers 409 or 404). */
  interrupt(instanceId: string, kind: NoticeKind): { event: Record<string, unknown>; terminateAt?: number } | { status: number; error: string } {
    const instance = this.sb.store.world.instances.find((i) => i.id === instanceId);
    const state = instance ? instanceState(this.sb, instance) : undefined;
    if (!instance || state === undefined) return { status: 404, error: `interrupt: no instance ${instanceId}` };
    if (instance.lifecycle !== 'spot') return { status: 409, error: `interrupt: ${instanceId} is an On-Demand instance; EC2 interrupts only Spot instances` };
    if (state !== 'running' && state !== 'pending') return { status: 409, error: `interrupt: ${instanceId} is ${state}` };
    if (kind === 'warning' && instance.interruption) return { status: 409, error: `interrupt: ${instanceId} was warned already; EC2 reclaims it at ${new Date(instance.interruption.terminateAt).toISOString()}` };
    const now = Date.now();
    const event = noticeEvent(this.sb, instance, kind, now);
    if (kind === 'warning') {
      instance.interruption = { warnedAt: now, terminateAt: now + this.noticeMs };
      this.schedule(instance);
    } else {
      instance.rebalancedAt = now;
    }
    this.sqs.send(this.queueUrl, JSON.stringify(event));
    this.sb.store.save();
    return { event, ...(instance.interruption && kind === 'warning' ? { terminateAt: instance.interruption.terminateAt } : {}) };
  }

  private schedule(instance: Instance): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.reclaim(instance);
    }, Math.max(0, instance.interruption!.terminateAt - Date.now()));
    timer.unref();
    this.timers.add(timer);
  }

  private reclaim(instance: Instance): void {
    if (instance.terminatedAt !== undefined) return; // terminated by its owner meanwhile
    instance.terminatedAt = instance.interruption!.terminateAt;
    instance.terminatedBy = 'spot-interruption';
    // Builds first, so that the agent's drop (onTerminate) finds them already lost to the interruption.
    const suffix = `-${instance.id}`;
    for (const node of new Set(this.jenkins.queue.list().flatMap((b) => (b.node?.endsWith(suffix) && b.result === null ? [b.node] : [])))) this.jenkins.queue.instanceInterrupted(node, instance.terminatedAt);
    this.sb.onTerminate(instance);
    this.sb.store.save();
  }
}
