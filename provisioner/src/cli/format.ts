// How plans and status read for a person (failures: progress.ts): one line per action, Terraform-style
// markers (+ make, ~ repair, - take away), and a summary line.
import type { Action, Plan, RemoveAction } from '../plan/plan.ts';
import { formatAge } from '../plan/plan.ts';
import type { FleetStatus } from '../plan/status.ts';

export function describeAction(action: Action): string {
  switch (action.type) {
    case 'launch':
      return `+ launch ${action.count} instance${action.count === 1 ? '' : 's'} of pool ${action.pool} in ${action.subnetId} (${action.region})`;
    case 'register':
      return `+ register ${action.node} and bootstrap it (${action.reason})`;
    case 'bootstrap':
      return `~ bootstrap ${action.node} again (${action.reason})`;
    case 'resume':
      return `~ take ${action.node} back online (${action.reason})`;
    case 'remove':
      return describeRemoval(action);
    case 'delete-node':
      return `- delete node ${action.node} (${action.reason})`;
    case 'delete-secret':
      return `- delete parameter ${action.name} (instance ${action.instanceId} is gone)`;
    case 'delete-launch-template':
      return `- delete launch template ${action.name} (${action.region}; ${action.reason})`;
  }
}

function describeRemoval(action: RemoveAction): string {
  const busy = action.busy ? '; busy: waits for its build' : '';
  switch (action.target) {
    case 'instance': {
      const what = action.node ? `${action.node} and terminate ${action.instanceId}` : action.instanceId;
      return `- drain and remove ${what} (${action.reason}${action.detail ? `: ${action.detail}` : ''}${busy})`;
    }
    case 'host':
      return `- drain and remove ${action.node ?? action.hostId} (${action.reason}${busy})`;
    case 'node':
      return `- drain and remove ${action.node} (${action.reason}${busy})`;
  }
}

export function summarizePlan(plan: Plan): string {
  if (plan.actions.length === 0) return 'No changes: the fleet matches fleet.yaml.';
  const count = (...types: Action['type'][]) =>
    plan.actions.filter((a) => types.includes(a.type)).reduce((n, a) => n + (a.type === 'launch' ? a.count : 1), 0);
  return (
    `Plan: ${count('launch')} to launch, ${count('register')} to register, ${count('bootstrap', 'resume')} to repair, ` +
    `${count('remove')} to remove, ${count('delete-node', 'delete-secret', 'delete-launch-template')} to clean up.`
  );
}

export function formatPlan(plan: Plan): string {
  const lines = plan.actions.map((a) => `  ${describeAction(a)}`);
  return [...lines, summarizePlan(plan)].join('\n');
}

export function formatStatus(status: FleetStatus): string {
  const out: string[] = [`Fleet ${status.fleet}`];
  for (const pool of status.pools) {
    const online = pool.agents.filter((a) => a.online).length;
    out.push('', `Pool ${pool.name}: ${pool.desired} wanted, ${pool.agents.length} present, ${online} online`);
    if (pool.agents.length === 0) continue;
    const rows = pool.agents.map((a) => [
      a.name ?? '(no node)',
      a.instanceId ?? '-',
      a.instanceState ?? '-',
      a.online ? 'online' : a.heldOfflineBy === 'jenkins' ? 'offline by Jenkins' : a.temporarilyOffline ? 'drained' : 'offline',
      a.idle ? 'idle' : 'busy',
      a.privateIp ?? '-',
      a.ageSeconds === null ? '-' : formatAge(a.ageSeconds * 1000),
    ]);
    out.push(...table(['NODE', 'INSTANCE', 'STATE', 'AGENT', 'BUILDS', 'ADDRESS', 'AGE'], rows).map((l) => `  ${l}`));
    // Why each offline agent is offline, in the words of whoever took it offline (a monitor's, a person's, ours).
    for (const a of pool.agents) if (a.name && a.offlineReason) out.push(`  ${a.name}: ${a.offlineReason.replace(/\s+/g, ' ')}`);
  }
  const { instances, nodes } = status.orphans;
  out.push('', instances.length + nodes.length === 0 ? 'Orphans: none' : 'Orphans:');
  for (const id of instances) out.push(`  instance ${id} (tagged with the fleet, no Jenkins node or no pool)`);
  for (const name of nodes) out.push(`  node ${name} (managed by the fleet, no instance)`);
  return out.join('\n');
}

function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(head), ...rows.map(line)];
}
