// How `doctor` shows its findings: one line per check (ok / todo / skip / FAIL) with its problems
// or to-dos under it, a closing count and what to do next, or the same as JSON with --json. Pure:
// the command decides where it goes and the exit code.
import type { CheckResult } from './checks.ts';

export type CheckStatus = 'ok' | 'todo' | 'skip' | 'fail';

export interface DoctorReport {
  ok: boolean;
  problems: number;
  /** Things to fill in before a deploy: not problems of the repository, but a deploy would fail on them. */
  todo: number;
  checks: { name: string; status: CheckStatus; ok: boolean; title: string; problems: string[]; todo: string[]; skipped?: string; notes: string[] }[];
  /** What to do after reading this report. */
  next: string;
}

function statusOf(check: CheckResult): CheckStatus {
  if (check.problems.length > 0) return 'fail';
  if (check.skipped !== undefined) return 'skip';
  if ((check.todo ?? []).length > 0) return 'todo';
  return 'ok';
}

function nextStep(rows: DoctorReport['checks'], problems: number, todo: number): string {
  if (problems > 0) return 'correct the problems above, then run `provisioner doctor` again';
  if (todo > 0) return 'fill in what the todo lines name, then run `provisioner doctor` again';
  const skipped = rows.find((r) => r.status === 'skip');
  if (skipped) return `set JENKINS_URL and JENKINS_API_TOKEN (the service account's) and run \`provisioner doctor\` again to check the live controller`;
  return '`provisioner plan` shows what `provisioner up` will do; then `provisioner up`';
}

export function toReport(checks: CheckResult[]): DoctorReport {
  const rows = checks.map((c) => {
    const status = statusOf(c);
    return {
      name: c.name,
      status,
      ok: status !== 'fail',
      title: c.title,
      problems: c.problems,
      todo: c.todo ?? [],
      ...(c.skipped !== undefined ? { skipped: c.skipped } : {}),
      notes: c.notes,
    };
  });
  const problems = rows.reduce((n, r) => n + r.problems.length, 0);
  const todo = rows.reduce((n, r) => n + r.todo.length, 0);
  return { ok: problems === 0, problems, todo, checks: rows, next: nextStep(rows, problems, todo) };
}

const mark: Record<CheckStatus, string> = { ok: 'ok  ', todo: 'todo', skip: 'skip', fail: 'FAIL' };

export function formatReport(report: DoctorReport): string {
  const lines: string[] = [];
  const width = Math.max(...report.checks.map((c) => c.name.length));
  for (const check of report.checks) {
    const notes = check.notes.length > 0 ? ` (${check.notes.join('; ')})` : '';
    const tail = check.status === 'skip' ? ` (not checked: ${check.skipped})` : check.status === 'fail' ? '' : notes;
    lines.push(`${mark[check.status]} ${check.name.padEnd(width)}  ${check.title}${tail}`);
    for (const problem of check.problems) lines.push(`       - ${problem}`);
    for (const item of check.todo) lines.push(`       - ${item}`);
  }
  const found = report.ok ? 'doctor: no problems found' : `doctor: ${report.problems} problem${report.problems === 1 ? '' : 's'} found`;
  lines.push(report.todo > 0 ? `${found}; ${report.todo} thing${report.todo === 1 ? '' : 's'} to fill in before a deploy` : found);
  lines.push(`next: ${report.next}`);
  return `${lines.join('\n')}\n`;
}
