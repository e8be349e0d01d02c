// `doctor` and `library` work on the repository they are started in, not on the one the CLI was
// installed from: started in another directory, they read and write there.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../../../bin/provisioner.mjs', import.meta.url));

function inDirectory(cwd: string, ...args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', env: { ...process.env, JENKINS_URL: '' } });
}

describe('the repository commands', () => {
  it('doctor checks the repository of the current directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'doctor-cwd-'));
    copyFileSync(new URL('../../../fleet.yaml', import.meta.url), join(dir, 'fleet.yaml'));
    const run = inDirectory(dir, 'doctor');
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('jenkins/casc.yaml: missing');
    expect(run.stdout).toContain('Jenkinsfile: missing');
  });

  it('library reads the deploy\'s Terraform from the current directory and writes nothing elsewhere', () => {
    const dir = mkdtempSync(join(tmpdir(), 'library-cwd-'));
    copyFileSync(new URL('../../../fleet.yaml', import.meta.url), join(dir, 'fleet.yaml'));
    const run = inDirectory(dir, 'library');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('library.jenkinsfile.terraformDir terraform/app cannot be read as a Terraform module');
    expect(existsSync(join(dir, 'vars'))).toBe(false);
  });
});
