// `terraform init` + `terraform validate` of both root configurations (and through them every
// module) against the real hashicorp/aws provider schema, installed offline from a filesystem
// mirror: argument names, types, references and block structure the HCL policy cannot judge.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = new URL('../..', import.meta.url).pathname;
/** A directory laid out as registry.terraform.io/hashicorp/aws/<version>/<os_arch>/ (`terraform providers mirror` makes one). */
const mirror = process.env.TF_PROVIDER_MIRROR ?? '/opt/tf-plugins';

let scratch: string;
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  if (spawnSync('terraform', ['version']).error) {
    throw new Error('terraform is not on PATH; install Terraform >= 1.11 (https://developer.hashicorp.com/terraform/install)');
  }
  if (!existsSync(join(mirror, 'registry.terraform.io/hashicorp/aws'))) {
    throw new Error(
      `no hashicorp/aws provider in the filesystem mirror ${mirror}; point TF_PROVIDER_MIRROR at a directory made with ` +
        '`terraform providers mirror DIR` (run in terraform/jenkins on a machine with registry access)',
    );
  }
  scratch = mkdtempSync(join(tmpdir(), 'tf-validate-'));
  // A copy, so that init's .terraform/ and lock file never land in the repository.
  cpSync(join(repoRoot, 'terraform'), join(scratch, 'terraform'), { recursive: true, filter: (src) => !src.includes('.terraform') });
  const cliConfig = join(scratch, 'cli.tfrc');
  writeFileSync(
    cliConfig,
    `provider_installation {\n  filesystem_mirror {\n    path    = ${JSON.stringify(mirror)}\n    include = ["registry.terraform.io/hashicorp/*"]\n  }\n  direct {\n    exclude = ["registry.terraform.io/hashicorp/*"]\n  }\n}\n`,
  );
  env = { ...process.env, TF_CLI_CONFIG_FILE: cliConfig, TF_IN_AUTOMATION: '1', CHECKPOINT_DISABLE: '1' };
});

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

function terraform(dir: string, args: string[]): { status: number | null; output: string } {
  const run = spawnSync('terraform', args, { cwd: join(scratch, dir), env, encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('terraform validate against the aws provider schema', () => {
  for (const root of ['terraform/jenkins', 'terraform/app']) {
    it(`${root} and the modules it calls are valid`, () => {
      const init = terraform(root, ['init', '-backend=false', '-input=false', '-no-color']);
      expect(init.status, init.output).toBe(0);
      const validate = terraform(root, ['validate', '-no-color']);
      expect(validate.status, validate.output).toBe(0);
      expect(validate.output).toContain('The configuration is valid.');
      // Warnings (deprecated arguments) are worth fixing before they become errors.
      expect(validate.output).not.toMatch(/Warning:/);
    });
  }
});
