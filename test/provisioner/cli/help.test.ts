import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../../../bin/provisioner.mjs', import.meta.url));

function provisioner(...args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
}

describe('the provisioner command', () => {
  it('prints its usage and exits 0 with --help', () => {
    const run = provisioner('--help');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('Usage: provisioner');
    expect(run.stdout).toContain('--config');
  });

  it('rejects an unknown option with exit code 1', () => {
    const run = provisioner('--no-such-option');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("unknown option '--no-such-option'");
  });
});
