// How `doctor` shows its findings: one line per check (ok / FAIL) with its problems under it, or
// the same as JSON with --json. Pure: the command decides where it goes and the exit code.
import type { CheckResult } from './checks.ts';

export interface DoctorReport {
  ok: boolean;
  problems: number;
  checks: { name: string; ok: boolean; title: string; problems: string[]; notes: string[] }[];
}

export function toReport(checks: CheckResult[]): DoctorReport {
  const rows = checks.map((c) => ({ name: c.name, ok: c.problems.length === 0, title: c.title, problems: c.problems, notes: c.notes }));
  const problems = rows.reduce((n, r) => n + r.problems.length, 0);
  return { ok: problems === 0, problems, checks: rows };
}

export function formatReport(report: DoctorReport): string {
  const lines: string[] = [];
  const width = Math.max(...report.checks.map((c) => c.name.length));
  for (const check of report.checks) {
    const notes = check.notes.length > 0 ? ` (${check.notes.join('; ')})` : '';
    lines.push(`${check.ok ? 'ok  ' : 'FAIL'} ${check.name.padEnd(width)}  ${check.title}${check.ok ? notes : ''}`);
    for (const problem of check.problems) lines.push(`       - ${problem}`);
  }
  lines.push(report.ok ? 'doctor: no problems found' : `doctor: ${report.problems} problem${report.problems === 1 ? '' : 's'} found`);
  return `${lines.join('\n')}\n`;
}
