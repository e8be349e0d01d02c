// Host-key checking without a network: fingerprints as OpenSSH prints them, known_hosts parsing
// (hashed entries as `ssh-keygen -H` writes them, `[host]:port`, patterns, @revoked), and where
// an EC2 instance or a static host is reached.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseFleet } from '../../../provisioner/src/config/load.ts';
import type { Instance } from '../../../provisioner/src/model.ts';
import { defaultKnownHostsFile, entryMatches, fingerprint, hostCheck, hostKeysFromConsole, keyType, parseKnownHosts } from '../../../provisioner/src/transport/ssh-host-keys.ts';
import { SshTransport, sshAddressOf, staticHostTargets } from '../../../provisioner/src/transport/ssh.ts';
import { ec2Pool, fleetOf, fleetYaml, staticPool } from '../../support/fleet.ts';
import { requireTools } from '../../support/sshd.ts';

const dir = mkdtempSync(join(tmpdir(), 'host-keys-'));
let ed25519: { blob: Buffer; line: string; fingerprint: string };
let rsa: { blob: Buffer; line: string; fingerprint: string };

function makeKey(type: 'ed25519' | 'rsa', name: string = type) {
  const path = join(dir, `key_${name}`);
  execFileSync('ssh-keygen', ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '2048'] : []), '-N', '', '-C', '', '-f', path]);
  const line = readFileSync(`${path}.pub`, 'utf8').trim();
  const printed = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${path}.pub`], { encoding: 'utf8' }).split(' ')[1]!;
  return { blob: Buffer.from(line.split(' ')[1]!, 'base64'), line: line.split(' ').slice(0, 2).join(' '), fingerprint: printed };
}

beforeAll(() => {
  requireTools();
  ed25519 = makeKey('ed25519');
  rsa = makeKey('rsa');
});

describe('host key fingerprints and known_hosts', () => {
  it('prints fingerprints exactly as ssh-keygen -l does', () => {
    expect(fingerprint(ed25519.blob)).toBe(ed25519.fingerprint);
    expect(fingerprint(rsa.blob)).toBe(rsa.fingerprint);
    expect(keyType(ed25519.blob)).toBe('ssh-ed25519');
    expect(keyType(rsa.blob)).toBe('ssh-rsa');
  });

  it('matches hashed entries written by ssh-keygen -H, on port 22 and on other ports', () => {
    const file = join(dir, 'hashed');
    writeFileSync(file, `build1.bank.example ${ed25519.line}\n[10.0.0.7]:2222 ${rsa.line}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('build1');
    const entries = parseKnownHosts(text);
    expect(entries).toHaveLength(2);
    expect(entries.map((e) => 'salt' in e.hosts)).toEqual([true, true]);
    expect(entryMatches(entries[0]!, 'build1.bank.example', 22)).toBe(true);
    expect(entryMatches(entries[0]!, 'BUILD1.bank.example', 22)).toBe(true);
    expect(entryMatches(entries[0]!, 'build1.bank.example', 2222)).toBe(false);
    expect(entryMatches(entries[1]!, '10.0.0.7', 2222)).toBe(true);
    expect(entryMatches(entries[1]!, '10.0.0.7', 22)).toBe(false);
    expect(entries[1]!.key.equals(rsa.blob)).toBe(true);
  });

  it('matches plain entries, lists, wildcards and negations; skips comments and junk', () => {
    const entries = parseKnownHosts(
      [
        '# a comment',
        `build2,10.0.0.8 ${ed25519.line}`,
        `*.rack.bank.example,!db.rack.bank.example ${ed25519.line}`,
        `[10.0.0.9]:2200 ${ed25519.line}`,
        'garbage line',
        `host ssh-rsa ${ed25519.line.split(' ')[1]}`, // type and key disagree
        `@cert-authority *.bank.example ${rsa.line}`,
        `@revoked old.bank.example ${rsa.line}`,
      ].join('\n'),
    );
    expect(entries.map((e) => e.line)).toEqual([2, 3, 4, 7, 8]);
    expect(entryMatches(entries[0]!, '10.0.0.8', 22)).toBe(true);
    expect(entryMatches(entries[0]!, 'build2', 22)).toBe(true);
    expect(entryMatches(entries[1]!, 'ci7.rack.bank.example', 22)).toBe(true);
    expect(entryMatches(entries[1]!, 'db.rack.bank.example', 22)).toBe(false);
    expect(entryMatches(entries[2]!, '10.0.0.9', 2200)).toBe(true);
    expect(entries[3]!.marker).toBe('cert-authority');
    expect(entries[4]!.marker).toBe('revoked');
  });

  it('refuses a revoked key even when another line lists it', async () => {
    const file = join(dir, 'revoked');
    writeFileSync(file, `old.bank.example ${rsa.line}\n@revoked old.bank.example ${rsa.line}\n`);
    const check = await hostCheck({ hostKeyPolicy: 'known-hosts', knownHostsFile: file }, 'old.bank.example', 22);
    expect(check.verify(rsa.blob)).toBe(false);
    expect(check.refusal).toBe(`host key of old.bank.example:22 ${rsa.fingerprint} (ssh-rsa) is marked @revoked in ${file}; refusing to connect`);
  });

  it('asks the server for the key types known_hosts lists, so a host with several keys shows a known one', async () => {
    const file = join(dir, 'rsa-only');
    writeFileSync(file, `rsa.bank.example ${rsa.line}\n`);
    const check = await hostCheck({ hostKeyPolicy: 'known-hosts', knownHostsFile: file }, 'rsa.bank.example', 22);
    expect(check.serverHostKey).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    expect(check.verify(rsa.blob)).toBe(true);
    expect(check.verify(ed25519.blob)).toBe(false);
    expect(check.refusal).toMatch(/^HOST KEY CHANGED for rsa\.bank\.example:22: expected .* \(ssh-rsa, .*rsa-only:1\), found .* \(ssh-ed25519\)/);
  });

  it('names a known hosts file it cannot read', async () => {
    await expect(hostCheck({ hostKeyPolicy: 'known-hosts', knownHostsFile: join(dir, 'missing') }, 'h', 22)).rejects.toThrow(/^cannot read known hosts file .*missing \(ENOENT\)$/);
  });

  it('keeps accept-new records in the provisioner\'s state directory by default', () => {
    expect(defaultKnownHostsFile({ HOME: '/home/ops' })).toBe('/home/ops/.local/state/jenkins-fleet/known_hosts');
    expect(defaultKnownHostsFile({ HOME: '/home/ops', XDG_STATE_HOME: '/var/state' })).toBe('/var/state/jenkins-fleet/known_hosts');
  });
});

describe('host keys from an EC2 console (accept-new)', () => {
  const consoleText = () => [
    '[    5.123456] cloud-init[812]: Cloud-init v. 22.2.2 running \'modules:final\'',
    'ec2: #############################################################',
    'ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----',
    `ec2: 3072 ${rsa.fingerprint} root@ip-10-0-1-5 (RSA)`,
    'ec2: -----END SSH HOST KEY FINGERPRINTS-----',
    'ec2: #############################################################',
    '-----BEGIN SSH HOST KEY KEYS-----',
    `${ed25519.line} root@ip-10-0-1-5`,
    'ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAABAQ root@ip (a key whose blob names another type)',
    '-----END SSH HOST KEY KEYS-----',
    `${rsa.line} outside any block`,
  ].join('\r\n');

  it('reads the keys and fingerprints cloud-init printed, whatever prefixes the lines', () => {
    const printed = hostKeysFromConsole(consoleText(), 'the console output of i-0abc');
    expect(printed.keys.map((k) => k.toString('base64'))).toEqual([ed25519.blob.toString('base64')]);
    expect(printed.fingerprints).toEqual([rsa.fingerprint]);
    expect(hostKeysFromConsole('booting...\n', 'x')).toEqual({ source: 'x', keys: [], fingerprints: [] });
  });

  it('trusts a first key only if the console printed it (as a key or a fingerprint)', async () => {
    const file = join(dir, 'console-known');
    const printed = hostKeysFromConsole(consoleText(), 'the console output of i-0abc');
    const check = await hostCheck({ hostKeyPolicy: 'accept-new', knownHostsFile: file }, '10.0.1.5', 22, printed);
    expect(check.verify(ed25519.blob)).toBe(true);
    expect(check.verify(rsa.blob)).toBe(true);
    const other = makeKey('ed25519', 'unprinted');
    expect(check.verify(other.blob)).toBe(false);
    expect(check.refusal).toBe(`host key of 10.0.1.5:22 ${other.fingerprint} (ssh-ed25519) is not one of those the console output of i-0abc printed (${ed25519.fingerprint}, ${rsa.fingerprint}); refusing to connect`);
  });
});

describe('where the SSH transport connects', () => {
  /** An EC2 pool over SSH, with `address` settings (sshAddress) if any. */
  const ec2 = (address: Record<string, string> = {}) =>
    fleetYaml([ec2Pool('awsDeploy', { subnets: ['subnet-0123456789abcdef0'], settings: { transport: 'ssh', sshUser: 'ec2-user', sshKeyEnv: 'FLEET_SSH_KEY', hostKeyPolicy: 'accept-new', ...address } })]);
  const instance: Instance = { id: 'i-0123456789abcdef0', pool: 'awsDeploy', region: 'us-east-1', state: 'running', privateIp: '10.0.1.5', publicIp: '54.1.2.3', launchedAt: 0 };

  it('uses an EC2 instance\'s private IP by default and its public IP when asked', () => {
    expect(sshAddressOf(parseFleet(ec2(), 'f').pools[0]!, instance)).toBe('10.0.1.5');
    expect(sshAddressOf(parseFleet(ec2({ sshAddress: 'public' }), 'f').pools[0]!, instance)).toBe('54.1.2.3');
    expect(sshAddressOf(parseFleet(ec2({ sshAddress: 'public' }), 'f').pools[0]!, { ...instance, publicIp: undefined })).toBeUndefined();
  });

  it('fails an EC2 agent without an address, and one whose key variable is unset, naming what is missing', async () => {
    const pool = parseFleet(ec2(), 'f').pools[0]!;
    const transport = new SshTransport({ env: {} });
    const target = { name: `awsDeploy-${instance.id}`, pool, instanceId: instance.id };
    await transport.storeSecret(target, 'x');
    const [noAddress] = await transport.bootstrap([target], 'true', { deadline: Date.now() + 1_000 });
    expect(noAddress!.error).toBe(`no address for awsDeploy-${instance.id} (an instance without a private IP?)`);
    const [noKey] = await transport.bootstrap([{ ...target, address: '10.0.1.5' }], 'true', { deadline: Date.now() + 1_000 });
    expect(noKey!.error).toBe('the environment variable FLEET_SSH_KEY (sshKeyEnv of pool awsDeploy) is not set or empty; it must hold the SSH private key (10.0.1.5:22)');
    const badKeyTransport = new SshTransport({ env: { FLEET_SSH_KEY: 'not a key' } });
    await badKeyTransport.storeSecret(target, 'x');
    const [badKey] = await badKeyTransport.bootstrap([{ ...target, address: '10.0.1.5' }], 'true', { deadline: Date.now() + 1_000 });
    expect(badKey!.error).toMatch(/^the environment variable FLEET_SSH_KEY \(sshKeyEnv of pool awsDeploy\) does not hold a usable private key/);
    expect(badKey!.error).not.toContain('not a key');
  });

  it('forgets an EC2 agent without connecting (its instance is terminated instead)', async () => {
    const pool = parseFleet(ec2(), 'f').pools[0]!;
    const transport = new SshTransport({ env: {} });
    const target = { name: `awsDeploy-${instance.id}`, pool, instanceId: instance.id, address: '192.0.2.1' };
    await transport.storeSecret(target, 'x');
    await transport.forget(target, Date.now() + 20_000); // an unreachable address: would throw if it tried to connect
    const [result] = await transport.bootstrap([target], 'true', { deadline: Date.now() + 1_000 });
    expect(result!.error).toBe(`no secret was stored for ${target.name} before its bootstrap (192.0.2.1:22)`);
  });

  it('names static hosts\' agents after the pool and the host', () => {
    const pool = fleetOf([staticPool('rack', [{ address: '10.1.0.5' }, { address: 'build2.bank.example', port: 2222, user: 'admin' }, { address: '"fd00::5"' }])]).pools[0]!;
    expect(staticHostTargets(pool).map(({ name, address, port, user }) => ({ name, address, port, user }))).toEqual([
      { name: 'rack-h-10.1.0.5', address: '10.1.0.5', port: undefined, user: undefined },
      { name: 'rack-h-build2.bank.example-2222', address: 'build2.bank.example', port: 2222, user: 'admin' },
      { name: 'rack-h-fd00--5', address: 'fd00::5', port: undefined, user: undefined },
    ]);
  });
});
