// `npm start` (scripts/quickstart.mjs) as a newcomer runs it: sandbox up, the example fleet up,
// status, down, sandbox stopped, nothing left behind.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const script = new URL('../../scripts/quickstart.mjs', import.meta.url).pathname;

describe('npm start', () => {
  it('brings the example fleet up, shows it, takes it down and cleans up', { timeout: 180_000 }, async () => {
    // A temporary directory of its own, so that another run of the tour at the same moment cannot look like a leftover.
    const scratch = mkdtempSync(join(tmpdir(), 'quickstart-test-'));
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: scratch, TMPDIR: scratch } });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => { out += c; });
    child.stderr!.on('data', (c: Buffer) => { out += c; });
    const code = await new Promise((r) => child.once('close', r));
    expect(code, out).toBe(0);
    // As the least-privilege service account, not as an administrator.
    expect(out).toContain('JENKINS_USER=provisioner');
    expect(out).toMatch(/Done in \d+s: fleet bank-ci matches fleet.yaml/);
    expect(out).toMatch(/Pool awsDeploy: 2 wanted, 2 present, 2 online/);
    expect(out).toMatch(/Pool awsDeploy2: 2 wanted, 2 present, 2 online/);
    expect(out).toContain('Done: fleet bank-ci removed.');
    // Standard output and error are pipes here, as in CI: no terminal control code (ESC) in either.
    expect(out.includes('\x1b'), 'an ESC byte in the output of npm start through a pipe').toBe(false);
    expect(readdirSync(scratch).filter((f) => f.startsWith('jenkins-fleet-quickstart-'))).toEqual([]);
  });
});
