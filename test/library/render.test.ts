import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { UserError } from '../../provisioner/src/errors.ts';
import { groovyLiteral, groovyString, groovyWrapped } from '../../provisioner/src/library/groovy.ts';
import { renderLibrary, templatesDir } from '../../provisioner/src/library/render.ts';
import { librarySchema } from '../../provisioner/src/library/schema.ts';
import { toolHomes } from '../../provisioner/src/library/steps.ts';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(repo, 'bin/provisioner.mjs');

const pools = [
  { name: 'awsDeploy', labels: ['awsDeploy', 'terraform', 'python'], tools: ['terraform', 'python'] },
  { name: 'awsDeploy2', labels: ['awsDeploy2', 'docker', 'python'], tools: ['docker', 'python'] },
];
const library = librarySchema.parse({ docker: { image: 'bankco/banking-app' } });

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
      terraform: { minVersion: '1.11.1', credentialsId: 'aws-deploy', pluginCache: '/var/cache/bank-pipeline/terraform-plugins', approve: 'user' },
      jenkinsfile: { appDir: 'app', testRequirements: 'requirements-test.txt', terraformDir: 'terraform/app', timeoutMinutes: 45, imageVariable: 'container_image', backendConfig: {}, vars: {} },
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
    const homes = toolHomes(pools);
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
    ]);
    expect(homes.python.label).toBe('linux-a || linux-b');
    expect(homes.docker.label).toBe('linux-a');
  });

  it('is a user error when no pool provides a tool the steps need', () => {
    expect(() => toolHomes([{ name: 'a', labels: ['x'], tools: ['python'] }])).toThrow(UserError);
    try {
      toolHomes([{ name: 'a', labels: ['x'], tools: ['python'] }]);
    } catch (err) {
      expect((err as UserError).problems).toEqual([
        "pools: no pool has 'docker' in its tools; the shared library's steps and the Jenkinsfile need one",
        "pools: no pool has 'terraform' in its tools; the shared library's steps and the Jenkinsfile need one",
      ]);
    }
  });
});

describe('rendering', () => {
  const files = renderLibrary(library, pools);

  it('renders each step as vars/NAME.groovy and vars/NAME.txt, and the Jenkinsfile', () => {
    expect(files.map((f) => f.path)).toEqual([
      'vars/buildApp.groovy', 'vars/buildApp.txt', 'vars/test.groovy', 'vars/test.txt',
      'vars/dockerPush.groovy', 'vars/dockerPush.txt', 'vars/terraformApply.groovy', 'vars/terraformApply.txt', 'Jenkinsfile',
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

  it('gives every parameter a comment in the defaults map', () => {
    for (const file of files.filter((f) => f.path.endsWith('.groovy'))) {
      const defaults = /Map defaults = \[\n([\s\S]*?)\n {2}\]/.exec(file.text)?.[1] ?? '';
      const lines = defaults.split('\n');
      expect(lines.length % 2).toBe(0);
      lines.forEach((line, i) => expect(line.trim().startsWith('//')).toBe(i % 2 === 0));
    }
  });

  it('passes the deploy settings of the fleet to both terraformApply stages of the Jenkinsfile', () => {
    const withDeploy = librarySchema.parse({
      docker: { image: 'bankco/banking-app' },
      jenkinsfile: {
        backendConfig: { bucket: 'bank-tfstate-prod', key: 'app/terraform.tfstate', region: 'us-east-1' },
        vars: { domain_name: "app.bank.example", hosted_zone_id: 'Z0123' },
        imageVariable: 'image',
      },
    });
    const jenkinsfile = renderLibrary(withDeploy, pools).find((f) => f.path === 'Jenkinsfile')?.text ?? '';
    const call = (image: string) => [
      "          backendConfig: [",
      "            bucket: 'bank-tfstate-prod',",
      "            key: 'app/terraform.tfstate',",
      "            region: 'us-east-1'",
      '          ],',
      '          vars: [',
      "            domain_name: 'app.bank.example',",
      "            hosted_zone_id: 'Z0123',",
      `            image: ${image}`,
      '          ])',
    ].join('\n');
    expect(jenkinsfile.split(call('env.IMAGE_REFERENCE')).length).toBe(2);
    // A pull request pushes no image: its plan names the one it would have pushed.
    expect(jenkinsfile.split(call("'docker.io/bankco/banking-app:pr-' + env.CHANGE_ID")).length).toBe(2);
  });

  it('fails on a template that names a value the context lacks (strict mode)', () => {
    const dir = tempDir();
    cpSync(templatesDir, dir, { recursive: true });
    writeFileSync(join(dir, 'Jenkinsfile.hbs'), '{{library.nosuchkey}}\n');
    expect(() => renderLibrary(library, pools, dir)).toThrow(/"nosuchkey" not defined/);
  });
});

describe('provisioner library', () => {
  const fleetYaml = readFileSync(join(repo, 'fleet.yaml'), 'utf8');
  const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: repo });

  it('writes every file into an empty tree, then --check finds it up to date', () => {
    const root = tempDir();
    const write = run('library', '--root', root);
    expect(write.status).toBe(0);
    expect(write.stdout).toContain('wrote vars/buildApp.groovy');
    expect(write.stdout).toContain('library: 9 written, 0 unchanged');
    const check = run('library', '--check', '--root', root);
    expect(check.status).toBe(0);
    expect(check.stdout).toBe('library: 9 generated files are up to date\n');
  });

  it('--check exits 1 naming each stale, missing or unknown file, and writes nothing', () => {
    const root = tempDir();
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

  it('exits 2 naming the file when the fleet has no library: section', () => {
    const dir = tempDir();
    const config = join(dir, 'fleet.yaml');
    writeFileSync(config, fleetYaml.slice(0, fleetYaml.indexOf('\nlibrary:')));
    const result = run('--config', config, 'library', '--root', dir);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('library: is missing; the shared library needs at least library.docker.image');
  });

  it('the committed vars/ and Jenkinsfile are what fleet.yaml renders', () => {
    const check = run('library', '--check');
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
  });
});
