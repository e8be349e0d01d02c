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
        '',
      ].join('\n'),
    );
    expect(formatReport(toReport([checks[0]!]))).toMatch(/doctor: no problems found\n$/);
  });
});
