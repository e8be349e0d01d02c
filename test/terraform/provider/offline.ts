// Runs Terraform offline with the real hashicorp/aws provider from a filesystem mirror, on a
// scratch copy of terraform/ (so init's .terraform/ and the modules' lock files never land in the
// repository).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';

export const repoRoot = new URL('../../..', import.meta.url).pathname;
/** A directory laid out as registry.terraform.io/hashicorp/aws/<version>/<os_arch>/ (`terraform providers mirror` makes one). */
export const mirror = process.env.TF_PROVIDER_MIRROR ?? '/opt/tf-plugins';

export interface Workspace {
  /** Runs terraform in `dir` (relative to the repository, e.g. terraform/jenkins) of the copy. */
  run(dir: string, args: string[]): { status: number | null; output: string };
  /** Absolute path of `dir` in the copy. */
  path(dir: string): string;
  remove(): void;
}

/** Fails with what to install when terraform or the provider mirror is missing. */
export function openWorkspace(): Workspace {
  if (spawnSync('terraform', ['version']).error) {
    throw new Error('terraform is not on PATH; install Terraform >= 1.11 (https://developer.hashicorp.com/terraform/install)');
  }
  if (!existsSync(join(mirror, 'registry.terraform.io/hashicorp/aws'))) {
    throw new Error(
      `no hashicorp/aws provider in the filesystem mirror ${mirror}; point TF_PROVIDER_MIRROR at a directory made with ` +
        '`terraform providers mirror DIR` (run in terraform/jenkins on a machine with registry access)',
    );
  }
  const scratch = mkdtempSync(join(tmpdir(), 'tf-offline-'));
  // Everything but init's .terraform/ directories (the committed .terraform.lock.hcl files go along).
  cpSync(join(repoRoot, 'terraform'), join(scratch, 'terraform'), { recursive: true, filter: (src) => !src.split(sep).includes('.terraform') });
  const cliConfig = join(scratch, 'cli.tfrc');
  writeFileSync(
    cliConfig,
    `provider_installation {\n  filesystem_mirror {\n    path    = ${JSON.stringify(mirror)}\n    include = ["registry.terraform.io/hashicorp/*"]\n  }\n  direct {\n    exclude = ["registry.terraform.io/hashicorp/*"]\n  }\n}\n`,
  );
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TF_CLI_CONFIG_FILE: cliConfig,
    TF_IN_AUTOMATION: '1',
    CHECKPOINT_DISABLE: '1',
    // Plans run with skip_credentials_validation and overridden data sources: the provider needs
    // some credentials to start and must never find real ones or ask the instance metadata.
    AWS_ACCESS_KEY_ID: 'offline-plan',
    AWS_SECRET_ACCESS_KEY: 'offline-plan',
    AWS_SESSION_TOKEN: '',
    AWS_PROFILE: '',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  return {
    run(dir, args) {
      const result = spawnSync('terraform', args, { cwd: join(scratch, dir), env, encoding: 'utf8' });
      return { status: result.status, output: `${result.stdout}${result.stderr}` };
    },
    path: (dir) => join(scratch, dir),
    remove: () => rmSync(scratch, { recursive: true, force: true }),
  };
}
