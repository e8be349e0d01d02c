// docs/GETTING-STARTED.md walked offline: its `sh walk` blocks, exactly as written, run in order in
// one bash on a copy of the repository, with `terraform` answered by terraform-offline.mjs (the
// real terraform and provider mirror: init, an offline plan for each apply and destroy, made-up
// outputs) and every `provisioner` command reaching the sandbox of EC2, SSM and Jenkins the way
// it reaches an account (the AWS SDK's endpoint variables, the token file, the controller URL from
// the made-up outputs). What each step prints is compared with the guide's `prints` block under
// it. The blocks not walked (AWS CLI, Docker, git) must parse, and what they name must agree with
// the repository: the secrets casc.yaml reads, the library's version, the estate's settings.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toolPath } from '../support/tools.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const guidePath = join(repoRoot, 'docs/GETTING-STARTED.md');
const guide = readFileSync(guidePath, 'utf8');
const mirror = process.env.TF_PROVIDER_MIRROR ?? '/opt/tf-plugins';

interface Block {
  info: string;
  body: string;
  line: number;
}

/** The guide's fenced blocks, in order, with their info strings (`sh walk`, `sh`, `text prints`). */
function fencedBlocks(markdown: string): Block[] {
  const found: Block[] = [];
  const pattern = /^```([^\n]*)\n([\s\S]*?)^```$/gm;
  for (const match of markdown.matchAll(pattern)) {
    found.push({ info: match[1]!.trim(), body: match[2]!, line: markdown.slice(0, match.index).split('\n').length });
  }
  return found;
}

const blocks = fencedBlocks(guide);
const walked = blocks.filter((b) => b.info === 'sh walk');
const notWalked = blocks.filter((b) => b.info === 'sh');

/** The `prints` block right after a walked one, if any. */
function printsOf(block: Block): Block | undefined {
  const next = blocks[blocks.indexOf(block) + 1];
  return next?.info === 'text prints' ? next : undefined;
}

/**
 * Every line of `expected` appears in `output`, in order; `…` stands for any text within a line,
 * a line of `…` alone for any lines, and a run of spaces for any (columns are padded to the values).
 */
function missingLines(expected: string, output: string): string[] {
  const squeeze = (line: string) => line.replace(/\s+/g, ' ').trim();
  const lines = output.split('\n').map(squeeze);
  let at = 0;
  const missing: string[] = [];
  for (const want of expected.split('\n').map(squeeze).filter((l) => l !== '' && l !== '…')) {
    const pattern = new RegExp(`^${want.split('…').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*?')}$`);
    const found = lines.findIndex((line, i) => i >= at && pattern.test(line));
    if (found < 0) missing.push(want);
    else at = found + 1;
  }
  return missing;
}

/** `NAME=...` keys of an env file. */
function envKeys(text: string): string[] {
  return [...text.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!).sort();
}

// The estate the walk stands up: an account of its own (no example account id, no reserved
// domain), with every setting docs/estate.env.example has.
const account = '301234567890';
const estate = `CI_REGION=us-east-1
STANDBY_REGION=us-west-2
CONTROLLER_DOMAIN=jenkins.ci.bank.internal
CONTROLLER_CERTIFICATE_ARN=arn:aws:acm:us-east-1:${account}:certificate/6b1d0c2e-1f3a-4b5c-8d9e-0a1b2c3d4e01
CONTROLLER_HOSTED_ZONE_ID=Z04512345ABCDEFGHIJKL
CONTROLLER_ALLOWED_CIDRS='["10.0.0.0/8", "172.16.0.0/12"]'
GITHUB_OWNER=bank-ci-org
GITHUB_REPOSITORY=jenkins-fleet
APP_DOMAIN=app.bank-online.net
APP_HOSTED_ZONE_ID=Z04598765ZYXWVUTSRQPO
APP_CERTIFICATE_ARN=arn:aws:acm:us-east-1:${account}:certificate/6b1d0c2e-1f3a-4b5c-8d9e-0a1b2c3d4e02
APP_STANDBY_CERTIFICATE_ARN=arn:aws:acm:us-west-2:${account}:certificate/6b1d0c2e-1f3a-4b5c-8d9e-0a1b2c3d4e03
BACKUP_COPY_VAULT_ARN=arn:aws:backup:us-east-2:409876543210:backup-vault:bank-app-copies
`;

type Outputs = Record<string, unknown>;
const asTerraformJson = (values: Outputs) =>
  JSON.stringify(Object.fromEntries(Object.entries(values).map(([name, value]) => [name, { sensitive: false, type: Array.isArray(value) ? ['list', 'string'] : 'string', value }])), null, 2);

function bootstrapOutputs(region: string, registry: boolean): Outputs {
  const host = `${account}.dkr.ecr.${region}.amazonaws.com`;
  return {
    state_bucket: `bank-tfstate-${account}-${region}`,
    state_bucket_region: region,
    state_kms_key_arn: `arn:aws:kms:${region}:${account}:key/7c2e1d3f-0000-4000-8000-00000000000${registry ? 1 : 2}`,
    registry: registry ? host : null,
    controller_repository_url: registry ? `${host}/bank-ci/jenkins` : null,
    repository_urls: registry ? { controller: `${host}/bank-ci/jenkins` } : {},
  };
}

function jenkinsOutputs(controllerUrl: string): Outputs {
  return {
    fleet: 'bank-ci',
    region: 'us-east-1',
    controller_url: controllerUrl,
    agent_subnet_ids: ['subnet-0c4f2a7e9b1d30001', 'subnet-0c4f2a7e9b1d30002'],
    agent_security_group_id: 'sg-0c4f2a7e9b1d30003',
    agent_instance_profile: 'bank-ci-agent',
    review_agent_security_group_id: 'sg-0c4f2a7e9b1d30006',
    review_agent_instance_profile: 'bank-ci-review-agent',
    agent_kms_key_alias: 'alias/jenkins-fleet/bank-ci',
    agent_kms_key_id: '8d3f2e4a-0000-4000-8000-000000000004',
    lock_table: 'jenkins-fleet-bank-ci-locks',
    // The one output the sandbox serves as it is named: its SQS is one account (123456789012) and
    // refuses a queue elsewhere, as a queue in another account is not this account's to read.
    interruption_queue_url: 'https://sqs.us-east-1.amazonaws.com/123456789012/jenkins-fleet-bank-ci-interruptions',
    provisioner_policy_arn: `arn:aws:iam::${account}:policy/bank-ci-provisioner`,
    provisioner_role_arn: null,
    controller_instance_id: 'i-0c4f2a7e9b1d30005',
    controller_load_balancer_dns_name: 'internal-bank-ci-jenkins-0123456789.us-east-1.elb.amazonaws.com',
    controller_secrets_path: '/jenkins-controller/bank-ci-jenkins',
    controller_load_balancer_internal: true,
    app_deploy_role_arn: `arn:aws:iam::${account}:role/bank-app-deploy`,
    app_plan_role_arn: `arn:aws:iam::${account}:role/bank-app-plan`,
    app_permissions_boundary_arn: `arn:aws:iam::${account}:policy/bank-app-deploy-boundary`,
    vpc_endpoints: ['ec2', 'ec2messages', 'ecr.api', 'ecr.dkr', 'kms', 'logs', 'secretsmanager', 'sqs', 'ssm', 'ssmmessages', 'sts'],
    // The guide applies terraform/jenkins without watch_image: no ECS watch service.
    watch_service: null,
  };
}

/** The outputs a root declares (outputs.tf), which the made-up ones must all give. */
function declaredOutputs(root: string): string[] {
  return [...readFileSync(join(repoRoot, 'terraform', root, 'outputs.tf'), 'utf8').matchAll(/^output "([^"]+)"/gm)].map((m) => m[1]!).sort();
}

describe('docs/GETTING-STARTED.md', () => {
  it('is linked from the README', () => {
    expect(readFileSync(join(repoRoot, 'README.md'), 'utf8')).toContain('(docs/GETTING-STARTED.md)');
  });

  it('marks the steps the test walks, and every block of commands parses', () => {
    expect(walked.length).toBeGreaterThanOrEqual(8);
    for (const block of [...walked, ...notWalked]) {
      const check = spawnSync('bash', ['-n'], { input: block.body, encoding: 'utf8' });
      expect(check.status, `docs/GETTING-STARTED.md:${block.line}: ${check.stderr}`).toBe(0);
    }
  });

  it('puts every secret the controller reads from Parameter Store, and no other', () => {
    const envExample = readFileSync(join(repoRoot, 'jenkins/.env.example'), 'utf8');
    // What the instance passes to the container itself (user data), rather than as a secret file.
    const userData = readFileSync(join(repoRoot, 'terraform/modules/jenkins-controller/user-data.sh.tftpl'), 'utf8');
    const passed = new Set([...userData.matchAll(/-e (\w+)=/g)].map((m) => m[1]));
    const needed = envKeys(envExample).filter((name) => !passed.has(name));
    const secretsStep = notWalked.find((b) => b.body.includes('aws ssm put-parameter'));
    expect(secretsStep, 'a block that puts the secrets').toBeDefined();
    const typed = /for name in ([A-Z_ ]+); do/.exec(secretsStep!.body)?.[1]?.trim().split(/\s+/) ?? [];
    const fromOutputs = [...(/for pair in ([A-Za-z_: ]+); do/.exec(secretsStep!.body)?.[1]?.matchAll(/([A-Z_]+):([a-z_]+)/g) ?? [])];
    expect([...typed, ...fromOutputs.map((m) => m[1])].sort()).toEqual(needed);
    // The outputs it reads them from exist.
    for (const m of fromOutputs) expect(declaredOutputs('jenkins')).toContain(m[2]);
  });

  it("pins the database's CA bundle the image fetches, before the first build, and commits the pin", () => {
    const dockerfile = readFileSync(join(repoRoot, 'app/Dockerfile'), 'utf8');
    const url = /^ARG DB_CA_BUNDLE_URL=(\S+)$/m.exec(dockerfile)?.[1];
    expect(url, 'app/Dockerfile ARG DB_CA_BUNDLE_URL').toBeDefined();
    const fetched = notWalked.find((b) => b.body.includes(`curl -fsSo global-bundle.pem ${url}\n`));
    expect(fetched, `a block that fetches ${url}`).toBeDefined();
    const pin = notWalked.find((b) => b.body.includes('sha256sum global-bundle.pem | cut -d\' \' -f1 >> app/db-ca-bundle.sha256'));
    expect(pin, 'a block that pins the hash').toBeDefined();
    const commit = notWalked.find((b) => /git add [^&]*app\/db-ca-bundle\.sha256/.test(b.body));
    expect(commit, 'a block that commits the pin').toBeDefined();
    expect(blocks.indexOf(fetched!)).toBeLessThan(blocks.indexOf(pin!));
    expect(blocks.indexOf(pin!)).toBeLessThan(blocks.indexOf(commit!));
    // Before the first build, which is the step that first builds the app's image.
    expect(guide.indexOf('sha256sum global-bundle.pem |')).toBeLessThan(guide.indexOf('Then the first build.'));
  });

  it('tags the library at the version fleet.yaml renders and casc.yaml pins', () => {
    const fleet = parse(readFileSync(join(repoRoot, 'fleet.yaml'), 'utf8')) as { library: { version: string } };
    const casc = parse(readFileSync(join(repoRoot, 'jenkins/casc.yaml'), 'utf8')) as { unclassified: { globalLibraries: { libraries: { defaultVersion: string }[] } } };
    const tags = notWalked.flatMap((b) => [...b.body.matchAll(/git tag (\S+) && git push origin (\S+)/g)]);
    expect(tags.length).toBe(1);
    expect(tags[0]![1]).toBe(fleet.library.version);
    expect(tags[0]![2]).toBe(fleet.library.version);
    expect(casc.unclassified.globalLibraries.libraries[0]!.defaultVersion).toBe(fleet.library.version);
  });

  it("has the walk's estate settings be exactly the template's", () => {
    expect(envKeys(estate)).toEqual(envKeys(readFileSync(join(repoRoot, 'docs/estate.env.example'), 'utf8')));
  });

  describe('walked offline', () => {
    let scratch: string;
    let sandbox: ReturnType<typeof spawn> | undefined;
    let output = '';
    let status: number | null = null;

    beforeAll(async () => {
      if (spawnSync('terraform', ['version']).error) throw new Error('terraform is not on PATH; install Terraform >= 1.11 (https://developer.hashicorp.com/terraform/install)');
      if (spawnSync('test', ['-d', join(mirror, 'registry.terraform.io/hashicorp/aws')]).status !== 0) {
        throw new Error(`no hashicorp/aws provider in the filesystem mirror ${mirror}; point TF_PROVIDER_MIRROR at a directory made with \`terraform providers mirror DIR\``);
      }
      scratch = mkdtempSync(join(tmpdir(), 'guide-walk-'));
      const repo = join(scratch, 'repo');
      // The repository as a clone has it (tracked and new files, not what git ignores), and its installed tools.
      const files = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: repoRoot, encoding: 'utf8' }).stdout.split('\0').filter(Boolean);
      for (const file of files) {
        mkdirSync(dirname(join(repo, file)), { recursive: true });
        try {
          cpSync(join(repoRoot, file), join(repo, file));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // deleted in the worktree, not yet committed
        }
      }
      symlinkSync(join(repoRoot, 'node_modules'), join(repo, 'node_modules'));
      writeFileSync(join(repo, 'estate.env'), estate);
      // Step 7's pin of the database's CA bundle needs the internet: the walk pins a hash of its own,
      // appended as the guide's command appends it.
      const pinFile = join(repo, 'app/db-ca-bundle.sha256');
      if (!/^[0-9a-f]{64}$/m.test(readFileSync(pinFile, 'utf8'))) appendFileSync(pinFile, `${'0'.repeat(64)}\n`);

      // The made-up outputs; the controller's URL is the sandbox's, known once it runs.
      const outputs = join(scratch, 'outputs');
      mkdirSync(outputs);
      writeFileSync(join(outputs, 'bootstrap@us-east-1.json'), asTerraformJson(bootstrapOutputs('us-east-1', true)));
      writeFileSync(join(outputs, 'bootstrap@us-west-2.json'), asTerraformJson(bootstrapOutputs('us-west-2', false)));
      writeFileSync(join(outputs, 'app@us-east-1.json'), asTerraformJson({ load_balancer_dns_name: 'bank-app-use1-alb-0123456789.us-east-1.elb.amazonaws.com' }));
      writeFileSync(join(outputs, 'app@us-west-2.json'), asTerraformJson({ load_balancer_dns_name: 'bank-app-usw2-alb-0123456789.us-west-2.elb.amazonaws.com' }));

      // The sandbox authorises the provisioner's calls against provisioner-iam for the fleet as
      // `init` fills it from these outputs, as terraform/jenkins would grant it.
      const bin = join(repoRoot, 'bin/provisioner.mjs');
      writeFileSync(join(outputs, 'jenkins.json'), asTerraformJson(jenkinsOutputs('https://jenkins.ci.bank.internal/')));
      const sandboxFleet = join(scratch, 'sandbox-fleet.yaml');
      const filled = spawnSync(process.execPath, [bin, '--config', sandboxFleet, 'init', '--outputs', join(outputs, 'jenkins.json'), '--from', join(repoRoot, 'fleet.yaml')], { encoding: 'utf8' });
      expect(filled.status, filled.stderr).toBe(0);
      const state = join(scratch, 'sandbox');
      const child = spawn(process.execPath, [bin, 'sandbox', '--state', state, '--fleet', sandboxFleet], { stdio: ['ignore', 'pipe', 'pipe'] });
      sandbox = child;
      const env = await new Promise<Record<string, string>>((resolve, reject) => {
        let text = '';
        child.stdout!.on('data', (chunk: Buffer) => {
          text += chunk;
          if (text.includes('AWS_SECRET_ACCESS_KEY')) resolve(Object.fromEntries([...text.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!.replace(/^'|'$/g, '')])));
        });
        child.stderr!.on('data', (chunk: Buffer) => (text += chunk));
        child.once('exit', (code) => reject(new Error(`the sandbox stopped early (exit ${code}): ${text}`)));
      });
      writeFileSync(join(outputs, 'jenkins.json'), asTerraformJson(jenkinsOutputs(env.JENKINS_URL!)));

      // The operator's home: the service account's token where step 6 keeps it.
      const home = join(scratch, 'home');
      mkdirSync(join(home, '.config/jenkins-fleet'), { recursive: true });
      writeFileSync(join(home, '.config/jenkins-fleet/token'), env.JENKINS_API_TOKEN!, { mode: 0o600 });

      const shims = join(scratch, 'bin');
      mkdirSync(shims);
      // The walk's PATH holds exactly what the walked blocks run (and this node): no other tool of
      // this machine (a real aws, say) can answer for one the guide means the operator to have.
      const tools = toolPath(join(scratch, 'tools'), ['bash', 'sh', 'env', 'sed', 'date', 'grep', 'cat', 'rm', 'mkdir', 'dirname', 'mktemp', 'npx']);
      symlinkSync(process.execPath, join(tools, 'node'));
      const real = spawnSync('bash', ['-c', 'command -v terraform'], { encoding: 'utf8' }).stdout.trim();
      writeFileSync(join(shims, 'terraform'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(join(repoRoot, 'test/docs/terraform-offline.mjs'))} "$@"\n`);
      chmodSync(join(shims, 'terraform'), 0o755);
      const cliConfig = join(scratch, 'cli.tfrc');
      writeFileSync(
        cliConfig,
        `provider_installation {\n  filesystem_mirror {\n    path    = ${JSON.stringify(mirror)}\n    include = ["registry.terraform.io/hashicorp/*"]\n  }\n  direct {\n    exclude = ["registry.terraform.io/hashicorp/*"]\n  }\n}\n`,
      );

      // One bash runs every walked block, as one operator's shell would; a marker line before each
      // block tells their outputs apart.
      const script = ['set -euo pipefail', ...walked.flatMap((block, i) => [`printf '\\n@@step ${i}@@\\n'`, block.body])].join('\n');
      const walkEnv: NodeJS.ProcessEnv = {
        PATH: [shims, tools].join(':'),
        HOME: home,
        TMPDIR: scratch,
        LANG: 'C.UTF-8',
        TF_CLI_CONFIG_FILE: cliConfig,
        GUIDE_TF_REAL: real,
        GUIDE_TF_PLANS: join(repoRoot, 'test/terraform/provider/plans'),
        GUIDE_TF_OUTPUTS: outputs,
        GUIDE_TF_STATE: join(scratch, 'terraform-regions.json'),
        // The credentials and endpoints the operator's AWS SDK would find (step 9): the sandbox's.
        AWS_REGION: env.AWS_REGION,
        AWS_ACCESS_KEY_ID: env.AWS_ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY: env.AWS_SECRET_ACCESS_KEY,
        AWS_ENDPOINT_URL_EC2: env.AWS_ENDPOINT_URL_EC2,
        AWS_ENDPOINT_URL_SSM: env.AWS_ENDPOINT_URL_SSM,
        AWS_ENDPOINT_URL_DYNAMODB: env.AWS_ENDPOINT_URL_DYNAMODB,
        AWS_ENDPOINT_URL_SQS: env.AWS_ENDPOINT_URL_SQS,
        npm_config_update_notifier: 'false',
      };
      const walk = spawn('bash', ['-c', script], { cwd: repo, env: walkEnv, stdio: ['ignore', 'pipe', 'pipe'] });
      walk.stdout!.on('data', (chunk: Buffer) => (output += chunk));
      walk.stderr!.on('data', (chunk: Buffer) => (output += chunk));
      status = await new Promise((resolve) => walk.once('close', resolve));
    }, 900_000);

    afterAll(async () => {
      if (sandbox && sandbox.exitCode === null) {
        const exited = new Promise((r) => sandbox!.once('exit', r));
        sandbox.kill('SIGTERM');
        await exited;
      }
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    });

    it('runs every walked step to the end', () => {
      expect(status, output.slice(-6000)).toBe(0);
      expect(output).toContain(`@@step ${walked.length - 1}@@`);
    });

    it('prints what the guide says each step prints', () => {
      const steps = output.split(/^@@step (\d+)@@$/m);
      const byIndex = new Map<number, string>();
      for (let i = 1; i < steps.length; i += 2) byIndex.set(Number(steps[i]), steps[i + 1] ?? '');
      const problems: string[] = [];
      walked.forEach((block, i) => {
        const prints = printsOf(block);
        if (!prints) return;
        const missing = missingLines(prints.body, byIndex.get(i) ?? '');
        if (missing.length > 0) problems.push(`docs/GETTING-STARTED.md:${prints.line}: not printed:\n  ${missing.join('\n  ')}\n--- what the step printed:\n${byIndex.get(i) ?? '(the step did not run)'}`);
      });
      expect(problems.join('\n\n')).toBe('');
    });

    it('plans every Terraform apply and destroy of the guide against the provider mirror', () => {
      const applies = walked.flatMap((b) => [...b.body.matchAll(/terraform -chdir=terraform\/([\w-]+) (apply|destroy)/g)]).length;
      // bootstrap-state.sh applies terraform/bootstrap once per region besides.
      const bootstraps = walked.flatMap((b) => [...b.body.matchAll(/scripts\/bootstrap-state\.sh /g)]).length;
      const planned = [...output.matchAll(/^\[offline\] [\w-]+: (apply|destroy) planned with/gm)].length;
      const validated = [...output.matchAll(/^\[offline\] [\w-]+: validated, not planned/gm)].length;
      expect(planned + validated).toBe(applies + bootstraps);
      expect(validated).toBeLessThanOrEqual(2); // terraform/app-secrets: its ephemeral password generator cannot be planned offline
    });

    it("gives made-up outputs for every output the roots declare", () => {
      expect(Object.keys(jenkinsOutputs('x')).sort()).toEqual(declaredOutputs('jenkins'));
      expect(Object.keys(bootstrapOutputs('us-east-1', true)).sort()).toEqual(declaredOutputs('bootstrap'));
    });
  });
});
