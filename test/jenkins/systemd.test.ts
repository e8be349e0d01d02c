// The systemd unit that runs `provisioner watch` as a service: systemd itself accepts it, and every
// option it passes is one the CLI has.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
const unit = join(root, 'jenkins/systemd/jenkins-fleet-watch.service');

describe('jenkins/systemd/jenkins-fleet-watch.service', () => {
  it('passes systemd-analyze verify', () => {
    const probe = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
    if (probe.error) throw new Error('systemd-analyze is missing: install the Debian package systemd (scripts/system-packages.txt)');
    const dir = mkdtempSync(join(tmpdir(), 'unit-'));
    copyFileSync(unit, join(dir, 'jenkins-fleet-watch.service'));
    const run = spawnSync('systemd-analyze', ['verify', join(dir, 'jenkins-fleet-watch.service')], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr.trim()).toBe('');
  });

  it("runs watch with options the CLI has, restarts it, and carries no secret", () => {
    const text = readFileSync(unit, 'utf8');
    const exec = /^ExecStart=(.*)$/m.exec(text)![1]!.split(/\s+/);
    expect(exec.slice(0, 2)).toEqual(['/usr/bin/node', '/opt/jenkins-fleet/bin/provisioner.mjs']);
    const watchAt = exec.indexOf('watch');
    expect(watchAt).toBeGreaterThan(1);
    const help = spawnSync(process.execPath, [join(root, 'bin/provisioner.mjs'), 'watch', '--help'], { encoding: 'utf8' });
    expect(help.status, help.stderr).toBe(0);
    for (const flag of exec.slice(watchAt + 1).filter((a) => a.startsWith('--'))) expect(help.stdout).toContain(flag);
    expect(text).toMatch(/^Restart=always$/m);
    expect(text).not.toMatch(/JENKINS_API_TOKEN|AWS_SECRET_ACCESS_KEY|AWS_ACCESS_KEY_ID/);
  });
});
