// EC2's notices that a Spot instance is about to go, in the provisioner's words: the EventBridge
// events read from SQS (parsed here, exactly as the EC2 user guide documents them), and the words a
// drain for one leaves on the Jenkins node, which are how a restarted `watch` (or the next leader)
// knows the agent is interrupted. Pure.

/**
 * - `warning`: EC2 Spot Instance Interruption Warning: EC2 stops, hibernates or terminates the
 *   instance two minutes after the event's time.
 * - `rebalance`: EC2 Instance Rebalance Recommendation: the instance is at elevated risk; nothing
 *   is taken away yet.
 */
export type NoticeKind = 'warning' | 'rebalance';

export interface InterruptionNotice {
  kind: NoticeKind;
  instanceId: string;
  /** The event's `time` (epoch ms): when EC2 issued it. */
  at: number;
  /** The warning's `instance-action`: terminate, stop or hibernate. */
  action?: 'terminate' | 'stop' | 'hibernate';
  region?: string;
}

/** The EventBridge `detail-type` of each notice (EC2 user guide: spot-instance-termination-notices, rebalance-recommendations). */
export const noticeDetailTypes: Record<NoticeKind, string> = {
  warning: 'EC2 Spot Instance Interruption Warning',
  rebalance: 'EC2 Instance Rebalance Recommendation',
};

/** How long EC2 gives between the warning and the interruption (the user guide's "two minutes"). */
export const warningLeadMs = 120_000;

const instanceIdPattern = /^i-[0-9a-f]{8,17}$/;

/**
 * One SQS message body: the EventBridge event as EventBridge delivers it to an SQS target (the event
 * JSON itself). A notice, or the reason it is not one (another source or detail-type, a malformed
 * body): such a message is no notice of this fleet's and is deleted by the caller.
 */
export function parseNotice(body: string): InterruptionNotice | { ignored: string } {
  let event: unknown;
  try {
    event = JSON.parse(body);
  } catch {
    return { ignored: 'not JSON' };
  }
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return { ignored: 'not an EventBridge event' };
  const e = event as Record<string, unknown>;
  if (e.source !== 'aws.ec2') return { ignored: `source ${JSON.stringify(e.source)}, not aws.ec2` };
  const kind = (Object.keys(noticeDetailTypes) as NoticeKind[]).find((k) => noticeDetailTypes[k] === e['detail-type']);
  if (!kind) return { ignored: `detail-type ${JSON.stringify(e['detail-type'])}` };
  const detail = e.detail as Record<string, unknown> | undefined;
  const instanceId = detail?.['instance-id'];
  if (typeof instanceId !== 'string' || !instanceIdPattern.test(instanceId)) return { ignored: `detail.instance-id ${JSON.stringify(instanceId)} is no instance id` };
  const at = typeof e.time === 'string' ? Date.parse(e.time) : NaN;
  if (!Number.isFinite(at)) return { ignored: `time ${JSON.stringify(e.time)} is no timestamp` };
  const notice: InterruptionNotice = { kind, instanceId, at };
  if (typeof e.region === 'string') notice.region = e.region;
  if (kind === 'warning') {
    const action = detail?.['instance-action'];
    if (action !== 'terminate' && action !== 'stop' && action !== 'hibernate') return { ignored: `detail.instance-action ${JSON.stringify(action)}` };
    notice.action = action;
  }
  return notice;
}

export function isNotice(parsed: InterruptionNotice | { ignored: string }): parsed is InterruptionNotice {
  return 'kind' in parsed;
}

/** The reason a drain for a notice gives (inside drainMessage): names the notice and when it came. */
export function interruptionDrainReason(notice: Pick<InterruptionNotice, 'kind' | 'at' | 'action'>): string {
  const when = new Date(notice.at).toISOString();
  return notice.kind === 'warning'
    ? `EC2 Spot interruption warning at ${when} (instance-action ${notice.action ?? 'terminate'} within 2 minutes)`
    : `EC2 rebalance recommendation at ${when} (the Spot instance is at elevated risk of interruption)`;
}

/** The notice a node's offline reason records, if a drain for one wrote it. */
export function parseInterruptionReason(reason: string | undefined): { kind: NoticeKind; at: number } | undefined {
  const match = /EC2 (Spot interruption warning|rebalance recommendation) at (\d{4}-\d\d-\d\dT[\d:.]+Z)/.exec(reason ?? '');
  if (!match) return undefined;
  const at = Date.parse(match[2] as string);
  return Number.isFinite(at) ? { kind: match[1] === 'rebalance recommendation' ? 'rebalance' : 'warning', at } : undefined;
}

/** Of two notices for one instance, the one that says more: a warning outranks a rebalance recommendation. */
export function strongerNotice<N extends { kind: NoticeKind; at: number }>(a: N | undefined, b: N): N {
  if (!a) return b;
  if (a.kind !== b.kind) return a.kind === 'warning' ? a : b;
  return a.at <= b.at ? a : b;
}
