import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadFleet, parseFleet, readToken } from '../../../provisioner/src/config/load.ts';
import { UserError } from '../../../provisioner/src/errors.ts';

const valid = `fleet: bank-ci
region: us-east-1
controller:
  url: https://jenkins.example/
  user: provisioner
pools:
  - name: awsDeploy
    count: 2
    labels: [awsDeploy, terraform]
    instanceType: t3.medium
    image: ami-0123456789abcdef0
    subnets: [subnet-0123456789abcdef0]
    securityGroups: [sg-0123456789abcdef0]
    instanceProfile: jenkins-agent
`;

function problems(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseFleet(text, 'fleet.yaml', env);
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return (err as UserError).problems;
  }
  throw new Error('expected the fleet to be refused');
}

describe('loading fleet.yaml', () => {
  it('accepts a minimal fleet and fills in the documented defaults', () => {
    const fleet = parseFleet(valid, 'fleet.yaml');
    const pool = fleet.pools[0]!;
    expect(pool).toMatchObject({ executors: 1, transport: 'ssm', tools: [], remoteFS: '/home/jenkins/agent', mode: 'NORMAL', rootVolumeGiB: 30, publicIp: false, region: 'us-east-1' });
    expect(fleet.repair.offlineAfter).toBe(300_000);
  });

  it('accepts the committed example fleet', async () => {
    const fleet = await loadFleet(new URL('../../../examples/fleet.yaml', import.meta.url).pathname, {});
    expect(fleet.pools.map((p) => p.name)).toEqual(['awsDeploy', 'awsDeploy2']);
    expect(fleet.pools[0]!.tools).toEqual(['terraform', 'python']);
    expect(fleet.pools[1]!.tools).toEqual(['docker', 'python']);
  });

  it('lets JENKINS_URL, JENKINS_USER and AWS_REGION override the file', () => {
    const fleet = parseFleet(valid, 'fleet.yaml', { JENKINS_URL: 'http://127.0.0.1:9000/', JENKINS_USER: 'admin', AWS_REGION: 'eu-west-1' });
    expect(fleet.controller).toMatchObject({ url: 'http://127.0.0.1:9000/', user: 'admin' });
    expect(fleet.region).toBe('eu-west-1');
    expect(fleet.pools[0]!.region).toBe('eu-west-1');
  });

  it('normalises the controller URL once, so that paths join onto a controller under a path', () => {
    const at = (url: string) => parseFleet(valid.replace('https://jenkins.example/', url), 'fleet.yaml').controller.url;
    expect(at('https://ci.example.com/jenkins')).toBe('https://ci.example.com/jenkins/');
    expect(at('https://ci.example.com/jenkins//')).toBe('https://ci.example.com/jenkins/');
    expect(at('https://ci.example.com')).toBe('https://ci.example.com/');
    expect(at('https://ci.example.com:443/jenkins')).toBe('https://ci.example.com/jenkins/');
    expect(new URL('computer/api/json', at('https://ci.example.com/jenkins')).href).toBe('https://ci.example.com/jenkins/computer/api/json');
    expect(parseFleet(valid, 'fleet.yaml', { JENKINS_URL: 'http://127.0.0.1:9000/jenkins' }).controller.url).toBe('http://127.0.0.1:9000/jenkins/');
    expect(problems(valid.replace('https://jenkins.example/', 'https://bot:s3cret@jenkins.example/'))).toEqual([
      'fleet.yaml:4: controller.url: expected an http(s) URL without a user name or password in it (the user goes in controller.user, the token in JENKINS_API_TOKEN)',
    ]);
    expect(problems(valid.replace('https://jenkins.example/', 'https://jenkins.example/?view=all'))).toEqual([
      'fleet.yaml:4: controller.url: expected the controller\'s root URL without a query or fragment, found "?view=all"',
    ]);
  });

  it('keeps a pool-level region over the fleet region', () => {
    const fleet = parseFleet(valid.replace('    instanceProfile', '    region: us-west-2\n    instanceProfile'), 'fleet.yaml');
    expect(fleet.pools[0]!.region).toBe('us-west-2');
  });

  const cases: Array<[string, string, RegExp]> = [
    ['a count that is not a number', valid.replace('count: 2', 'count: two'), /^fleet.yaml:8: pools\[0\]\.count: expected a number, found "two"$/],
    ['a negative count', valid.replace('count: 2', 'count: -1'), /pools\[0\]\.count: expected a number >= 0, found -1/],
    ['a fractional count', valid.replace('count: 2', 'count: 1.5'), /pools\[0\]\.count: expected a whole number|pools\[0\]\.count: expected an? int/],
    ['a missing key', valid.replace('    instanceType: t3.medium\n', ''), /pools\[0\]\.instanceType: is required \(expected a string\)/],
    ['an unknown key (a typo)', valid.replace('instanceType:', 'instanceTyp: t3.micro\n    instanceType:'), /^fleet.yaml:10: pools\[0\]\.instanceTyp: is not a known key \(a typo\?\)$/],
    ['an unknown top-level key', `${valid}pool: []\n`, /^fleet.yaml:\d+: pool: is not a known key/],
    ['a bad AMI id', valid.replace('ami-0123456789abcdef0', 'ami-12'), /pools\[0\]\.image: expected an AMI id \(ami-\.\.\.\) or resolve:ssm:.*found "ami-12"/],
    ['an empty subnet list', valid.replace('[subnet-0123456789abcdef0]', '[]'), /pools\[0\]\.subnets: expected at least 1 item\(s\), found a list of 0/],
    ['a bad security group', valid.replace('sg-0123456789abcdef0', 'default'), /pools\[0\]\.securityGroups\[0\]: expected a security group id/],
    ['a bad mode', valid.replace('    instanceProfile', '    mode: normal\n    instanceProfile'), /pools\[0\]\.mode: expected one of NORMAL, EXCLUSIVE, found "normal"/],
    ['an unknown tool', valid.replace('    instanceProfile', '    tools: [python, maven]\n    instanceProfile'), /pools\[0\]\.tools\[1\]: expected one of python, docker, terraform, found "maven"/],
    ['an unknown transport', valid.replace('    instanceProfile', '    transport: telnet\n    instanceProfile'), /pools\[0\]\.transport: expected one of ssm/],
    ['a relative remoteFS', valid.replace('    instanceProfile', '    remoteFS: agent\n    instanceProfile'), /pools\[0\]\.remoteFS: expected an absolute path/],
    // EC2 refuses a tag value over 256 characters at launch (the jenkins-fleet:remote-fs tag).
    ['a remoteFS too long for its EC2 tag', valid.replace('    instanceProfile', `    remoteFS: /${'a'.repeat(256)}\n    instanceProfile`), /pools\[0\]\.remoteFS: expected an absolute path without spaces, at most 256 characters/],
    ['a label with a space', valid.replace('[awsDeploy, terraform]', '["aws deploy"]'), /pools\[0\]\.labels\[0\]: expected a Jenkins label/],
    ['a bad fleet id', valid.replace('fleet: bank-ci', 'fleet: Bank_CI'), /^fleet.yaml:1: fleet: expected a fleet id/],
    ['a non-http controller URL', valid.replace('https://jenkins.example/', 'ftp://jenkins'), /controller\.url: expected an http\(s\) URL, found "ftp:\/\/jenkins"/],
    ['a bad region', valid.replace('region: us-east-1', 'region: virginia'), /^fleet.yaml:2: region: expected an AWS region/],
    ['a bad duration', `${valid}repair:\n  offlineAfter: soon\n`, /repair\.offlineAfter: expected a duration such as 90s, 5m or 1h, found "soon"/],
    ['a pool name used twice', valid + valid.slice(valid.indexOf('  - name')), /pools\[1\]\.name: expected a pool name used once, found 'awsDeploy' again \(first at pools\[0\]\)/],
    ['a token written in the file', valid.replace('  user: provisioner', '  user: provisioner\n  token: abc123'), /controller\.token: the API token is never read from the fleet file; set JENKINS_API_TOKEN or controller\.tokenFile/],
    ['an unknown capacity', valid.replace('    instanceProfile', '    capacity: cheap\n    instanceProfile'), /pools\[0\]\.capacity: expected one of on-demand, spot, spot-then-on-demand, found "cheap"/],
    ['both instanceType and instanceTypes', valid.replace('    instanceProfile', '    instanceTypes: [m5.large]\n    instanceProfile'), /pools\[0\]\.instanceTypes: expected either instanceType \(one type\) or instanceTypes \(a list\), found both/],
    ['a type listed twice', valid.replace('    instanceType: t3.medium', '    instanceTypes: [m5.large, c5.large, m5.large]'), /pools\[0\]\.instanceTypes\[2\]: expected an instance type listed once, found m5.large again \(first at instanceTypes\[0\]\)/],
    ['a malformed type in the list', valid.replace('    instanceType: t3.medium', '    instanceTypes: [m5.large, huge]'), /pools\[0\]\.instanceTypes\[1\]/],
    ['executors of a type that are not a number', valid.replace('    instanceType: t3.medium', '    instanceTypes: [{ type: m5.large, executors: many }]'), /pools\[0\]\.instanceTypes\[0\]/],
    ['an empty type list', valid.replace('    instanceType: t3.medium', '    instanceTypes: []'), /pools\[0\]\.instanceTypes: expected at least 1 item/],
    ['YAML that does not parse', 'fleet: [unclosed\n', /^fleet.yaml:\d+:\d+: not valid YAML/],
    ['a file that is a list', '- a\n- b\n', /^fleet.yaml: expected a mapping with fleet, region, controller and pools, found a list of 2$/],
  ];
  for (const [what, text, message] of cases) {
    it(`refuses ${what}, naming the file, the field, what was expected and what was found`, () => {
      expect(problems(text)).toEqual(expect.arrayContaining([expect.stringMatching(message)]));
    });
  }

  it('reads capacity and instanceTypes with executors per type, and keeps instanceType working', () => {
    const spot = parseFleet(valid.replace('    instanceType: t3.medium', '    capacity: spot-then-on-demand\n    executors: 2\n    instanceTypes: [m5.large, { type: m5.xlarge, executors: 4 }]'), 'fleet.yaml');
    expect(spot.pools[0]).toMatchObject({ capacity: 'spot-then-on-demand', instanceType: 'm5.large', instanceTypes: [{ type: 'm5.large', executors: 2 }, { type: 'm5.xlarge', executors: 4 }] });
    const plain = parseFleet(valid, 'fleet.yaml');
    expect(plain.pools[0]).toMatchObject({ capacity: 'on-demand', instanceType: 't3.medium', instanceTypes: [{ type: 't3.medium', executors: 1 }] });
  });

  it('reports every problem at once, one sentence each', () => {
    const text = valid.replace('count: 2', 'count: -3').replace('t3.medium', 'huge').replace('fleet: bank-ci', 'fleet: X');
    expect(problems(text)).toHaveLength(3);
  });

  it('names the environment variable when an override is invalid', () => {
    expect(problems(valid, { JENKINS_URL: 'not a url' })).toEqual([expect.stringMatching(/^JENKINS_URL \(which overrides controller\.url\): expected an http\(s\) URL, found "not a url"$/)]);
  });

  it('reads the run lock\'s table, in the fleet\'s region unless another is named, and its expiry', () => {
    expect(parseFleet(valid, 'fleet.yaml').lock).toBeUndefined();
    expect(parseFleet(`${valid}lock:\n  table: jenkins-fleet-locks\n`, 'fleet.yaml').lock).toEqual({ table: 'jenkins-fleet-locks', region: 'us-east-1', expireAfter: 120_000 });
    expect(parseFleet(`${valid}lock: { table: locks, region: eu-west-1, expireAfter: 5m }\n`, 'fleet.yaml').lock).toEqual({ table: 'locks', region: 'eu-west-1', expireAfter: 300_000 });
  });

  it('reads the interruption queue, one (queue) or one per region (queues), as the list of queues', () => {
    const east = 'https://sqs.us-east-1.amazonaws.com/123456789012/jenkins-fleet-bank-ci-interruptions';
    const west = 'https://sqs.us-west-2.amazonaws.com/123456789012/jenkins-fleet-bank-ci-interruptions';
    expect(parseFleet(`${valid}interruptions:\n  queue: ${east}\n`, 'fleet.yaml').interruptions).toEqual({ queues: [east] });
    expect(parseFleet(`${valid}interruptions:\n  queues: [${east}, ${west}]\n`, 'fleet.yaml').interruptions).toEqual({ queues: [east, west] });
  });

  it('refuses interruption queues that are not one per region, both forms at once, neither, or no queue URL, naming the field', () => {
    const east = 'https://sqs.us-east-1.amazonaws.com/123456789012/jenkins-fleet-bank-ci-interruptions';
    expect(problems(`${valid}interruptions:\n  queues: [${east}, ${east.replace('bank-ci', 'other')}]\n`)).toEqual([
      expect.stringMatching(/^fleet\.yaml:16(:\d+)?: interruptions\.queues\[1\]: .*one queue per region, found a second in us-east-1 \(first at interruptions\.queues\[0\]\)/),
    ]);
    expect(problems(`${valid}interruptions:\n  queue: ${east}\n  queues: [${east}]\n`)).toEqual([expect.stringMatching(/interruptions\.queues: .*either queue \(the one queue of a fleet in one region\) or queues \(one per region\), found both/)]);
    expect(problems(`${valid}interruptions: {}\n`)).toEqual([expect.stringMatching(/^fleet\.yaml:15(:\d+)?: interruptions\.queue: .*an SQS queue URL in queue \(or a list in queues, one per region with Spot pools\), found neither/)]);
    expect(problems(`${valid}interruptions:\n  queues: [jenkins-fleet-bank-ci-interruptions]\n`)).toEqual([expect.stringMatching(/interruptions\.queues\[0\]: expected an SQS queue URL such as https:\/\/sqs\.us-east-1\.amazonaws\.com\//)]);
    expect(problems(`${valid}interruptions:\n  queues: []\n`)).toEqual([expect.stringMatching(/interruptions\.queues: /)]);
  });

  it('refuses a run lock without a table, with a bad table name, region or expiry, or an unknown key, naming the field', () => {
    expect(problems(`${valid}lock: {}\n`)).toEqual(['fleet.yaml:15: lock.table: is required (expected a string)']);
    expect(problems(`${valid}lock: { table: 'my locks' }\n`)).toEqual([
      expect.stringMatching(/^fleet\.yaml:15(:\d+)?: lock\.table: expected a DynamoDB table name \(3 to 255 letters, digits, _, - and \.\), such as jenkins-fleet-bank-ci-locks, found "my locks"$/),
    ]);
    expect(problems(`${valid}lock: { table: locks, region: mars }\n`)).toEqual([expect.stringMatching(/lock\.region: expected an AWS region such as us-east-1, found "mars"$/)]);
    expect(problems(`${valid}lock: { table: locks, expireAfter: 2s }\n`)).toEqual([expect.stringMatching(/lock\.expireAfter: expected a duration from 10s to 1h/)]);
    expect(problems(`${valid}lock: { table: locks, ttl: 1h }\n`)).toEqual([expect.stringMatching(/^fleet\.yaml:15(:\d+)?: lock\.ttl: /)]);
  });

  it('says when the file does not exist', async () => {
    await expect(loadFleet('/nonexistent/fleet.yaml', {})).rejects.toThrow(/\/nonexistent\/fleet.yaml: no such fleet file \(give another with --config PATH\)/);
  });
});

describe('reading the Jenkins API token', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleet-token-'));
  const path = join(dir, 'fleet.yaml');
  writeFileSync(path, valid.replace('  user: provisioner', '  user: provisioner\n  tokenFile: token.txt'));

  it('prefers JENKINS_API_TOKEN', async () => {
    const fleet = await loadFleet(path, {});
    expect(await readToken(fleet, { JENKINS_API_TOKEN: 'from-env' })).toBe('from-env');
  });

  it('reads controller.tokenFile relative to the fleet file', async () => {
    writeFileSync(join(dir, 'token.txt'), 'from-file\n');
    chmodSync(join(dir, 'token.txt'), 0o600);
    const fleet = await loadFleet(path, {});
    expect(await readToken(fleet, {})).toBe('from-file');
  });

  it('names both ways to give a token when there is none', async () => {
    const fleet = parseFleet(valid, 'fleet.yaml');
    await expect(readToken(fleet, {})).rejects.toThrow(/no Jenkins API token: set JENKINS_API_TOKEN, or controller\.tokenFile/);
  });

  it('names the token file it could not read', async () => {
    const fleet = await loadFleet(path, {});
    fleet.controller.tokenFile = 'missing.txt';
    await expect(readToken(fleet, {})).rejects.toThrow(/controller\.tokenFile: cannot read the Jenkins API token from .*missing\.txt \(ENOENT\)/);
  });
});
