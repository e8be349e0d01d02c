import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../../../bin/provisioner.mjs', import.meta.url));
const example = readFileSync(new URL('../../../examples/fleet.yaml', import.meta.url), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'fleet-cli-'));
const config = join(dir, 'fleet.yaml');
writeFileSync(config, example);

// Endpoints nothing listens on: any attempt to contact them fails fast and visibly.
const closed = {
  JENKINS_URL: 'http://127.0.0.1:9/',
  AWS_ENDPOINT_URL_EC2: 'http://127.0.0.1:9',
  AWS_ENDPOINT_URL_SSM: 'http://127.0.0.1:9',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_REGION: 'us-east-1',
};

function provisioner(args: string[], env: NodeJS.ProcessEnv = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(JENKINS_|AWS_)/.test(k)));
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...clean, ...env }, timeout: 120_000 });
}

describe('fleet commands, before anything is contacted', () => {
  it('exit 1 naming the file when the fleet file is missing', () => {
    const run = provisioner(['--config', join(dir, 'nope.yaml'), 'plan'], closed);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('nope.yaml: no such fleet file');
  });

  it('exit 1 naming JENKINS_API_TOKEN and controller.tokenFile when there is no token', () => {
    const run = provisioner(['--config', config, 'status'], closed);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/no Jenkins API token: set JENKINS_API_TOKEN, or controller\.tokenFile/);
  });

  it('exit 1 with one line per problem for a bad fleet file', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, example.replace('count: 2', 'count: many').replace('instanceType: t3.large', 'instanceTyp: t3.large'));
    const run = provisioner(['--config', bad, 'plan'], { ...closed, JENKINS_API_TOKEN: 't' });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/bad\.yaml:\d+: pools\[0\]\.count: expected a number, found "many"/);
    expect(run.stderr).toMatch(/bad\.yaml:\d+: pools\[1\]\.instanceTyp: is not a known key/);
    expect(run.stderr).not.toMatch(/at .*\.ts:\d+/); // no stack trace
  });

  it('up refuses to run without --yes when nobody can confirm, before contacting anything', () => {
    const run = provisioner(['--config', config, 'up'], { ...closed, JENKINS_API_TOKEN: 't' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('add --yes');
  });

  it('down refuses an unknown pool, naming the pools there are', () => {
    const run = provisioner(['--config', config, 'down', '--yes', '--pool', 'nosuch'], { ...closed, JENKINS_API_TOKEN: 't' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("--pool: no pool 'nosuch'");
    expect(run.stderr).toContain('awsDeploy, awsDeploy2');
  });

  it('refuses a malformed --timeout', () => {
    const run = provisioner(['--config', config, 'up', '--yes', '--timeout', 'soon'], { ...closed, JENKINS_API_TOKEN: 't' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('--timeout: expected a duration');
  });
});

describe('fleet commands against endpoints that do not answer', () => {
  it('exit 1 with one message naming the endpoint and what was being done, no stack trace', () => {
    const run = provisioner(['--config', config, 'plan'], { ...closed, JENKINS_API_TOKEN: 'canary-token-1234' });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/127\.0\.0\.1:9/);
    expect(run.stderr).not.toMatch(/^\s+at /m);
    expect(run.stderr + run.stdout).not.toContain('canary-token-1234');
    // The AWS SDK's notice about Node versions is no part of the provisioner's output.
    expect(run.stderr).not.toContain('NodeVersionSupportWarning');
  });
});
