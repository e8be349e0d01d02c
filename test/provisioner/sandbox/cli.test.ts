// `provisioner sandbox` as a user runs it: foreground process, export lines on stdout and in
// DIR/env, clean stop on SIGTERM, `sandbox busy`, `sandbox build` and `sandbox builds`, and flags
// checked with clear errors.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jenkinsClient } from '../../support/sandbox.ts';

const bin = new URL('../../../bin/provisioner.mjs', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'sandbox-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function startCli(args: string[]): Promise<{ child: ReturnType<typeof spawn>; env: Record<string, string>; stdout: string }> {
  const child = spawn(process.execPath, [bin, 'sandbox', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let stdout = '';
    child.stdout!.on('data', (c: Buffer) => {
      stdout += c;
      if (stdout.includes('AWS_SECRET_ACCESS_KEY')) {
        const env = Object.fromEntries([...stdout.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
        resolve({ child, env, stdout });
      }
    });
    child.once('exit', (code) => reject(new Error(`sandbox exited early with ${code}`)));
  });
}

describe('provisioner sandbox', () => {
  it('prints the exports, writes DIR/env, answers, marks agents busy and stops on SIGTERM', async () => {
    const state = join(dir, 'state');
    const { child, env, stdout } = await startCli(['--state', state, '--boot-delay', '0.5s']);
    expect(Object.keys(env)).toEqual(['JENKINS_URL', 'JENKINS_USER', 'JENKINS_API_TOKEN', 'AWS_REGION', 'AWS_ENDPOINT_URL_EC2', 'AWS_ENDPOINT_URL_SSM', 'AWS_ENDPOINT_URL_DYNAMODB', 'AWS_ENDPOINT_URL_SQS', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']);
    expect(readFileSync(join(state, 'env'), 'utf8')).toBe(stdout);
    const jenkins = jenkinsClient(env.JENKINS_URL!, env.JENKINS_USER!, env.JENKINS_API_TOKEN!);
    await jenkins.node.create({ name: 'awsDeploy-i-00000000000000001', launcher: { 'stapler-class': 'hudson.slaves.JNLPLauncher', webSocket: true } });
    const offline = spawnSync(process.execPath, [bin, 'sandbox', 'busy', 'awsDeploy-i-00000000000000001', '--state', state], { encoding: 'utf8' });
    expect(offline.status).toBe(1);
    expect(offline.stderr).toContain('is offline: a build cannot run on it');
    const cli = (...args: string[]) => spawnSync(process.execPath, [bin, 'sandbox', ...args, '--state', state], { encoding: 'utf8' });
    const queued = cli('build', 'awsDeploy && terraform', '--count', '2', '--duration', '1s');
    expect(queued.status, queued.stderr).toBe(0);
    expect(queued.stdout).toBe('queued builds #1 #2 for label awsDeploy && terraform\n');
    const listed = cli('builds', '--json');
    expect(listed.status, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([1, 2].map((id) => ({ id, queueId: expect.any(Number), label: 'awsDeploy && terraform', queuedAt: expect.any(Number), startedAt: null, finishedAt: null, node: null, result: null })));
    const table = cli('builds');
    expect(table.stdout.split('\n')[0]).toMatch(/^BUILD\s+LABEL\s+QUEUED\s+STARTED\s+FINISHED\s+NODE\s+RESULT$/);
    expect(table.stdout).toMatch(/#1\s+awsDeploy && terraform\s+\S+\s+-\s+-\s+-\s+queued/);
    const bad = cli('build', 'x', '--count', 'many');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('--count: expected a whole number of builds from 1 to 1000, found "many"');
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('names the flag and what it expected when a flag is wrong (exit 1)', () => {
    const r = spawnSync(process.execPath, [bin, 'sandbox', '--state', join(dir, 'x'), '--throttle-ec2', 'lots'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('--throttle-ec2: expected a rate from 0 to 1 (or a percentage such as 10%), found "lots"');
    const d = spawnSync(process.execPath, [bin, 'sandbox', '--state', join(dir, 'x'), '--boot-delay', 'soon'], { encoding: 'utf8' });
    expect(d.stderr).toContain('--boot-delay: expected a duration such as 1500, 1500ms, 1.5s or 2m, found "soon"');
    const k = spawnSync(process.execPath, [bin, 'sandbox', '--state', join(dir, 'x'), '--keep-builds', '0'], { encoding: 'utf8' });
    expect(k.stderr).toContain('--keep-builds: expected a whole number of builds of at least 1, or all, found "0"');
  });
});

describe('provisioner-sandbox (the package\'s own bin)', () => {
  const own = new URL('../../../node_modules/.bin/provisioner-sandbox', import.meta.url).pathname;

  it('is installed by npm ci and is the same command as `provisioner sandbox`', () => {
    const help = spawnSync(own, ['--help'], { encoding: 'utf8' });
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^Usage: provisioner-sandbox \[options\] \[command\]/);
    const viaProvisioner = spawnSync(process.execPath, [bin, 'sandbox', '--help'], { encoding: 'utf8' });
    // Beside the sandbox's options, its own bin has the provisioner's global --debug.
    const withoutDebug = help.stdout.replace(/^  --debug .*\n\s+\(default: false\)\n/m, '');
    expect(withoutDebug).not.toBe(help.stdout);
    expect(withoutDebug.split('\n').slice(1)).toEqual(viaProvisioner.stdout.split('\n').slice(1));
  });

  it('tells a wrong flag as the provisioner does (exit 1, the flag and what it expected)', () => {
    const r = spawnSync(own, ['--state', join(dir, 'y'), '--throttle-ec2', 'lots'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('error: --throttle-ec2: expected a rate from 0 to 1 (or a percentage such as 10%), found "lots"\n');
  });
});
