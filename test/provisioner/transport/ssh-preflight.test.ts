// The SSH preflight: every SSH pool's key, user and known hosts file are resolved before anything
// is contacted, and every problem of every pool is told at once.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../provisioner/src/errors.ts';
import { sshPreflight } from '../../../provisioner/src/transport/ssh.ts';
import { ec2Pool, fleetOf, staticPool } from '../../support/fleet.ts';

const dir = mkdtempSync(join(tmpdir(), 'ssh-preflight-'));
const key = ssh2.utils.generateKeyPairSync('ed25519').private;
writeFileSync(join(dir, 'fleet_key'), key, { mode: 0o600 });
writeFileSync(join(dir, 'known_hosts'), '');

/** A static pool `name` whose SSH settings are exactly `settings` (YAML lines). */
const rack = (settings: string, name = 'rack') => `${staticPool(name, [{ address: '10.1.0.5' }], { sshKeyEnv: undefined, hostKeyPolicy: undefined })}${settings}`;

async function problems(pools: string, env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  try {
    await sshPreflight(fleetOf([pools], { source: join(dir, 'fleet.yaml') }).pools, { baseDir: dir, env: { HOME: dir, ...env } });
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return (err as UserError).problems;
  }
  return [];
}

describe('the SSH preflight', () => {
  it('passes pools whose key reads, whose user is known and whose known hosts file reads', async () => {
    expect(await problems(rack('    sshKeyFile: fleet_key\n    hostKeyPolicy: known-hosts\n    knownHostsFile: known_hosts\n'))).toEqual([]);
    expect(await problems(rack('    sshKeyEnv: FLEET_KEY\n    hostKeyPolicy: accept-new\n'), { FLEET_KEY: key })).toEqual([]);
  });

  it('names every problem of every pool at once: an unset key variable, a missing key file, an unreadable known hosts file', async () => {
    const found = await problems(
      rack('    sshKeyEnv: FLEET_KEY\n    hostKeyPolicy: known-hosts\n    knownHostsFile: nowhere/known_hosts\n') +
        rack('    sshKeyFile: missing_key\n    hostKeyPolicy: pinned\n    hostKeyFingerprints: [SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s]\n', 'rack2'),
    );
    expect(found).toEqual([
      'the environment variable FLEET_KEY (sshKeyEnv of pool rack) is not set or empty; it must hold the SSH private key',
      `pool rack: knownHostsFile: cannot read known hosts file ${join(dir, 'nowhere/known_hosts')} (ENOENT)`,
      `cannot read sshKeyFile ${join(dir, 'missing_key')} (pool rack2): ENOENT`,
    ]);
  });

  it('refuses a key that is no private key without quoting it', async () => {
    const [problem] = await problems(rack('    sshKeyEnv: FLEET_KEY\n    hostKeyPolicy: accept-new\n'), { FLEET_KEY: 'not-a-key-canary' });
    expect(problem).toMatch(/^the environment variable FLEET_KEY \(sshKeyEnv of pool rack\) does not hold a usable private key/);
    expect(problem).not.toContain('not-a-key-canary');
  });

  it('lets accept-new start without a known hosts file, but not with one it cannot read', async () => {
    expect(await problems(rack('    sshKeyFile: fleet_key\n    hostKeyPolicy: accept-new\n    knownHostsFile: new/known_hosts\n'))).toEqual([]);
    // A directory where the file should be: unreadable as a file whoever runs the test, root too.
    expect(await problems(rack('    sshKeyFile: fleet_key\n    hostKeyPolicy: accept-new\n    knownHostsFile: .\n'))).toEqual([
      `pool rack: knownHostsFile: cannot read known hosts file ${dir} (EISDIR)`,
    ]);
  });

  it('leaves SSM pools alone', async () => {
    expect(
      await problems(ec2Pool('awsDeploy')),
    ).toEqual([]);
  });
});
