import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { UserError } from '../../../provisioner/src/errors.ts';
import { groovyLiteral, groovyString, groovyWrapped } from '../../../provisioner/src/library/groovy.ts';
import { renderLibrary, templatesDir } from '../../../provisioner/src/library/render.ts';
import { librarySchema } from '../../../provisioner/src/library/schema.ts';
import { toolHomes } from '../../../provisioner/src/library/steps.ts';
import { readTerraformInputs, type TerraformInputs } from '../../../provisioner/src/library/terraform-inputs.ts';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const bin = join(repo, 'bin/provisioner.mjs');

const pools = [
  { name: 'awsDeploy', labels: ['awsDeploy', 'terraform', 'python'], tools: ['terraform', 'python'] },
  { name: 'awsDeploy2', labels: ['awsDeploy2', 'docker', 'python'], tools: ['docker', 'python'] },
  { name: 'pullRequests', labels: ['pull-request'], tools: ['docker', 'terraform'] },
];
const library = librarySchema.parse({ docker: { image: 'bankco/banking-app' } });
// What terraform/app needs from its caller, as readTerraformInputs reads it.
const terraform: TerraformInputs = {
  dir: 'terraform/app',
  requiredVars: ['container_image', 'domain_name'],
  backend: 's3',
  requiredBackendConfig: ['bucket', 'key', 'region'],
};

const scratch: string[] = [];
afterEach(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'library-test-'));
  scratch.push(dir);
  return dir;
}

describe('the library: section', () => {
  it('fills every default from the image alone', () => {
    expect(library).toEqual({
      name: 'bank-pipeline',
      version: 'v1.0.0',
      deployBranch: 'main',
      python: { interpreter: 'python3', minVersion: '3.11', venvCache: '/var/cache/bank-pipeline/venvs', systemSitePackages: false },
      docker: { registry: 'docker.io', image: 'bankco/banking-app', credentialsId: 'dockerhub' },
      tests: { target: 'test', databaseImage: 'docker.io/library/mariadb:10.11', databaseUrlVariable: 'BANK_TEST_MARIADB_URL' },
      terraform: {
        minVersion: '1.11.1', credentialsId: 'aws-deploy', planCredentialsId: 'aws-plan', pluginCache: '/var/cache/bank-pipeline/terraform-plugins',
        lockTimeout: '10m', approvers: 'deployers', approvalHours: 24,
      },
      pullRequestLabel: 'pull-request',
      jenkinsfile: { appDir: 'app', terraformDir: 'terraform/app', timeoutMinutes: 45, imageVariable: 'container_image', backendConfig: {}, vars: {}, regions: [] },
    });
  });

  it('rejects unknown keys and values that could break out of generated Groovy, naming the path', () => {
    const result = librarySchema.safeParse({
      docker: { image: "bank'; sh 'x", credentialsId: 'a b' },
      python: { venvCache: 'relative' },
      jenkinsfile: { appDir: '../up' },
      colour: 'blue',
    });
    expect(result.success).toBe(false);
    const paths = result.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
    expect(paths).toEqual(
      expect.arrayContaining([
        'docker.image: expected an image repository such as bankco/bank-app (lower case)',
        'docker.credentialsId: expected a Jenkins credentials id (letters, digits, ".", "_", "-")',
        'python.venvCache: expected an absolute path of letters, digits, ".", "_", "-" and "/"',
        'jenkinsfile.appDir: expected a path inside the workspace (no "..")',
        expect.stringMatching(/^: Unrecognized key: "colour"/),
      ]),
    );
  });
});

describe('Groovy literals', () => {
  it('escapes quotes, backslashes, newlines and control characters, and never interpolates', () => {
    expect(groovyString("it's a \\ test\n$x ${y}\u0001")).toBe("'it\\'s a \\\\ test\\n$x ${y}\\u0001'");
    expect(groovyLiteral({ dir: 'app', 'odd key': [1, true, null], empty: {} })).toBe("[dir: 'app', 'odd key': [1, true, null], empty: [:]]");
    expect(groovyLiteral([])).toBe('[]');
  });

  it('wraps a long string into concatenated pieces that join back to it', () => {
    const text = 'run it on a node with label python (pools awsDeploy: labels awsDeploy, terraform, python; awsDeploy2: labels awsDeploy2, docker, python)';
    const wrapped = groovyWrapped(text);
    expect(wrapped.split('\n').every((line) => line.length <= 90)).toBe(true);
    const joined = wrapped.split(' +\n').map((piece) => piece.trim().slice(1, -1)).join('');
    expect(joined).toBe(text);
  });
});

describe('where each tool runs', () => {
  it('uses the label every pool with the tool carries, preferring the tool name', () => {
    const homes = toolHomes(pools, 'pull-request');
    expect(homes.python.label).toBe('python');
    expect(homes.docker.label).toBe('docker');
    expect(homes.terraform.label).toBe('terraform');
    expect(homes.python.hint).toBe(
      "run it on a node with label 'python' (pools awsDeploy: labels awsDeploy, terraform, python; awsDeploy2: labels awsDeploy2, docker, python)",
    );
  });

  it('falls back to a label expression of the pools when they share no label', () => {
    const homes = toolHomes([
      { name: 'a', labels: ['linux-a'], tools: ['python', 'docker', 'terraform'] },
      { name: 'b', labels: ['linux-b'], tools: ['python'] },
    ], 'pull-request');
    expect(homes.python.label).toBe('linux-a || linux-b');
    expect(homes.docker.label).toBe('linux-a');
  });

  it('is a user error when no pool provides a tool the steps need', () => {
    // The pull-request pool has docker and terraform, but never runs a deploy stage.
    const fleet = [{ name: 'a', labels: ['x'], tools: ['python'] }, { name: 'pr', labels: ['pull-request'], tools: ['docker', 'terraform'] }];
    expect(() => toolHomes(fleet, 'pull-request')).toThrow(UserError);
    try {
      toolHomes(fleet, 'pull-request');
    } catch (err) {
      expect((err as UserError).problems).toEqual([
        "pools: no pool has 'docker' in its tools (pools labelled 'pull-request' build only unmerged code); the shared library's steps and the Jenkinsfile need one",
        "pools: no pool has 'terraform' in its tools (pools labelled 'pull-request' build only unmerged code); the shared library's steps and the Jenkinsfile need one",
      ]);
    }
  });

  it('never picks the pull-request pool for a deploy stage, even when it shares a tool', () => {
    const homes = toolHomes(pools, 'pull-request');
    expect(homes.docker.pools.map((p) => p.name)).toEqual(['awsDeploy2']);
    expect(homes.terraform.pools.map((p) => p.name)).toEqual(['awsDeploy']);
  });
});

describe('rendering', () => {
  const files = renderLibrary(library, pools, terraform);

  it('renders each step as vars/NAME.groovy and vars/NAME.txt, and the Jenkinsfile', () => {
    expect(files.map((f) => f.path)).toEqual([
      'vars/buildApp.groovy', 'vars/buildApp.txt', 'vars/test.groovy', 'vars/test.txt',
      'vars/testInContainer.groovy', 'vars/testInContainer.txt', 'vars/dockerPush.groovy', 'vars/dockerPush.txt',
      'vars/terraformPlan.groovy', 'vars/terraformPlan.txt', 'vars/terraformApply.groovy', 'vars/terraformApply.txt', 'Jenkinsfile',
    ]);
  });

  it('starts every file with a header naming its template and the regenerate command', () => {
    for (const file of files) {
      const head = file.text.split('\n').slice(0, 2).join('\n');
      expect(head).toContain(`Generated by \`provisioner library\` from provisioner/templates/library/${file.template}`);
      expect(head).toContain('run `npx provisioner library`');
    }
  });

  it('writes the fleet conventions into the steps and the Jenkinsfile', () => {
    const text = (path: string) => files.find((f) => f.path === path)?.text ?? '';
    expect(text('vars/dockerPush.groovy')).toContain("image: 'bankco/banking-app'");
    expect(text('vars/dockerPush.groovy')).toContain("credentialsId: 'dockerhub'");
    expect(text('vars/terraformApply.groovy')).toContain("credentialsId: 'aws-deploy'");
    expect(text('vars/buildApp.txt')).toContain('<code>venvCache</code> (String, default <code>\'/var/cache/bank-pipeline/venvs\'</code>)');
    // No version: casc.yaml forbids overriding the pinned default, and pipeline-groovy-lib then
    // refuses any version in the annotation.
    expect(text('Jenkinsfile')).toContain("@Library('bank-pipeline') _");
    expect(text('Jenkinsfile')).not.toMatch(/@Library\('[^']*@/);
    expect(text('Jenkinsfile')).toContain("agent { label 'docker' }");
    expect(text('Jenkinsfile')).toContain("branch 'main'");
  });

  it('gives every parameter a comment in the defaults map, in lines the lint accepts', () => {
    for (const file of files.filter((f) => f.path.endsWith('.groovy'))) {
      const defaults = /Map defaults = \[\n([\s\S]*?)\n {2}\]/.exec(file.text)?.[1] ?? '';
      const lines = defaults.split('\n');
      expect(lines[0]?.trim().startsWith('//')).toBe(true);
      lines.forEach((line, i) => {
        if (!line.trim().startsWith('//')) expect(lines[i - 1]?.trim().startsWith('//'), `${file.path}: ${line}`).toBe(true);
      });
    }
    for (const file of files.filter((f) => !f.path.endsWith('.txt'))) {
      for (const line of file.text.split('\n')) expect(line.length, `${file.path}: ${line}`).toBeLessThanOrEqual(120);
    }
  });

  it('passes the deploy settings of the fleet and the module\'s required inputs to the plans and the apply', () => {
    const withDeploy = librarySchema.parse({
      docker: { image: 'bankco/banking-app' },
      jenkinsfile: {
        backendConfig: { bucket: 'bank-tfstate-prod', key: 'app/terraform.tfstate', region: 'us-east-1' },
        vars: { domain_name: "app.bank.example", hosted_zone_id: 'Z0123' },
        imageVariable: 'image',
      },
    });
    const jenkinsfile = renderLibrary(withDeploy, pools, terraform).find((f) => f.path === 'Jenkinsfile')?.text ?? '';
    const block = (indent: number, lines: string[]) => lines.map((l) => ' '.repeat(indent) + l).join('\n');
    const backend = (indent: number) => block(indent, ['backendConfig: [', "  bucket: 'bank-tfstate-prod',", "  key: 'app/terraform.tfstate',", "  region: 'us-east-1'", '],']);
    const vars = (indent: number, image: string) => block(indent, ['vars: [', "  domain_name: 'app.bank.example',", "  hosted_zone_id: 'Z0123',", `  image: ${image}`, '],']);
    const required = (indent: number) => block(indent, ['requiredVars: [', "  'container_image',", "  'domain_name'", '],', 'requiredBackendConfig: [', "  'bucket',", "  'key',", "  'region'", '])']);
    // The deploy branch's plan gets the pushed image; a pull request's plan names the one it would have pushed.
    expect(jenkinsfile).toContain([backend(16), vars(16, 'env.IMAGE_REFERENCE'), required(16)].join('\n'));
    expect(jenkinsfile).toContain([backend(14), vars(14, "'docker.io/bankco/banking-app:pr-' + env.CHANGE_ID"), required(14)].join('\n'));
    expect(jenkinsfile).toContain("terraformApply(dir: 'terraform/app', plan: env.PLAN_STASH, sha256: env.PLAN_SHA256,\n" + backend(14).replace(/,$/, ')'));
    expect(jenkinsfile).toContain("message \"Apply plan ${env.PLAN_SHA256} to terraform/app? It is archived as terraform/app/terraform-plan.txt\"");
  });

  it('plans every region of the deploy with the shared settings and its own, asks once, and applies them in the order given', () => {
    const twoRegions = librarySchema.parse({
      docker: { image: 'bankco/banking-app' },
      jenkinsfile: {
        backendConfig: { bucket: 'bank-tfstate', region: 'us-east-1', key: 'shared' },
        vars: { domain_name: 'app.bank.example' },
        regions: [
          { name: 'us-west-2', backendConfig: { key: 'app/us-west-2.tfstate' }, vars: { hosted_zone_id: 'Z2' } },
          { name: 'us-east-1', backendConfig: { key: 'app/us-east-1.tfstate' }, vars: { hosted_zone_id: 'Z1', domain_name: 'east.bank.example' } },
        ],
      },
    });
    const jenkinsfile = renderLibrary(twoRegions, pools, terraform).find((f) => f.path === 'Jenkinsfile')?.text ?? '';
    // In the order given: the first region's stages before the second's, for the plan and the apply.
    const at = (text: string) => jenkinsfile.indexOf(text);
    expect(at("stage('Plan us-west-2')")).toBeGreaterThan(0);
    expect(at("stage('Plan us-west-2')")).toBeLessThan(at("stage('Plan us-east-1')"));
    expect(at("stage('Apply us-west-2')")).toBeLessThan(at("stage('Apply us-east-1')"));
    expect(at("stage('Plan us-east-1')")).toBeLessThan(at("stage('Approve')"));
    expect(at("stage('Approve')")).toBeLessThan(at("stage('Apply us-west-2')"));
    // A region's own key overrides the shared one; the shared ones reach every region.
    expect(jenkinsfile).toContain("Map plan = terraformPlan(name: 'us-east-1', dir: 'terraform/app',\n                backendConfig: [\n                  bucket: 'bank-tfstate',\n                  region: 'us-east-1',\n                  key: 'app/us-east-1.tfstate'\n                ],\n                vars: [\n                  domain_name: 'east.bank.example',\n                  hosted_zone_id: 'Z1',");
    expect(jenkinsfile).toContain("                vars: [\n                  domain_name: 'app.bank.example',\n                  hosted_zone_id: 'Z2',");
    expect(jenkinsfile).toContain("terraformApply(dir: 'terraform/app', plan: env.PLAN_US_EAST_1_STASH, sha256: env.PLAN_US_EAST_1_SHA256,");
    expect(jenkinsfile).toContain("when {\n            environment name: 'PLAN_US_EAST_1_CHANGES', value: 'true'\n          }");
    expect(jenkinsfile).toContain('message "Apply to terraform/app, in this order, ${env.PLAN_SUMMARY}?"');
    expect(jenkinsfile.match(/terraformPlan\(name: 'us-east-1'/g)).toHaveLength(2);
    const twice = librarySchema.safeParse({ docker: { image: 'x' }, jenkinsfile: { regions: [{ name: 'us-east-1' }, { name: 'us-east-1' }] } });
    expect(twice.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual(['jenkinsfile.regions: expected each region name once']);
    const upper = librarySchema.safeParse({ docker: { image: 'x' }, jenkinsfile: { regions: [{ name: 'US-EAST-1' }] } });
    expect(upper.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual(['jenkinsfile.regions.0.name: expected a region name such as us-west-2 (lower-case letters, digits, "-")']);
  });

  it('for the bank\'s fleet.yaml covers every region of terraform/app-topology.yaml, the writer\'s first (its tasks migrate the schema the others read)', () => {
    const fleet = parse(readFileSync(join(repo, 'fleet.yaml'), 'utf8')) as { library: unknown };
    const topology = parse(readFileSync(join(repo, 'terraform/app-topology.yaml'), 'utf8')) as { regions: Record<string, { role: string }> };
    const regions = librarySchema.parse(fleet.library).jenkinsfile.regions;
    const writer = Object.entries(topology.regions).find(([, r]) => r.role === 'writer')?.[0];
    expect(regions.map((r) => r.name)).toEqual([writer, ...Object.keys(topology.regions).filter((name) => name !== writer)]);
    for (const region of regions) {
      expect(region.vars.region ?? '').toBe(region.name);
      expect(region.backendConfig.key).toBe(`app/${region.name}.tfstate`);
    }
  });

  it('names the approvers and the approval\'s own timeout from the fleet in the Jenkinsfile', () => {
    const custom = librarySchema.parse({ docker: { image: 'bankco/banking-app' }, terraform: { approvers: 'release-managers,alice', approvalHours: 8 } });
    const jenkinsfile = renderLibrary(custom, pools, terraform).find((f) => f.path === 'Jenkinsfile')?.text ?? '';
    expect(jenkinsfile).toContain("submitter 'release-managers,alice'");
    expect(jenkinsfile).toContain("timeout(time: 8, unit: 'HOURS')");
    const spaced = librarySchema.safeParse({ docker: { image: 'x' }, terraform: { approvers: 'a, b' } });
    expect(spaced.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual(['terraform.approvers: expected user ids or group names separated by "," (no spaces)']);
  });

  it('fails on a template that names a value the context lacks (strict mode)', () => {
    const dir = tempDir();
    cpSync(templatesDir, dir, { recursive: true });
    writeFileSync(join(dir, 'Jenkinsfile.hbs'), '{{library.nosuchkey}}\n');
    expect(() => renderLibrary(library, pools, terraform, dir)).toThrow(/"nosuchkey" not defined/);
  });
});

describe('the deploy\'s Terraform inputs', () => {
  it('are the variables without a default and the settings a partial s3 backend leaves to init', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'tf'));
    writeFileSync(join(root, 'tf/main.tf'), 'terraform {\n  backend "s3" {\n    key = "fixed"\n  }\n}\nvariable "a" {}\nvariable "b" {\n  default = 1\n}\n');
    writeFileSync(join(root, 'tf/more.tf'), 'variable "c" {\n  type = string\n}\n');
    expect(await readTerraformInputs(root, 'tf')).toEqual({ dir: 'tf', requiredVars: ['a', 'c'], backend: 's3', requiredBackendConfig: ['bucket', 'region'] });
  });

  it('of terraform/app (one region per state) are its region, certificate, image and backup vault, and the state bucket, key and region', async () => {
    expect(await readTerraformInputs(repo, 'terraform/app')).toEqual({
      dir: 'terraform/app',
      requiredVars: ['backup_copy_vault_arn', 'certificate_arn', 'container_image', 'region'],
      backend: 's3',
      requiredBackendConfig: ['bucket', 'key', 'region'],
    });
  });
});

describe('provisioner library', () => {
  const fleetYaml = readFileSync(join(repo, 'fleet.yaml'), 'utf8');
  const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: repo });

  /** A repository with only the deploy's Terraform, which the Jenkinsfile's required inputs come from. */
  const treeWithTerraform = () => {
    const root = tempDir();
    cpSync(join(repo, 'terraform/app'), join(root, 'terraform/app'), { recursive: true, filter: (p) => !p.includes('.terraform/') });
    return root;
  };

  it('writes every file into a tree without them, then --check finds it up to date', () => {
    const root = treeWithTerraform();
    const write = run('library', '--root', root);
    expect(write.status).toBe(0);
    expect(write.stdout).toContain('wrote vars/buildApp.groovy');
    expect(write.stdout).toContain('library: 13 written, 0 unchanged');
    const check = run('library', '--check', '--root', root);
    expect(check.status).toBe(0);
    expect(check.stdout).toBe('library: 13 generated files are up to date\n');
  });

  it('exits 1 naming terraformDir when the deploy\'s Terraform cannot be read', () => {
    const result = run('library', '--root', tempDir());
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('library.jenkinsfile.terraformDir terraform/app cannot be read as a Terraform module');
  });

  it('--check exits 1 naming each stale, missing or unknown file, and writes nothing', () => {
    const root = treeWithTerraform();
    run('library', '--root', root);
    writeFileSync(join(root, 'vars/test.groovy'), '// edited by hand\n');
    rmSync(join(root, 'Jenkinsfile'));
    writeFileSync(join(root, 'vars/deploy.groovy'), 'def call() {}\n');
    const check = run('library', '--check', '--root', root);
    expect(check.status).toBe(1);
    expect(check.stderr).toContain('vars/test.groovy: differs from what test.groovy.hbs renders');
    expect(check.stderr).toContain('Jenkinsfile: missing (from Jenkinsfile.hbs)');
    expect(check.stderr).toContain('vars/deploy.groovy: not generated by any template');
    expect(readFileSync(join(root, 'vars/test.groovy'), 'utf8')).toBe('// edited by hand\n');
  });

  it('exits 1 naming the file when the fleet has no library: section', () => {
    const dir = tempDir();
    const config = join(dir, 'fleet.yaml');
    writeFileSync(config, fleetYaml.slice(0, fleetYaml.indexOf('\nlibrary:')));
    const result = run('--config', config, 'library', '--root', dir);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('library: is missing; the shared library needs at least library.docker.image');
  });

  it('the committed vars/ and Jenkinsfile are what fleet.yaml renders', () => {
    const check = run('library', '--check');
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
  });
});
