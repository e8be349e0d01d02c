// `provisioner doctor` over a copy of the repository's files: it passes as they are, and each
// broken variant (one thing changed) fails naming that problem.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkRepository, type CheckResult } from '../../provisioner/src/doctor/checks.ts';
import { readRepository } from '../../provisioner/src/doctor/repository.ts';
import type { DoctorReport } from '../../provisioner/src/doctor/report.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin/provisioner.mjs');

let repo: string;

/** Copies the files doctor reads into a temporary repository. */
function copyRepository(): string {
  const dir = mkdtempSync(join(tmpdir(), 'doctor-'));
  for (const file of ['jenkins/casc.yaml', 'jenkins/plugins.txt', 'jenkins/Dockerfile', 'Jenkinsfile', 'fleet.yaml']) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    cpSync(join(root, file), join(dir, file), { dereference: true });
  }
  cpSync(join(root, 'vars'), join(dir, 'vars'), { recursive: true });
  return dir;
}

/** Replaces `from` with `to` in one file of the copy; fails if `from` is not there. */
function edit(file: string, from: string | RegExp, to: string) {
  const path = join(repo, file);
  const text = readFileSync(path, 'utf8');
  const changed = text.replace(from, to);
  if (changed === text) throw new Error(`test setup: '${from}' not found in ${file}`);
  writeFileSync(path, changed);
}

async function doctor(): Promise<CheckResult[]> {
  return checkRepository(await readRepository(repo, join(repo, 'fleet.yaml'), {}));
}

async function problemsOf(name: CheckResult['name']): Promise<string[]> {
  const checks = await doctor();
  const check = checks.find((c) => c.name === name);
  if (!check) throw new Error(`no check named ${name}`);
  return check.problems;
}

function cli(...args: string[]) {
  const env = { ...process.env };
  delete env.JENKINS_URL;
  return spawnSync(process.execPath, [bin, '--config', join(repo, 'fleet.yaml'), 'doctor', '--root', repo, ...args], { encoding: 'utf8', env });
}

beforeEach(() => {
  repo = copyRepository();
});
afterEach(() => rmSync(repo, { recursive: true, force: true }));

describe('provisioner doctor on the repository', () => {
  it('finds no problem and exits 0', () => {
    const run = cli();
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('doctor: no problems found');
    for (const name of ['fleet', 'labels', 'tools', 'library', 'credentials', 'account', 'plugins', 'fresh']) expect(run.stdout).toMatch(new RegExp(`^ok +${name} `, 'm'));
    expect(run.status).toBe(0);
  });

  it('prints the same report as JSON with --json', () => {
    const run = cli('--json');
    const report = JSON.parse(run.stdout) as DoctorReport;
    expect(report.ok).toBe(true);
    expect(report.problems).toBe(0);
    expect(report.checks.map((c) => c.name)).toEqual(['fleet', 'labels', 'tools', 'library', 'credentials', 'account', 'plugins', 'fresh']);
    expect(run.status).toBe(0);
  });

  it('looks at every stage and at the library in three places', async () => {
    const checks = await doctor();
    expect(checks.find((c) => c.name === 'labels')?.notes[0]).toMatch(/^[1-9]\d* stages, 2 pools$/);
    expect(checks.find((c) => c.name === 'library')?.notes[0]).toBe('loads bank-pipeline@v1.0.0');
  });
});

describe('provisioner doctor on a broken copy', () => {
  it('names a stage whose label no pool serves, and exits 1', () => {
    edit('Jenkinsfile', "agent { label 'docker' }", "agent { label 'windows && docker' }");
    const run = cli();
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/^FAIL labels/m);
    expect(run.stdout).toContain("stage 'Image' runs on label 'windows && docker', which no pool in fleet.yaml serves");
    // The Jenkinsfile is generated: the hand edit also makes it stale.
    expect(run.stdout).toMatch(/^FAIL fresh/m);
    expect(run.stdout).toContain('doctor: 2 problems found');
    expect(run.stderr).toBe('error: doctor found 2 problems\n');
  });

  it('names the step, tool and pool when a pool serving the stage lacks the tool', async () => {
    // awsDeploy keeps its terraform label but no longer installs terraform.
    edit('fleet.yaml', 'tools: [terraform, python]', 'tools: [python]');
    const problems = await problemsOf('tools');
    expect(problems.length).toBeGreaterThanOrEqual(1);
    for (const problem of problems) {
      expect(problem).toMatch(/stage '(Plan|Deploy)' calls terraformApply, which needs terraform, but pool awsDeploy serves label 'terraform'/);
    }
  });

  it('names a step whose tool is missing on one of several pools serving its label', async () => {
    // Both pools carry the `python` label, so builds may land on either: both must have python.
    edit('fleet.yaml', 'tools: [docker, python]', 'tools: [docker]');
    const problems = await problemsOf('tools');
    expect(problems.some((p) => p.includes("calls buildApp, which needs python, but pool awsDeploy2 serves label 'python'"))).toBe(true);
    expect(problems.every((p) => !p.includes('pool awsDeploy '))).toBe(true);
  });

  it('names a Jenkinsfile that gives @Library a version casc.yaml does not let it override, even the default one', async () => {
    edit('Jenkinsfile', "@Library('bank-pipeline') _", "@Library('bank-pipeline@v1.0.0') _");
    const problems = await problemsOf('library');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^Jenkinsfile:\d+ @Library\('bank-pipeline@v1\.0\.0'\) names a version, but jenkins\/casc\.yaml unclassified\.globalLibraries\.libraries\[0\] has allowVersionOverride: false: .*"Version override not permitted for library bank-pipeline"\); write @Library\('bank-pipeline'\) _$/);
  });

  it('names a Jenkinsfile that loads a library fleet.yaml does not render', async () => {
    edit('Jenkinsfile', "@Library('bank-pipeline') _", "@Library('other-lib') _");
    expect(await problemsOf('library')).toEqual([
      expect.stringMatching(/^Jenkinsfile:\d+ @Library\('other-lib'\) loads library 'other-lib' but fleet\.yaml library names 'bank-pipeline'$/),
    ]);
  });

  it('names casc.yaml when its library version differs from fleet.yaml, when it allows overrides, or has no default', async () => {
    edit('jenkins/casc.yaml', 'defaultVersion: v1.0.0', 'defaultVersion: main');
    edit('jenkins/casc.yaml', 'allowVersionOverride: false', 'allowVersionOverride: true');
    let problems = await problemsOf('library');
    expect(problems).toContain('jenkins/casc.yaml unclassified.globalLibraries.libraries[0] pins bank-pipeline to main but fleet.yaml library renders it for v1.0.0');
    expect(problems.some((p) => p.includes('allowVersionOverride must be false'))).toBe(true);
    edit('jenkins/casc.yaml', /\n\s*defaultVersion: main/, '');
    problems = await problemsOf('library');
    expect(problems).toContain('jenkins/casc.yaml unclassified.globalLibraries.libraries[0]: no defaultVersion, so @Library(\'bank-pipeline\') fails with "No version specified for library bank-pipeline"');
  });

  it('names a library credential id that casc.yaml does not define', async () => {
    edit('fleet.yaml', 'credentialsId: dockerhub', 'credentialsId: docker-hub-push');
    const problems = await problemsOf('credentials');
    expect(problems).toContain(
      "fleet.yaml library.docker.credentialsId uses credential 'docker-hub-push', which jenkins/casc.yaml does not define (defined: dockerhub, aws-deploy, github, github-webhook-secret)",
    );
  });

  it('names a credential casc.yaml itself uses but does not define', async () => {
    edit('jenkins/casc.yaml', 'id: github\n', 'id: github-token\n');
    const problems = await problemsOf('credentials');
    expect(problems.some((p) => p.startsWith("jenkins/casc.yaml uses credential 'github', which jenkins/casc.yaml does not define"))).toBe(true);
  });

  it('names a permission casc.yaml takes from the service account, or gives it beyond its needs', async () => {
    edit('jenkins/casc.yaml', /( +)- "Agent\/Delete"\n/, '');
    edit('jenkins/casc.yaml', /( +)- "Agent\/Disconnect"\n/, '$1- "Agent/Disconnect"\n$1- "Job/Build"\n');
    expect(await problemsOf('account')).toEqual([
      'jenkins/casc.yaml jenkins.authorizationStrategy.globalMatrix.entries does not grant provisioner Agent/Delete, which the provisioner needs',
      'jenkins/casc.yaml jenkins.authorizationStrategy.globalMatrix.entries grants provisioner Job/Build directly: more than the provisioner needs',
    ]);
  });

  it('counts what every logged-in user gets as granted to the service account', async () => {
    edit('jenkins/casc.yaml', 'name: developers', 'name: authenticated');
    const problems = await problemsOf('account');
    expect(problems).toContain(
      'jenkins/casc.yaml jenkins.authorizationStrategy.globalMatrix.entries grants provisioner Job/Build through the group authenticated: more than the provisioner needs',
    );
  });

  it('names the account fleet.yaml uses when casc.yaml gives it nothing', async () => {
    edit('fleet.yaml', 'user: provisioner', 'user: ci-bot');
    expect(await problemsOf('account')).toHaveLength(6);
  });

  it('names a plugin the library or the Jenkinsfile needs that plugins.txt lacks', async () => {
    edit('jenkins/plugins.txt', /^lockable-resources:.*\n/m, '');
    edit('jenkins/plugins.txt', /^timestamper:.*\n/m, '');
    const problems = await problemsOf('plugins');
    expect(problems).toContain('vars/terraformApply.groovy needs plugin lockable-resources for lock, which jenkins/plugins.txt does not list');
    expect(problems).toContain('Jenkinsfile needs plugin timestamper for timestamps(), which jenkins/plugins.txt does not list');
  });

  it('names a generated file edited by hand', async () => {
    edit('vars/dockerPush.groovy', "credentialsId: 'dockerhub'", "credentialsId: 'dockerhub2'");
    const checks = await doctor();
    expect(checks.find((c) => c.name === 'fresh')?.problems).toEqual([
      'vars/dockerPush.groovy: differs from what dockerPush.groovy.hbs renders; run `npx provisioner library`',
    ]);
    // The edited default is also an undefined credential.
    expect(checks.find((c) => c.name === 'credentials')?.problems[0]).toMatch(/^vars\/dockerPush\.groovy uses credential 'dockerhub2'/);
  });

  it('names a plugin casc.yaml needs that plugins.txt lacks', async () => {
    edit('jenkins/plugins.txt', /^job-dsl:.*\n/m, '');
    edit('jenkins/plugins.txt', /^matrix-auth:.*\n/m, '');
    const problems = await problemsOf('plugins');
    expect(problems).toEqual([
      'jenkins/casc.yaml needs plugin job-dsl for casc.yaml jobs, which jenkins/plugins.txt does not list',
      'jenkins/casc.yaml needs plugin matrix-auth for matrix authorization in casc.yaml, which jenkins/plugins.txt does not list',
    ]);
  });

  it('names a plugin that is not pinned', async () => {
    edit('jenkins/plugins.txt', /^timestamper:.*$/m, 'timestamper:latest');
    expect(await problemsOf('plugins')).toEqual(['jenkins/plugins.txt:23: timestamper is not pinned (latest); give an exact version']);
  });

  it('reports an invalid fleet.yaml as a problem and still checks the rest', async () => {
    edit('fleet.yaml', 'count: 2', 'count: many');
    const checks = await doctor();
    expect(checks.find((c) => c.name === 'fleet')?.problems[0]).toMatch(/pools\[0\]\.count/);
    expect(checks.find((c) => c.name === 'plugins')?.problems).toEqual([]);
  });

  it('names a missing file', async () => {
    rmSync(join(repo, 'Jenkinsfile'));
    expect(await problemsOf('labels')).toContain('Jenkinsfile: missing');
    expect((await problemsOf('fresh'))[0]).toMatch(/^Jenkinsfile: missing/);
  });
});
