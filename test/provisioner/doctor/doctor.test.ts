// `provisioner doctor` over a copy of the repository's files: it passes as they are, and each
// broken variant (one thing changed) fails naming that problem.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkRepository, type CheckResult } from '../../../provisioner/src/doctor/checks.ts';
import { readRepository } from '../../../provisioner/src/doctor/repository.ts';
import type { DoctorReport } from '../../../provisioner/src/doctor/report.ts';
import { withoutScaledPools } from '../../support/fleet.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const bin = join(root, 'bin/provisioner.mjs');

let repo: string;

// The deploy's Terraform, whose inputs doctor checks fleet.yaml against.
const tfFiles = readdirSync(join(root, 'terraform/app')).filter((f) => f.endsWith('.tf')).map((f) => `terraform/app/${f}`);

/** Copies the files doctor reads into a temporary repository. */
function copyRepository(): string {
  const dir = mkdtempSync(join(tmpdir(), 'doctor-'));
  for (const file of ['jenkins/casc.yaml', 'jenkins/plugins.txt', 'jenkins/Dockerfile', 'Jenkinsfile', 'fleet.yaml', 'examples/fleet.yaml', 'app/db-ca-bundle.sha256', ...tfFiles]) {
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

async function doctor(env: NodeJS.ProcessEnv = {}): Promise<CheckResult[]> {
  return checkRepository(await readRepository(repo, join(repo, 'fleet.yaml'), env));
}

// A hash in the form `sha256sum` prints, as whoever checked the bundle would pin it.
const pinnedHash = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

async function problemsOf(name: CheckResult['name']): Promise<string[]> {
  const checks = await doctor();
  const check = checks.find((c) => c.name === name);
  if (!check) throw new Error(`no check named ${name}`);
  return check.problems;
}

function cli(...args: string[]) {
  const env = { ...process.env };
  for (const name of ['JENKINS_URL', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_EC2']) delete env[name];
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
    for (const name of ['fleet', 'reach', 'labels', 'tools', 'library', 'credentials', 'account', 'plugins', 'deploy', 'approval', 'isolation', 'fresh']) expect(run.stdout).toMatch(new RegExp(`^ok +${name} `, 'm'));
    expect(run.status).toBe(0);
  });

  it('says it skipped the live controller and why, and what to do about it', () => {
    const run = cli();
    expect(run.stdout).toMatch(/^skip controller +the live controller \(not checked: JENKINS_URL is not set, so only the files were checked\)$/m);
  });

  it('counts the plugins so that a need brought in by a listed plugin does not read as missing', () => {
    const run = cli();
    expect(run.stdout).toMatch(/^ok +plugins .*\((\d+) plugins needed: (\d+) listed in jenkins\/plugins.txt, (\d+) brought in by listed ones; (\d+) listed in all\)$/m);
    const [, needed, listed, brought] = /\((\d+) plugins needed: (\d+) listed in jenkins\/plugins.txt, (\d+) brought in by listed ones/.exec(run.stdout)!.map(Number);
    expect(listed! + brought!).toBe(needed);
  });

  it("names the example's values the bank's fleet.yaml still holds as things to fill in before a deploy, without failing", () => {
    const run = cli();
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^todo values /m);
    expect(run.stdout).toContain('fleet.yaml controller.url (jenkins.bank.example: a domain reserved for examples), pools.awsDeploy.subnets, pools.awsDeploy.securityGroups,');
    expect(run.stdout).toContain('`provisioner init --outputs jenkins.outputs.json --force`');
    expect(run.stdout).toMatch(/library\.jenkinsfile\.regions\[0\]\.vars\.certificate_arn arn:aws:acm:us-east-1:123456789012:\S+ names AWS's example account 123456789012/);
    expect(run.stdout).toMatch(/library\.jenkinsfile\.regions\[1\]\.vars\.certificate_arn arn:aws:acm:us-west-2:123456789012:\S+ names AWS's example account 123456789012/);
    expect(run.stdout).toContain("- app/db-ca-bundle.sha256 holds no hash yet: the app's runtime image is not built (the pipeline's dockerPush(context: 'app') stops naming this file)");
    expect(run.stdout).toMatch(/^doctor: no problems found; 4 things to fill in before a deploy\nnext: fill in what the todo lines name/m);
  });

  it('has nothing to fill in once the values are this account\'s', async () => {
    edit('fleet.yaml', /subnet-0a1b2c3d4e5f6000([12])/g, 'subnet-0fedcba98765432$1');
    edit('fleet.yaml', /sg-0a1b2c3d4e5f60003/g, 'sg-0fedcba9876543210');
    edit('fleet.yaml', 'sg-0a1b2c3d4e5f60004', 'sg-0fedcba9876543211');
    edit('fleet.yaml', 'https://jenkins.bank.example/', 'https://jenkins.ci.bank.internal/');
    edit('fleet.yaml', /:123456789012:/g, ':301234567890:');
    edit('app/db-ca-bundle.sha256', /$/, `${pinnedHash}\n`);
    const values = (await doctor()).find((c) => c.name === 'values');
    expect(values?.todo).toEqual([]);
    expect(values?.problems).toEqual([]);
  });

  it('prints the same report as JSON with --json', () => {
    const run = cli('--json');
    const report = JSON.parse(run.stdout) as DoctorReport;
    expect(report.ok).toBe(true);
    expect(report.problems).toBe(0);
    expect(report.checks.map((c) => c.name)).toEqual(['fleet', 'reach', 'labels', 'tools', 'library', 'credentials', 'account', 'plugins', 'deploy', 'approval', 'isolation', 'fresh', 'values', 'controller']);
    expect(report.checks.find((c) => c.name === 'controller')).toMatchObject({ status: 'skip', skipped: 'JENKINS_URL is not set, so only the files were checked' });
    expect(report.todo).toBe(4);
    expect(run.status).toBe(0);
  });

  it('looks at every stage and at the library in three places', async () => {
    const checks = await doctor();
    expect(checks.find((c) => c.name === 'labels')?.notes[0]).toMatch(/^[1-9]\d* stages, 3 pools$/);
    expect(checks.find((c) => c.name === 'library')?.notes[0]).toBe('loads bank-pipeline@v1.0.0');
  });
});

describe('provisioner doctor on a broken copy', () => {
  it('names a stage whose label no pool serves, and exits 1', () => {
    edit('Jenkinsfile', /(stage\('Image'\) \{[\s\S]*?)agent \{ label 'docker' \}/, "$1agent { label 'windows && docker' }");
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
      expect(problem).toMatch(/stage '(Plan|Apply) us-(east-1|west-2)' calls terraform(Plan|Apply), which needs terraform, but pool awsDeploy serves label 'terraform'/);
    }
  });

  it('names a step whose tool is missing on one of several pools serving its label', async () => {
    // Both pools carry the `python` label, so builds may land on either: both must have python.
    edit('Jenkinsfile', "testInContainer(dir: 'app', publish: false)\n      }\n      post", "buildApp(dir: 'app')\n      }\n      post");
    edit('Jenkinsfile', "agent { label 'docker' }", "agent { label 'python' }");
    edit('fleet.yaml', 'tools: [docker, python]', 'tools: [docker]');
    const problems = await problemsOf('tools');
    expect(problems.some((p) => p.includes("calls buildApp, which needs python, but pool awsDeploy2 serves label 'python'"))).toBe(true);
    expect(problems.every((p) => !p.includes('pool awsDeploy '))).toBe(true);
  });

  it('names a pull-request stage whose pool lacks its tool', async () => {
    edit('fleet.yaml', 'tools: [docker, terraform]', 'tools: [docker]');
    expect(await problemsOf('tools')).toEqual([
      expect.stringMatching(/^Jenkinsfile:\d+: stage 'Plan \(pull request\)' calls terraformPlan, which needs terraform, but pool pullRequests serves label 'pull-request' and its tools are \[docker\] \(add terraform to pools\.pullRequests\.tools or change the stage's label\)$/),
    ]);
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
      "fleet.yaml library.docker.credentialsId uses credential 'docker-hub-push', which jenkins/casc.yaml does not define (defined: github, github-webhook-secret, aws-deploy, dockerhub, aws-plan)",
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

  it('asks for Job/Read exactly when a pool of fleet.yaml follows the queue (has max), and names it as too much otherwise', async () => {
    // As the repository has it: pullRequests has max, and casc.yaml grants Job/Read.
    expect(await problemsOf('account')).toEqual([]);
    edit('jenkins/casc.yaml', /( +)- "Job\/Read"\n(?=( +)- "Agent\/Create")/, '');
    expect(await problemsOf('account')).toEqual([
      'jenkins/casc.yaml jenkins.authorizationStrategy.globalMatrix.entries does not grant provisioner Job/Read, which watch needs to see the build queue (fleet.yaml scales pullRequests with max)',
    ]);
    edit('jenkins/casc.yaml', /( +)- "Agent\/Disconnect"\n/, '$1- "Agent/Disconnect"\n$1- "Job/Read"\n');
    expect(await problemsOf('account')).toEqual([]);
    writeFileSync(join(repo, 'fleet.yaml'), withoutScaledPools(readFileSync(join(repo, 'fleet.yaml'), 'utf8')));
    expect(await problemsOf('account')).toEqual([
      'jenkins/casc.yaml jenkins.authorizationStrategy.globalMatrix.entries grants provisioner Job/Read directly: more than the provisioner needs (only a fleet with a pool that has max needs it, for watch to see the queue; fleet.yaml has none)',
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
    // Overall/Read, the five agent permissions, and Job/Read (pullRequests follows the queue).
    const problems = await problemsOf('account');
    expect(problems).toHaveLength(7);
    expect(problems).toContain(
      'jenkins/casc.yaml jenkins.authorizationStrategy.globalMatrix.entries does not grant ci-bot Job/Read, which watch needs to see the build queue (fleet.yaml scales pullRequests with max)',
    );
  });

  it('names a plugin the library or the Jenkinsfile needs that plugins.txt lacks', async () => {
    edit('jenkins/plugins.txt', /^lockable-resources:.*\n/m, '');
    edit('jenkins/plugins.txt', /^timestamper:.*\n/m, '');
    const problems = await problemsOf('plugins');
    expect(problems).toContain('vars/terraformApply.groovy needs plugin lockable-resources for lock, which jenkins/plugins.txt does not list');
    expect(problems).toContain('Jenkinsfile needs plugin timestamper for timestamps(), which jenkins/plugins.txt does not list');
  });

  it('names each input and backend setting of terraform/app that fleet.yaml does not give, and the region that lacks it', async () => {
    // us-west-2 loses its certificate; the shared backend settings lose the bucket's region.
    edit('fleet.yaml', /\n +certificate_arn: arn:aws:acm:us-west-2.*/, '');
    edit('fleet.yaml', /\n +region: us-east-1\n(?= +vars:)/, '\n');
    expect(await problemsOf('deploy')).toEqual([
      'fleet.yaml library.jenkinsfile.vars.certificate_arn is missing for region us-west-2 (give it there or shared): terraform/app declares variable certificate_arn without a default, so the deploy cannot plan',
      "fleet.yaml library.jenkinsfile.backendConfig.region is missing: terraform/app's s3 backend leaves it to init",
    ]);
  });

  it('names a new variable without a default in terraform/app until fleet.yaml gives it', async () => {
    writeFileSync(join(repo, 'terraform/app/extra.tf'), 'variable "waf_rate_limit" {\n  type = number\n}\n');
    expect(await problemsOf('deploy')).toEqual([
      'fleet.yaml library.jenkinsfile.vars.waf_rate_limit is missing: terraform/app declares variable waf_rate_limit without a default, so the deploy cannot plan',
    ]);
    // The generated Jenkinsfile lists the module's required variables, so it is stale too.
    expect((await problemsOf('fresh')).some((p) => p.startsWith('Jenkinsfile: differs from what Jenkinsfile.hbs renders'))).toBe(true);
  });

  it('names an approval anyone could give, one whose submitter casc.yaml does not know or spells with spaces', async () => {
    edit('Jenkinsfile', "submitter 'deployers'", "submitter 'deployers, release-managers'");
    expect(await problemsOf('approval')).toEqual([
      expect.stringMatching(/^Jenkinsfile:\d+: stage 'Approve': submitter 'deployers, release-managers' has spaces around 'release-managers'; Jenkins compares the names untrimmed/),
    ]);
    edit('Jenkinsfile', "submitter 'deployers, release-managers'", "submitter 'release-managers'");
    expect(await problemsOf('approval')).toEqual([
      expect.stringMatching(/^Jenkinsfile:\d+: stage 'Approve': submitter 'release-managers' is no user or group jenkins\/casc\.yaml authorizes/),
    ]);
    edit('Jenkinsfile', /\n +submitter 'release-managers'/, '');
    expect(await problemsOf('approval')).toEqual([
      expect.stringMatching(/^Jenkinsfile:\d+: stage 'Approve' asks for an approval without a submitter: anyone who may build the job could give it$/),
    ]);
  });

  it('names an approval that holds an executor or waits forever, and an apply without one', async () => {
    edit('Jenkinsfile', /(stage\('Approve'\) \{\n)/, "$1      agent { label 'terraform' }\n");
    // A stage's own agent comes after its input: this one still holds nothing while it waits.
    expect(await problemsOf('approval')).toEqual([]);
    edit('Jenkinsfile', /(stage\('Approve'\) \{[\s\S]*?options \{\n)\s*timeout\(time: 24, unit: 'HOURS'\)\n/, '$1');
    expect(await problemsOf('approval')).toEqual([
      expect.stringMatching(/stage 'Approve' waits for its approval without a timeout of its own/),
    ]);
    edit('Jenkinsfile', /input \{[\s\S]*?submitterParameter 'APPROVED_BY'\n\s*\}\n/, '');
    expect(await problemsOf('approval')).toEqual([
      expect.stringMatching(/^Jenkinsfile:\d+: stage 'Apply us-east-1' calls terraformApply, but no stage before it asks for an approval/),
      expect.stringMatching(/^Jenkinsfile:\d+: stage 'Apply us-west-2' calls terraformApply, but no stage before it asks for an approval/),
    ]);
  });

  it('names an approval that waits inside a stage holding an agent', async () => {
    const text = readFileSync(join(repo, 'Jenkinsfile'), 'utf8');
    // The approval moved into the pull-request stage, which holds a pull-request agent.
    const approve = /    \/\/ No agent, no lock[\s\S]*?\n    stage\('Apply'\)/.exec(text)![0];
    let moved = text.replace(approve, "    stage('Apply')");
    moved = moved.replace("        stage('Image build (unmerged)') {", approve.replace("\n    stage('Apply')", '').replace(/\n/g, '\n    ') + "\n        stage('Image build (unmerged)') {");
    writeFileSync(join(repo, 'Jenkinsfile'), moved);
    expect((await problemsOf('approval')).some((p) => /stage 'Approve' waits for its approval inside an agent of label 'pull-request', holding that executor/.test(p))).toBe(true);
  });

  it('names a pull-request pool that also serves a deploy stage\'s label', async () => {
    edit('fleet.yaml', 'labels: [pull-request]', 'labels: [pull-request, docker]');
    const problems = await problemsOf('isolation');
    expect(problems).toContain("fleet.yaml pools.pullRequests builds pull requests (label 'pull-request') and also serves 'docker', the label of stage 'Test': unmerged code would share its agents");
  });

  it("names a pull-request pool with a deploy pool's instance profile or security group", async () => {
    edit('fleet.yaml', 'securityGroups: [sg-0a1b2c3d4e5f60004]', 'securityGroups: [sg-0a1b2c3d4e5f60003]');
    edit('fleet.yaml', 'instanceProfile: jenkins-fleet-review-agent', 'instanceProfile: jenkins-fleet-agent');
    const problems = await problemsOf('isolation');
    expect(problems).toContain("fleet.yaml pools.pullRequests builds pull requests (label 'pull-request') with instanceProfile jenkins-fleet-agent, the role of pools.awsDeploy: give it the pull-request agents' own (terraform/jenkins output review_agent_instance_profile)");
    expect(problems).toContain("fleet.yaml pools.pullRequests builds pull requests (label 'pull-request') in security group sg-0a1b2c3d4e5f60003, as pools.awsDeploy2 does: give it the pull-request agents' own (terraform/jenkins output review_agent_security_group_id)");
  });

  it('names a missing pull-request pool', async () => {
    edit('fleet.yaml', 'labels: [pull-request]', 'labels: [review]');
    expect(await problemsOf('isolation')).toContain("fleet.yaml: no pool carries the label 'pull-request' (library.pullRequestLabel), so pull requests and other branches have no agent");
  });

  it('names deploy credentials every job can bind, and a deploy job that also builds pull requests or other branches', async () => {
    edit('jenkins/casc.yaml', "          - string:\n              scope: SYSTEM", "          - aws:\n              id: aws-deploy\n              iamRoleArn: x\n          - string:\n              scope: SYSTEM");
    edit('jenkins/casc.yaml', "includes('main')", "includes('*')");
    edit('jenkins/casc.yaml', /(gitHubBranchDiscovery \{\n\s*strategyId\(3\)\n\s*\})/, '$1\n                  gitHubPullRequestDiscovery {\n                    strategyId(1)\n                  }');
    expect(await problemsOf('isolation')).toEqual([
      "jenkins/casc.yaml defines 'aws-deploy' in credentials.system (scope GLOBAL): every job can bind it, the pull-request job too; define it in the folder of the job that builds main",
      'jenkins/casc.yaml job bank-app holds aws-deploy, dockerhub and builds pull requests: their Jenkinsfile could bind them',
      "jenkins/casc.yaml job bank-app holds aws-deploy, dockerhub but builds the branches '*'; give it headWildcardFilter { includes('main') }",
    ]);
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

  it('names a Spot pool outside the interruption queue\'s region: its notices would never reach watch', async () => {
    edit('fleet.yaml', 'fleet: bank-ci\n', 'fleet: bank-ci\ninterruptions:\n  queue: https://sqs.us-west-2.amazonaws.com/123456789012/jenkins-fleet-bank-ci-interruptions\n');
    edit('fleet.yaml', 'instanceType: t3.large\n', 'instanceType: t3.large\n    capacity: spot-then-on-demand\n');
    const problems = await problemsOf('fleet');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^fleet\.yaml pool awsDeploy2 launches Spot instances in us-east-1, but interruptions\.queue has no queue in us-east-1 \(only in us-west-2\): .*add that region's queue to interruptions\.queues/);
    // A queue per region: every Spot pool's region has one.
    edit('fleet.yaml', '  queue: https://sqs.us-west-2.amazonaws.com/123456789012/jenkins-fleet-bank-ci-interruptions\n', '  queues:\n    - https://sqs.us-west-2.amazonaws.com/123456789012/jenkins-fleet-bank-ci-interruptions\n    - https://sqs.us-east-1.amazonaws.com/123456789012/jenkins-fleet-bank-ci-interruptions\n');
    expect(await problemsOf('fleet')).toEqual([]);
    // On-demand pools elsewhere get no notices to hear; a queue in the pools' region hears them all.
    edit('fleet.yaml', '    - https://sqs.us-west-2.amazonaws.com/123456789012/jenkins-fleet-bank-ci-interruptions\n', '');
    expect(await problemsOf('fleet')).toEqual([]);
  });

  it('names a controller.url on loopback when a pool launches on EC2, and says what to put there', async () => {
    edit('fleet.yaml', 'https://jenkins.bank.example/', 'http://localhost:8080/');
    const problems = await problemsOf('reach');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^fleet\.yaml controller\.url is http:\/\/localhost:8080\/, this machine's loopback: the agents of pools awsDeploy, awsDeploy2, pullRequests launch on EC2/);
    expect(problems[0]).toContain('`terraform -chdir=terraform/jenkins output -raw controller_url`');
    expect(problems[0]).toContain('`provisioner sandbox`');
    edit('fleet.yaml', 'http://localhost:8080/', 'http://127.0.0.1:8080/');
    expect(await problemsOf('reach')).toHaveLength(1);
    // The sandbox's EC2 answers on loopback and starts its agents on this machine, where loopback is right.
    const sandboxed = (await doctor({ AWS_ENDPOINT_URL_EC2: 'http://127.0.0.1:4566' })).find((c) => c.name === 'reach');
    expect(sandboxed?.problems).toEqual([]);
    expect(sandboxed?.notes).toEqual(['EC2 at http://127.0.0.1:4566 launches its agents on this machine']);
  });

  it("names a casc.yaml that leaves Jenkins' root URL unset or on loopback", async () => {
    edit('jenkins/casc.yaml', /\n  location:\n    url: "\$\{JENKINS_URL\}"/, '');
    expect(await problemsOf('reach')).toEqual([
      'jenkins/casc.yaml unclassified.location.url is not set: Jenkins then has no root URL to give the agents of pools awsDeploy, awsDeploy2, pullRequests for their WebSocket connection; set it to the controller\'s URL as the agents reach it ("${JENKINS_URL}")',
    ]);
    edit('jenkins/casc.yaml', 'unclassified:\n', 'unclassified:\n  location:\n    url: "http://localhost:8080/"\n');
    expect((await problemsOf('reach'))[0]).toMatch(/^jenkins\/casc\.yaml unclassified\.location\.url is http:\/\/localhost:8080\/, this machine's loopback/);
  });

  it('names a CA bundle pin that is not one SHA-256, which the image would refuse', async () => {
    edit('app/db-ca-bundle.sha256', /$/, 'not-a-hash\n');
    const values = (await doctor()).find((c) => c.name === 'values');
    expect(values?.problems).toEqual([
      "app/db-ca-bundle.sha256 must hold one SHA-256 (64 hex digits, one line besides comments), found 'not-a-hash': the app's runtime image refuses to build; app/README.md (\"The database's CA bundle\") says how to check RDS's bundle and pin it",
    ]);
    expect(values?.todo?.some((t) => t.startsWith('app/db-ca-bundle.sha256'))).toBe(false);
  });

  it('names a missing file', async () => {
    rmSync(join(repo, 'Jenkinsfile'));
    expect(await problemsOf('labels')).toContain('Jenkinsfile: missing');
    expect((await problemsOf('fresh'))[0]).toMatch(/^Jenkinsfile: missing/);
  });
});
