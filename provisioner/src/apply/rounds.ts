// `up` as rounds: a plan is carried out, and while a pool is still replacing out-of-date agents
// (a rolling replacement), the world is observed and planned again and the next round carried
// out. Nothing is remembered between rounds but what the systems show, so a run killed in any
// round is taken up by the next run where it stopped.
import type { Fleet, Observed } from '../model.ts';
import { planUp, type Action, type Plan } from '../plan/plan.ts';
import { applyPlan, type ApplyOptions, type Systems } from './apply.ts';
import type { Failure } from './events.ts';

export interface RoundsResult {
  failures: Failure[];
  online: string[];
  /** Every round's actions, in order. */
  applied: Action[];
  /** The last round's plan and the observation it was made from. */
  last: { plan: Plan; observed: Observed };
  rounds: number;
}

export async function applyInRounds(
  fleet: Fleet,
  first: { plan: Plan; observed: Observed },
  systems: Systems,
  options: ApplyOptions & { observe: () => Promise<Observed> },
): Promise<RoundsResult> {
  const now = options.now ?? Date.now;
  const failures: Failure[] = [];
  const online: string[] = [];
  const applied: Action[] = [];
  let last = first;
  for (let round = 1; ; round++) {
    const result = await applyPlan(fleet, last.plan, systems, options);
    online.push(...result.online);
    failures.push(...result.failures);
    applied.push(...last.plan.actions);
    if (result.failures.length > 0 || (last.plan.rollouts ?? []).length === 0) return { failures, online, applied, last, rounds: round };
    const observed = await options.observe();
    const next = planUp(fleet, observed);
    if ((next.rollouts ?? []).length === 0 && next.actions.length === 0) return { failures, online, applied, last: { plan: next, observed }, rounds: round };
    // A round that would do nothing, or exactly what the last one did, makes no progress: say why instead of looping.
    const stalled = next.actions.length === 0 || JSON.stringify(next.actions) === JSON.stringify(last.plan.actions);
    const late = now() >= options.deadline;
    if (stalled || late) {
      for (const rollout of next.rollouts ?? []) {
        const why = rollout.waiting ?? (late ? 'the timeout came first' : 'the last round changed nothing');
        failures.push({ pool: rollout.pool, step: 'replace', error: `${rollout.outdated} agent(s) still out of date${late ? ' at the timeout' : ''}: ${why}` });
      }
      return { failures, online, applied, last: { plan: next, observed }, rounds: round };
    }
    const summary = (next.rollouts ?? []).map((r) => `pool ${r.pool}: ${r.outdated} out of date, ${r.launching} to launch, ${r.retiring} to take away`).join('; ');
    options.reporter.event({ kind: 'note', message: `rolling replacement, round ${round + 1}: ${summary}` });
    last = { plan: next, observed };
  }
}
