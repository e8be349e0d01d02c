// The fleet file's SSH settings: static pools (hosts), transport: ssh on EC2 pools, host-key
// policies. Every refusal names the field, what was expected and what was found.
import { describe, expect, it } from 'vitest';
import { parseFleet } from '../../../provisioner/src/config/load.ts';
import { isStaticPool } from '../../../provisioner/src/config/schema.ts';
import { UserError } from '../../../provisioner/src/errors.ts';

const head = `fleet: bank-ci
region: us-east-1
controller:
  url: https://jenkins.example/
  user: provisioner
pools:
`;

const staticPool = `${head}  - name: rack
    labels: [rack]
    transport: ssh
    sshUser: ci
    sshKeyFile: ~/.ssh/fleet_ed25519
    hostKeyPolicy: accept-new
    hosts:
      - address: 10.1.0.5
      - address: build2.bank.example
        port: 2222
        user: admin
`;

const ec2Pool = `${head}  - name: awsDeploy
    count: 2
    labels: [awsDeploy]
    instanceType: t3.medium
    image: ami-0123456789abcdef0
    subnets: [subnet-0123456789abcdef0]
    securityGroups: [sg-0123456789abcdef0]
    instanceProfile: jenkins-agent
    transport: ssh
    sshUser: ec2-user
    sshKeyEnv: FLEET_SSH_KEY
    hostKeyPolicy: pinned
    hostKeyFingerprints: [SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s]
`;

function problems(text: string): string[] {
  try {
    parseFleet(text, 'fleet.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return (err as UserError).problems;
  }
  throw new Error('expected the fleet to be refused');
}

describe('SSH settings in fleet.yaml', () => {
  it('accepts a static pool and takes its count from its hosts', () => {
    const pool = parseFleet(staticPool, 'fleet.yaml').pools[0]!;
    expect(isStaticPool(pool)).toBe(true);
    expect(pool).toMatchObject({ count: 2, transport: 'ssh', sshUser: 'ci', hostKeyPolicy: 'accept-new' });
    expect(pool.hosts).toEqual([{ address: '10.1.0.5' }, { address: 'build2.bank.example', port: 2222, user: 'admin' }]);
    expect(pool.instanceType).toBeUndefined();
  });

  it('accepts an EC2 pool with transport: ssh and defaults sshAddress to private', () => {
    const pool = parseFleet(ec2Pool, 'fleet.yaml').pools[0]!;
    expect(isStaticPool(pool)).toBe(false);
    expect(pool).toMatchObject({ count: 2, transport: 'ssh', sshAddress: 'private', sshKeyEnv: 'FLEET_SSH_KEY', hostKeyPolicy: 'pinned' });
  });

  it('accepts a static pool whose count matches its hosts', () => {
    expect(parseFleet(staticPool.replace('    labels: [rack]', '    count: 2\n    labels: [rack]'), 'fleet.yaml').pools[0]!.count).toBe(2);
  });

  const cases: Array<[string, string, RegExp]> = [
    ['a static pool with a count other than its hosts', staticPool.replace('    labels: [rack]', '    count: 3\n    labels: [rack]'), /^fleet.yaml:\d+: pools\[0\]\.count: expected the number of hosts \(2\) or no count at all in a static pool, found 3$/],
    ['a static pool over SSM', staticPool.replace('transport: ssh', 'transport: ssm'), /pools\[0\]\.transport: expected transport: ssh for a static pool \(one with hosts\), found 'ssm'/],
    ['a static pool with an instance type', staticPool.replace('    hosts:', '    instanceType: t3.small\n    hosts:'), /pools\[0\]\.instanceType: expected no instanceType in a static pool \(one with hosts\)/],
    ['a static pool with sshAddress', staticPool.replace('    hosts:', '    sshAddress: public\n    hosts:'), /pools\[0\]\.sshAddress: expected sshAddress only in an EC2 pool/],
    ['an empty host list', staticPool.slice(0, staticPool.indexOf('    hosts:')) + '    hosts: []\n', /pools\[0\]\.hosts: expected at least 1 item\(s\), found a list of 0/],
    ['a host listed twice', `${staticPool}      - address: 10.1.0.5\n        port: 22\n`, /pools\[0\]\.hosts\[2\]\.address: expected a host listed once, found 10\.1\.0\.5:22 again \(first at hosts\[0\]\)/],
    ['a host listed twice, once with the DNS root\'s dot', `${staticPool}      - address: build2.bank.example.\n        port: 2222\n`, /pools\[0\]\.hosts\[2\]\.address: expected a host listed once, found build2\.bank\.example:2222 again \(first at hosts\[1\]\)/],
    ['a host with a bad address', staticPool.replace('10.1.0.5', '"10.1.0.5; rm -rf /"'), /pools\[0\]\.hosts\[0\]\.address: expected a host name or an IP address, found "10\.1\.0\.5; rm -rf \/"/],
    ['a host with a bad port', staticPool.replace('port: 2222', 'port: 70000'), /pools\[0\]\.hosts\[1\]\.port: expected a number <= 65535, found 70000/],
    ['an unknown key in a host', staticPool.replace('port: 2222', 'prot: 2222'), /pools\[0\]\.hosts\[1\]\.prot: is not a known key/],
    ['an EC2 pool without an instance type', ec2Pool.replace('    instanceType: t3.medium\n', ''), /^fleet.yaml:\d+: pools\[0\]\.instanceType: is required \(expected a string\)$/],
    ['an EC2 pool without subnets', ec2Pool.replace('    subnets: [subnet-0123456789abcdef0]\n', ''), /pools\[0\]\.subnets: is required \(expected a list\)/],
    ['an EC2 pool without a count', ec2Pool.replace('    count: 2\n', ''), /pools\[0\]\.count: is required \(expected a whole number\)/],
    ['an SSH pool without a key', ec2Pool.replace('    sshKeyEnv: FLEET_SSH_KEY\n', ''), /pools\[0\]\.sshKeyFile: expected exactly one of sshKeyFile \(a private key file\) or sshKeyEnv .*found neither/],
    ['an SSH pool with two keys', ec2Pool.replace('    sshKeyEnv: FLEET_SSH_KEY\n', '    sshKeyEnv: FLEET_SSH_KEY\n    sshKeyFile: key\n'), /pools\[0\]\.sshKeyEnv: expected exactly one of sshKeyFile or sshKeyEnv, found both/],
    ['an inline key (a key where a variable name goes)', ec2Pool.replace('sshKeyEnv: FLEET_SSH_KEY', 'sshKeyEnv: "-----BEGIN OPENSSH PRIVATE KEY-----"'), /pools\[0\]\.sshKeyEnv: expected the name of an environment variable/],
    ['an unknown key holding a key inline', ec2Pool.replace('    sshKeyEnv: FLEET_SSH_KEY\n', '    sshKey: abc\n    sshKeyEnv: FLEET_SSH_KEY\n'), /pools\[0\]\.sshKey: is not a known key/],
    ['an SSH pool without a user', ec2Pool.replace('    sshUser: ec2-user\n', ''), /pools\[0\]\.sshUser: expected an sshUser for transport: ssh/],
    ['an SSH pool without a host-key policy', ec2Pool.replace('    hostKeyPolicy: pinned\n', '').replace(/    hostKeyFingerprints.*\n/, ''), /pools\[0\]\.hostKeyPolicy: expected a hostKeyPolicy for transport: ssh: known-hosts, pinned or accept-new/],
    ['an unknown host-key policy', ec2Pool.replace('hostKeyPolicy: pinned', 'hostKeyPolicy: trust-all'), /pools\[0\]\.hostKeyPolicy: expected one of known-hosts, pinned, accept-new, found "trust-all"/],
    ['pinned without fingerprints', ec2Pool.replace(/    hostKeyFingerprints.*\n/, ''), /pools\[0\]\.hostKeyFingerprints: expected a list of hostKeyFingerprints \(SHA256:\.\.\.\) with hostKeyPolicy: pinned/],
    ['a fingerprint in another form', ec2Pool.replace('SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s', 'MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48'), /pools\[0\]\.hostKeyFingerprints\[0\]: expected a host key fingerprint as ssh-keygen -lf prints it/],
    ['known-hosts without a file', ec2Pool.replace('hostKeyPolicy: pinned', 'hostKeyPolicy: known-hosts').replace(/    hostKeyFingerprints.*\n/, ''), /pools\[0\]\.knownHostsFile: expected a knownHostsFile with hostKeyPolicy: known-hosts/],
    ['fingerprints with another policy', ec2Pool.replace('hostKeyPolicy: pinned', 'hostKeyPolicy: accept-new'), /pools\[0\]\.hostKeyFingerprints: expected hostKeyFingerprints only with hostKeyPolicy: pinned, found hostKeyPolicy: accept-new/],
    ['SSH settings on an SSM pool', ec2Pool.replace('transport: ssh', 'transport: ssm'), /pools\[0\]\.sshUser: expected sshUser only with transport: ssh \(this pool uses ssm\)/],
    ['a bad sshAddress', ec2Pool.replace('    sshUser', '    sshAddress: elastic\n    sshUser'), /pools\[0\]\.sshAddress: expected one of private, public, found "elastic"/],
  ];
  for (const [what, text, message] of cases) {
    it(`refuses ${what}, naming the field`, () => {
      expect(problems(text)).toEqual(expect.arrayContaining([expect.stringMatching(message)]));
    });
  }

  it('reports one sentence per problem of an SSH pool, all at once', () => {
    const text = ec2Pool.replace('    sshUser: ec2-user\n', '').replace('    sshKeyEnv: FLEET_SSH_KEY\n', '');
    expect(problems(text)).toHaveLength(2);
  });
});
