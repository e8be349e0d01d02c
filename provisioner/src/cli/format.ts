// How plans and status read for a person (failures: progress.ts): one line per action, Terraform-style
// markers (+ make, ~ repair, - take away), and a summary line.
import type { Action, AgentDrift, Plan, RemoveAction, Rollout } from '../plan/plan.ts';
import { formatAge } from '../plan/plan.ts';
import type { FleetStatus } from '../plan/status.ts';

export function describeAction(action: Action, force = false): string {
  switch (action.type) {
    case 'launch': {
      const instances = `${action.count} instance${action.count === 1 ? '' : 's'} of pool ${action.pool}`;
      const replacing = action.replacing ? ', replacing out-of-date agents' : '';
      if (!action.capacity) return `+ launch ${instances} in ${action.subnetId} (${action.region})${replacing}`;
      const fallback = action.capacity === 'spot-then-on-demand' ? ', On-Demand for what Spot cannot give' : '';
      return `+ launch ${instances} on Spot (${action.region}; CreateFleet across every type and subnet${fallback})${replacing}`;
    }
    case 'reconfigure':
      return `~ update node ${action.node} in place (${action.changes.map((c) => c.field).join(', ')}; its builds go on)`;
    case 'register':
      return `+ register ${action.node} and bootstrap it (${action.reason})`;
    case 'bootstrap':
      return `~ bootstrap ${action.node} again (${action.reason})`;
    case 'resume':
      return `~ take ${action.node} back online (${action.reason})`;
    case 'remove':
      return describeRemoval(action, force);
    case 'delete-node':
      return `- delete node ${action.node} (${action.reason})`;
    case 'delete-secret':
      return `- delete parameter ${action.name} (instance ${action.instanceId} is gone)`;
    case 'delete-launch-template':
      return `- delete launch template ${action.name} (${action.region}; ${action.reason})`;
  }
}

function describeRemoval(action: RemoveAction, force = false): string {
  const busy = !action.busy ? '' : force ? '; busy: removed without waiting for its build (--force)' : '; busy: waits for its build';
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
  const drift = plan.drift ?? [];
  if (plan.actions.length === 0 && drift.length === 0) return 'No changes: the fleet matches fleet.yaml.';
  const count = (...types: Action['type'][]) =>
    plan.actions.filter((a) => types.includes(a.type)).reduce((n, a) => n + (a.type === 'launch' ? a.count : 1), 0);
  const replace = drift.filter((d) => d.how === 'replace').length;
  return (
    `Plan: ${count('launch')} to launch, ${count('register')} to register, ${count('bootstrap', 'resume')} to repair, ` +
    `${count('reconfigure')} to update in place, ${count('remove')} to remove, ${count('delete-node', 'delete-secret', 'delete-launch-template')} to clean up` +
    `${replace > 0 ? `; ${replace} out of date, replaced in rounds` : ''}.`
  );
}

/** One agent's differences, a line per field, as Terraform shows an attribute: `field: from -> to`. */
function describeDrift(drift: AgentDrift): string[] {
  const how = drift.how === 'update' ? '~ update in place' : '-/+ replace';
  return [`  ${how} ${drift.agent}`, ...drift.changes.map((c) => `      ${c.field}: ${JSON.stringify(c.from)} -> ${JSON.stringify(c.to)}`)];
}

function describeRollout(rollout: Rollout): string {
  const round = `this round: ${rollout.launching} to launch, ${rollout.retiring} to take away`;
  return `  pool ${rollout.pool}: ${rollout.outdated} out of date, replaced at most ${rollout.maxSurge} beyond count and ${rollout.maxUnavailable} out of service at a time; ${round}${rollout.waiting ? `; ${rollout.waiting}` : ''}`;
}

export function formatPlan(plan: Plan, options: { force?: boolean } = {}): string {
  const drift = plan.drift ?? [];
  const rolling = plan.rollouts ?? [];
  const differences = drift.length === 0 ? [] : ['Differences from fleet.yaml:', ...drift.flatMap(describeDrift)];
  const rollouts = rolling.length === 0 ? [] : ['Rolling replacement:', ...rolling.map(describeRollout)];
  const actions = plan.actions.length === 0 ? [] : [...(differences.length > 0 ? ['Actions:'] : []), ...plan.actions.map((a) => `  ${describeAction(a, options.force)}`)];
  return [...differences, ...rollouts, ...actions, summarizePlan(plan)].join('\n');
}

export function formatStatus(status: FleetStatus): string {
  const out: string[] = [`Fleet ${status.fleet}`];
  for (const pool of status.pools) {
    const online = pool.agents.filter((a) => a.online).length;
    const wanted = pool.scaled ? `${pool.scaled.min}..${pool.scaled.max} (scaled by watch)` : `${pool.desired} wanted`;
    out.push('', `Pool ${pool.name}: ${wanted}, ${pool.agents.length} present, ${online} online`);
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
