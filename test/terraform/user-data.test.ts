// The controller's user data, rendered by the real Terraform (templatefile, no provider needed):
// it is valid bash, and its secrets script, run against stand-ins for `aws` and `docker`, writes
// each secret to its own 0400 file and hands the ECR password to docker on stdin, never in argv.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toolPath } from '../support/tools.ts';

const repoRoot = new URL('../..', import.meta.url).pathname;
const template = join(repoRoot, 'terraform/modules/jenkins-controller/user-data.sh.tftpl');
const env = { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null', TF_IN_AUTOMATION: '1', CHECKPOINT_DISABLE: '1' };

const values = {
  home_device: '/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0',
  home_mount: '/var/lib/jenkins',
  image: '111122223333.dkr.ecr.us-east-1.amazonaws.com/bank-ci/jenkins:2.580.1',
  secrets_path: '/jenkins-controller/bank-ci-jenkins',
  jenkins_url: 'https://jenkins.bank.example/',
  github_owner: 'bank-example',
  github_repository: 'jenkins-fleet',
  log_group: '/jenkins-controller/bank-ci-jenkins',
  region: 'us-east-1',
};

let scratch: string;
let script: string;

/** The body of a quoted heredoc `cat >FILE <<'TAG' ... TAG` inside the rendered script. */
function heredoc(tag: string): string {
  const match = new RegExp(`<<'${tag}'\\n([\\s\\S]*?)\\n${tag}\\n`).exec(script);
  if (!match) throw new Error(`no <<'${tag}' heredoc in the rendered user data`);
  return match[1]!;
}

beforeAll(() => {
  if (spawnSync('terraform', ['version']).error) {
    throw new Error('terraform is not on PATH; install Terraform >= 1.11 (https://developer.hashicorp.com/terraform/install)');
  }
  scratch = mkdtempSync(join(tmpdir(), 'tf-user-data-'));
  const render = join(scratch, 'render');
  mkdirSync(render);
  writeFileSync(
    join(render, 'main.tf'),
    `output "script" {\n  value = templatefile(${JSON.stringify(template)}, ${JSON.stringify(values)})\n}\n`,
  );
  execFileSync('terraform', ['init', '-input=false', '-no-color'], { cwd: render, env, stdio: 'pipe' });
  execFileSync('terraform', ['apply', '-auto-approve', '-input=false', '-no-color'], { cwd: render, env, stdio: 'pipe' });
  script = execFileSync('terraform', ['output', '-raw', 'script'], { cwd: render, env, encoding: 'utf8' });
});

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('the controller user data', () => {
  it('renders every value and leaves no template syntax behind', () => {
    for (const value of Object.values(values)) expect(script).toContain(value);
    expect(script).not.toMatch(/\$\$\{|%\{/);
    expect(script.startsWith('#!/bin/bash\n')).toBe(true);
  });

  it('is valid bash, and so is the secrets script it installs', () => {
    for (const source of [script, heredoc('SCRIPT')]) {
      const check = spawnSync('bash', ['-n'], { input: source, encoding: 'utf8' });
      expect(check.status, check.stderr).toBe(0);
    }
  });

  it('runs the controller image with JENKINS_HOME and the secrets mounted, its log in CloudWatch, and only public values in its environment', () => {
    const unit = heredoc('UNIT');
    expect(unit).toContain(`Environment=IMAGE=${values.image}`);
    expect(unit).toContain(`-v ${values.home_mount}:/var/jenkins_home -v /run/jenkins-secrets:/run/secrets:ro`);
    // Host networking keeps the instance role reachable within IMDSv2's one-hop limit.
    expect(unit).toContain('docker run --rm --name jenkins --network host');
    expect(unit).toContain(`--log-driver awslogs --log-opt awslogs-region=${values.region} --log-opt awslogs-group=${values.log_group}`);
    expect(unit).toContain(`-e JENKINS_URL=${values.jenkins_url} -e GITHUB_OWNER=${values.github_owner} -e GITHUB_REPOSITORY=${values.github_repository}`);
    expect(unit).not.toMatch(/PASSWORD|TOKEN|SECRET_ACCESS/);
  });

  it('writes each secret to its own 0400 file and logs in to ECR through stdin', () => {
    const bin = join(scratch, 'bin');
    const secrets = join(scratch, 'secrets');
    const calls = join(scratch, 'calls.log');
    const parameters = {
      Parameters: [
        { Name: `${values.secrets_path}/JENKINS_ADMIN_PASSWORD`, Value: 'canary-admin-3f9a' },
        { Name: `${values.secrets_path}/GITHUB_TOKEN`, Value: 'canary-github 7b2e\twith tab' },
      ],
    };
    // The script's PATH is exactly: the commands it runs besides aws and docker, and stand-ins for
    // those two that record their argv (and stdin for docker), as the real ones would see them.
    const path = toolPath(bin, ['bash', 'rm', 'install', 'python3', 'cut', 'cat'], {
      aws: `#!/bin/bash\necho "aws $*" >>${calls}\nif [ "$1 $2" = "ssm get-parameters-by-path" ]; then cat <<'JSON'\n${JSON.stringify(parameters)}\nJSON\nelif [ "$1 $2" = "ecr get-login-password" ]; then echo canary-ecr-token-51c0; fi\n`,
      docker: `#!/bin/bash\necho "docker $* stdin=$(cat)" >>${calls}\n`,
    });

    const run = spawnSync('bash', ['-c', heredoc('SCRIPT')], {
      env: { PATH: path, LANG: 'C.UTF-8', SECRETS_DIR: secrets, SECRETS_PATH: values.secrets_path, IMAGE: values.image },
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);

    expect(readdirSync(secrets).sort()).toEqual(['GITHUB_TOKEN', 'JENKINS_ADMIN_PASSWORD']);
    expect(readFileSync(join(secrets, 'JENKINS_ADMIN_PASSWORD'), 'utf8')).toBe('canary-admin-3f9a');
    expect(readFileSync(join(secrets, 'GITHUB_TOKEN'), 'utf8')).toBe('canary-github 7b2e\twith tab');
    expect(statSync(join(secrets, 'GITHUB_TOKEN')).mode & 0o777).toBe(0o400);
    expect(statSync(secrets).mode & 0o777).toBe(0o700);

    const log = readFileSync(calls, 'utf8');
    expect(log).toContain(`aws ssm get-parameters-by-path --path ${values.secrets_path} --recursive --with-decryption --output json`);
    expect(log).toContain('aws ecr get-login-password --region us-east-1');
    expect(log).toContain('docker login --username AWS --password-stdin 111122223333.dkr.ecr.us-east-1.amazonaws.com stdin=canary-ecr-token-51c0');
    // Every secret reached its file without passing through anyone's argv.
    const argv = log.split('\n').map((line) => line.replace(/ stdin=.*$/, ''));
    for (const canary of ['canary-admin', 'canary-github', 'canary-ecr']) expect(argv.join('\n')).not.toContain(canary);
  });
});
