// `provisioner init` writes the fleet file from `terraform output -json` (a file or standard input),
// never runs terraform, refuses to overwrite without --force, and names every missing output.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../../provisioner/src/cli/main.ts';
import { parseFleet } from '../../../provisioner/src/config/load.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** What `terraform -chdir=terraform/jenkins output -json` prints after an apply (made-up ids). */
export function jenkinsOutputs(overrides: Record<string, unknown> = {}): Record<string, { sensitive: boolean; type: unknown; value: unknown }> {
  const values: Record<string, unknown> = {
    fleet: 'bank-ci',
    region: 'us-east-1',
    controller_url: 'https://jenkins.ci.bank.internal/',
    agent_subnet_ids: ['subnet-0fedcba9876543201', 'subnet-0fedcba9876543202'],
    agent_security_group_id: 'sg-0fedcba9876543210',
    agent_instance_profile: 'bank-ci-agent',
    review_agent_security_group_id: 'sg-0fedcba9876543211',
    review_agent_instance_profile: 'bank-ci-review-agent',
    agent_kms_key_alias: 'alias/jenkins-fleet/bank-ci',
    agent_kms_key_id: '0b1c2d3e-0000-4000-8000-00000000000a',
    controller_secrets_path: '/jenkins-controller/bank-ci-jenkins',
    lock_table: 'bank-ci-run-locks',
    interruption_queue_url: 'https://sqs.us-east-1.amazonaws.com/123456789012/jenkins-fleet-bank-ci-interruptions',
    ...overrides,
  };
  return Object.fromEntries(
    Object.entries(values)
      .filter(([, value]) => value !== undefined)
      .map(([name, value]) => [name, { sensitive: false, type: Array.isArray(value) ? ['list', 'string'] : 'string', value }]),
  );
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'init-'));
  mkdirSync(join(dir, 'examples'));
  writeFileSync(join(dir, 'examples/fleet.yaml'), readFileSync(join(root, 'examples/fleet.yaml')));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function init(args: string[], stdin = '') {
  let stdout = '';
  let stderr = '';
  const streams = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    stdin: Readable.from([stdin]),
  };
  const code = await main(['init', ...args], { streams, cwd: dir, env: {} });
  return { code, stdout, stderr };
}

function write(name: string, outputs: unknown) {
  writeFileSync(join(dir, name), JSON.stringify(outputs));
}

describe('provisioner init', () => {
  it('writes fleet.yaml from examples/fleet.yaml and the outputs file, and the result loads', async () => {
    write('jenkins.outputs.json', jenkinsOutputs());
    const run = await init(['--outputs', 'jenkins.outputs.json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Wrote fleet\.yaml from examples\/fleet\.yaml:$/m);
    expect(run.stdout).toMatch(/^ {2}pools\.awsDeploy\.subnets +subnet-0fedcba9876543201, subnet-0fedcba9876543202 {2}\(agent_subnet_ids\)$/m);
    expect(run.stdout).toContain('Next: `npx provisioner --config fleet.yaml library`');
    const text = readFileSync(join(dir, 'fleet.yaml'), 'utf8');
    const fleet = parseFleet(text, 'fleet.yaml');
    expect(fleet.controller.url).toBe('https://jenkins.ci.bank.internal/');
    expect(fleet.secrets?.kmsKeyId).toBe('alias/jenkins-fleet/bank-ci');
    expect(fleet.lock).toEqual({ table: 'bank-ci-run-locks', region: 'us-east-1', expireAfter: 120_000 });
    expect(fleet.interruptions).toEqual({ queues: ['https://sqs.us-east-1.amazonaws.com/123456789012/jenkins-fleet-bank-ci-interruptions'] });
    expect(text).toMatch(/^interruptions:\n {2}queue: https:\/\/sqs\.us-east-1\.amazonaws\.com\/123456789012\/jenkins-fleet-bank-ci-interruptions$/m);
    for (const pool of fleet.pools) {
      expect(pool).toMatchObject({ subnets: ['subnet-0fedcba9876543201', 'subnet-0fedcba9876543202'], securityGroups: ['sg-0fedcba9876543210'], instanceProfile: 'bank-ci-agent' });
    }
    // The example's comments say what each value is; they stay, and its pools and counts too.
    expect(text).toContain('subnets: [subnet-0fedcba9876543201, subnet-0fedcba9876543202] # <agent_subnet_ids>');
    expect(text).toContain('# The fleet\'s id: it names the EC2 tags');
    expect(fleet.pools.map((p) => [p.name, p.count])).toEqual(parseFleet(readFileSync(join(root, 'examples/fleet.yaml'), 'utf8'), 'x').pools.map((p) => [p.name, p.count]));
  });

  it('reads the outputs from standard input with --outputs -', async () => {
    const run = await init(['--outputs', '-'], JSON.stringify(jenkinsOutputs({ region: 'eu-west-1' })));
    expect(run.code).toBe(0);
    expect(parseFleet(readFileSync(join(dir, 'fleet.yaml'), 'utf8'), 'fleet.yaml').region).toBe('eu-west-1');
  });

  it('refuses to overwrite an existing fleet file without --force, and with it changes only the outputs\' values', async () => {
    write('jenkins.outputs.json', jenkinsOutputs());
    const bank = readFileSync(join(root, 'fleet.yaml'), 'utf8');
    writeFileSync(join(dir, 'fleet.yaml'), bank);
    const refused = await init(['--outputs', 'jenkins.outputs.json']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe('error: fleet.yaml exists; `provisioner init --force` fills the outputs into it, keeping its pools and settings (or give another --config)\n');
    expect(readFileSync(join(dir, 'fleet.yaml'), 'utf8')).toBe(bank);

    const forced = await init(['--outputs', 'jenkins.outputs.json', '--force']);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(/^Filled fleet\.yaml:$/m);
    const before = parseFleet(bank, 'fleet.yaml');
    const after = parseFleet(readFileSync(join(dir, 'fleet.yaml'), 'utf8'), 'fleet.yaml');
    expect(after.library).toEqual(before.library);
    expect(after.pools.map((p) => p.name)).toEqual(['awsDeploy', 'awsDeploy2', 'pullRequests']);
    expect(after.pools.map(({ subnets: _s, securityGroups: _g, instanceProfile: _i, ...rest }) => rest)).toEqual(
      before.pools.map(({ subnets: _s, securityGroups: _g, instanceProfile: _i, ...rest }) => rest),
    );
    // The pool that builds unmerged code (library.pullRequestLabel) gets the pull-request agents' own group and profile.
    expect(after.pools.map((p) => [p.name, p.securityGroups, p.instanceProfile])).toEqual([
      ['awsDeploy', ['sg-0fedcba9876543210'], 'bank-ci-agent'],
      ['awsDeploy2', ['sg-0fedcba9876543210'], 'bank-ci-agent'],
      ['pullRequests', ['sg-0fedcba9876543211'], 'bank-ci-review-agent'],
    ]);
    expect(forced.stdout).toMatch(/^ {2}pools\.pullRequests\.securityGroups +sg-0fedcba9876543211 {2}\(review_agent_security_group_id\)$/m);
  });

  it('names every output that is missing, and what it is for, writing nothing', async () => {
    write('partial.json', jenkinsOutputs({ agent_subnet_ids: undefined, agent_kms_key_alias: undefined }));
    const run = await init(['--outputs', 'partial.json']);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      'error: partial.json lacks the outputs agent_subnet_ids (for pools[].subnets), agent_kms_key_alias (for secrets.kmsKeyId): give `terraform -chdir=terraform/jenkins output -json` of an applied terraform/jenkins\n',
    );
    const empty = await init(['--outputs', '-'], '{}');
    expect(empty.stderr).toContain('error: the outputs given lacks the outputs fleet (for fleet), region (for region), controller_url');
    expect(() => readFileSync(join(dir, 'fleet.yaml'))).toThrow();
  });

  it('names an output of the wrong shape, a file that is not the JSON of terraform output, and an unreadable one', async () => {
    write('wrong.json', jenkinsOutputs({ agent_subnet_ids: [] }));
    expect((await init(['--outputs', 'wrong.json'])).stderr).toBe(
      'error: wrong.json: output agent_subnet_ids is [], expected a non-empty list of strings (has the root been applied?)\n',
    );
    write('one.json', { value: 'x' });
    expect((await init(['--outputs', 'one.json'])).stderr).toContain("one.json: output value has no \"value\"; expected what `terraform output -json` prints");
    writeFileSync(join(dir, 'text.txt'), 'agent_subnet_ids = ["subnet-1"]');
    expect((await init(['--outputs', 'text.txt'])).stderr).toMatch(/^error: text\.txt: not JSON \(.*\); expected what `terraform output -json` prints\n$/);
    expect((await init(['--outputs', 'absent.json'])).stderr).toBe(
      'error: --outputs absent.json: cannot be read (ENOENT); write it with `terraform -chdir=terraform/jenkins output -json > absent.json`\n',
    );
  });

  it('rejects a value the fleet file does not accept before writing anything', async () => {
    write('bad.json', jenkinsOutputs({ agent_security_group_id: 'default' }));
    const run = await init(['--outputs', 'bad.json']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: fleet\.yaml:\d+: pools\[0\]\.securityGroups\[0\]: expected a security group id \(sg-\.\.\.\), found "default" \(as filled from the outputs; nothing was written\)$/m);
    expect(() => readFileSync(join(dir, 'fleet.yaml'))).toThrow();
  });

  it("writes a queue per region from terraform/jenkins's outputs and each further region's terraform/interruptions, and keeps a region's queue it is not given", async () => {
    const east = 'https://sqs.us-east-1.amazonaws.com/123456789012/jenkins-fleet-bank-ci-interruptions';
    const west = 'https://sqs.us-west-2.amazonaws.com/123456789012/jenkins-fleet-bank-ci-interruptions';
    write('jenkins.outputs.json', jenkinsOutputs());
    write('interruptions-us-west-2.json', { interruption_queue_url: { sensitive: false, type: 'string', value: west } });
    const run = await init(['--outputs', 'jenkins.outputs.json', '--outputs', 'interruptions-us-west-2.json']);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^ {2}interruptions\.queues +https:\/\/sqs\.us-east-1\..*, https:\/\/sqs\.us-west-2\..* {2}\(interruption_queue_url\)$/m);
    expect(parseFleet(readFileSync(join(dir, 'fleet.yaml'), 'utf8'), 'fleet.yaml').interruptions).toEqual({ queues: [east, west] });
    // Again with terraform/jenkins's outputs alone: its region's queue is replaced, the other region's stays.
    write('jenkins.outputs.json', jenkinsOutputs({ interruption_queue_url: east.replace('123456789012', '210987654321') }));
    expect((await init(['--outputs', 'jenkins.outputs.json', '--force'])).stderr).toBe('');
    expect(parseFleet(readFileSync(join(dir, 'fleet.yaml'), 'utf8'), 'fleet.yaml').interruptions).toEqual({ queues: [east.replace('123456789012', '210987654321'), west] });
    // Two roots' queues in one region: which is the fleet's cannot be told.
    write('interruptions-again.json', { interruption_queue_url: { sensitive: false, type: 'string', value: east } });
    const twice = await init(['--outputs', 'jenkins.outputs.json', '--outputs', 'interruptions-again.json', '--force']);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/jenkins\.outputs\.json, interruptions-again\.json: output interruption_queue_url names two queues in us-east-1 \(.*\); give one root's outputs per region/);
  });

  it('fills the deploy\'s state bucket from the bootstrap root\'s outputs, and refuses two roots that disagree', async () => {
    write('jenkins.outputs.json', jenkinsOutputs());
    write('bootstrap.outputs.json', { state_bucket: { sensitive: false, type: 'string', value: 'bank-tfstate-0a1b2c' }, state_bucket_region: { sensitive: false, type: 'string', value: 'us-east-1' }, region: { sensitive: false, type: 'string', value: 'us-east-1' } });
    writeFileSync(join(dir, 'fleet.yaml'), readFileSync(join(root, 'fleet.yaml')));
    const run = await init(['--outputs', 'jenkins.outputs.json', '--outputs', 'bootstrap.outputs.json', '--force']);
    expect(run.stderr).toBe('');
    const fleet = parseFleet(readFileSync(join(dir, 'fleet.yaml'), 'utf8'), 'fleet.yaml');
    expect(fleet.library?.jenkinsfile.backendConfig).toMatchObject({ bucket: 'bank-tfstate-0a1b2c', region: 'us-east-1' });

    write('other.outputs.json', { region: { sensitive: false, type: 'string', value: 'eu-west-1' } });
    expect((await init(['--outputs', 'jenkins.outputs.json', '--outputs', 'other.outputs.json', '--force'])).stderr).toBe(
      'error: output region is "us-east-1" in jenkins.outputs.json but "eu-west-1" in other.outputs.json\n',
    );
  });

  it("puts the deploy's inputs no root outputs where the pipeline reads them, shared or a region's own, and refuses a malformed one", async () => {
    write('jenkins.outputs.json', jenkinsOutputs());
    writeFileSync(join(dir, 'fleet.yaml'), readFileSync(join(root, 'fleet.yaml')));
    const east = 'arn:aws:acm:us-east-1:301234567890:certificate/5e6f7a8b-0000-4000-8000-000000000002';
    const west = 'arn:aws:acm:us-west-2:301234567890:certificate/5e6f7a8b-0000-4000-8000-000000000003';
    const vault = 'arn:aws:backup:us-east-2:409876543210:backup-vault:bank-app-copies';
    const run = await init(['--outputs', 'jenkins.outputs.json', '--deploy-var', `us-east-1.certificate_arn=${east}`,
      '--deploy-var', `us-west-2.certificate_arn=${west}`, '--deploy-var', `backup_copy_vault_arn=${vault}`, '--force']);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^ {2}library\.jenkinsfile\.regions\[1\]\.vars\.certificate_arn +arn:aws:acm:us-west-2:\S+ {2}\(--deploy-var\)$/m);
    expect(run.stdout).toMatch(/^ {2}library\.jenkinsfile\.vars\.backup_copy_vault_arn +arn:aws:backup:\S+ {2}\(--deploy-var\)$/m);
    const deploy = parseFleet(readFileSync(join(dir, 'fleet.yaml'), 'utf8'), 'fleet.yaml').library?.jenkinsfile;
    expect(deploy?.regions.map((r) => [r.name, r.vars.certificate_arn])).toEqual([['us-east-1', east], ['us-west-2', west]]);
    expect(deploy?.vars.backup_copy_vault_arn).toBe(vault);
    expect((await init(['--outputs', 'jenkins.outputs.json', '--deploy-var', 'certificate_arn', '--force'])).stderr).toBe(
      'error: --deploy-var: expected NAME=VALUE or REGION.NAME=VALUE (a variable of the deploy\'s Terraform and its value), found "certificate_arn"\n',
    );
    // Every region gives its own certificate: a shared one would reach no plan.
    expect((await init(['--outputs', 'jenkins.outputs.json', '--deploy-var', `certificate_arn=${east}`, '--force'])).stderr).toBe(
      'error: --deploy-var certificate_arn: every region of fleet.yaml library.jenkinsfile.regions gives its own certificate_arn, so a shared one would reach no plan; give it per region (--deploy-var us-east-1.certificate_arn=...)\n',
    );
    expect((await init(['--outputs', 'jenkins.outputs.json', '--deploy-var', `eu-west-1.certificate_arn=${east}`, '--force'])).stderr).toBe(
      'error: --deploy-var eu-west-1.certificate_arn: fleet.yaml library.jenkinsfile.regions has no region eu-west-1 (it has us-east-1, us-west-2)\n',
    );
  });

  it('leaves a pool of another region alone and says so', async () => {
    write('jenkins.outputs.json', jenkinsOutputs());
    const text = readFileSync(join(root, 'examples/fleet.yaml'), 'utf8').replace(/(- name: awsDeploy2\n)/, '$1    region: eu-west-1\n');
    writeFileSync(join(dir, 'mine.yaml'), text);
    const run = await init(['--outputs', 'jenkins.outputs.json', '--from', 'mine.yaml']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('note: pools.awsDeploy2 runs in eu-west-1, not in us-east-1 where terraform/jenkins made the subnets');
    const pools = parseFleet(readFileSync(join(dir, 'fleet.yaml'), 'utf8'), 'fleet.yaml').pools;
    expect(pools.find((p) => p.name === 'awsDeploy2')?.subnets).toEqual(parseFleet(text, 'x').pools.find((p) => p.name === 'awsDeploy2')?.subnets);
  });
});
