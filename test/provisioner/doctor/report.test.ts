// The doctor's report: one line per check, each problem under its check, a closing count.
import { describe, expect, it } from 'vitest';
import { formatReport, toReport } from '../../../provisioner/src/doctor/report.ts';

describe("the doctor's report", () => {
  const checks = [
    { name: 'labels' as const, title: 'labels are served', problems: [], notes: ['4 stages, 2 pools'] },
    { name: 'plugins' as const, title: 'plugins are listed', problems: ['a needs b', 'c needs d'], notes: ['9 needed'] },
  ];

  it('counts the problems and is ok only without any', () => {
    expect(toReport(checks)).toMatchObject({ ok: false, problems: 2, checks: [{ name: 'labels', ok: true }, { name: 'plugins', ok: false }] });
    expect(toReport([checks[0]!])).toMatchObject({ ok: true, problems: 0 });
  });

  it('prints ok or FAIL per check, the problems under a failed one, and the total', () => {
    expect(formatReport(toReport(checks))).toBe(
      [
        'ok   labels   labels are served (4 stages, 2 pools)',
        'FAIL plugins  plugins are listed',
        '       - a needs b',
        '       - c needs d',
        'doctor: 2 problems found',
        'next: correct the problems above, then run `provisioner doctor` again',
        '',
      ].join('\n'),
    );
    expect(formatReport(toReport([checks[0]!]))).toMatch(/doctor: no problems found\nnext: `provisioner plan` shows what `provisioner up` will do; then `provisioner up`\n$/);
  });

  it('shows what to fill in before a deploy as todo, which is no problem, and says so at the end', () => {
    const todo = { name: 'values' as const, title: 'values are filled', problems: [], notes: ['compared'], todo: ['fleet.yaml x is the example'] };
    const report = toReport([checks[0]!, todo]);
    expect(report).toMatchObject({ ok: true, problems: 0, todo: 1, checks: [{ status: 'ok' }, { status: 'todo', ok: true }] });
    expect(formatReport(report)).toBe(
      [
        'ok   labels  labels are served (4 stages, 2 pools)',
        'todo values  values are filled (compared)',
        '       - fleet.yaml x is the example',
        'doctor: no problems found; 1 thing to fill in before a deploy',
        'next: fill in what the todo lines name, then run `provisioner doctor` again',
        '',
      ].join('\n'),
    );
  });

  it('says which check it skipped and why, and that checking it is what comes next', () => {
    const skipped = { name: 'controller' as const, title: 'the live controller', problems: [], notes: [], skipped: 'JENKINS_URL is not set' };
    const report = toReport([checks[0]!, skipped]);
    expect(report.checks[1]).toMatchObject({ status: 'skip', ok: true, skipped: 'JENKINS_URL is not set' });
    expect(formatReport(report)).toContain('skip controller  the live controller (not checked: JENKINS_URL is not set)\n');
    expect(report.next).toMatch(/^set JENKINS_URL and JENKINS_API_TOKEN/);
  });
});
