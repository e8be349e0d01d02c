// `terraform init -lockfile=readonly` + `terraform validate` of every root configuration (and
// through them every module) against the real hashicorp/aws provider schema: the committed lock
// file pins the provider the mirror holds, and argument names, types, references and block
// structure are what the provider accepts, which the HCL policy cannot judge.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWorkspace, repoRoot, type Workspace } from './offline.ts';

let workspace: Workspace;

beforeAll(() => {
  workspace = openWorkspace();
});

afterAll(() => workspace?.remove());

/** Every root configuration: the directories of terraform/ other than modules/. */
const roots = readdirSync(join(repoRoot, 'terraform'))
  .filter((d) => d !== 'modules' && statSync(join(repoRoot, 'terraform', d)).isDirectory())
  .map((d) => `terraform/${d}`);

describe('terraform validate against the aws provider schema', () => {
  it('finds the root configurations', () => {
    expect(roots).toEqual(expect.arrayContaining(['terraform/jenkins', 'terraform/app']));
  });

  for (const root of roots) {
    it(`${root} and the modules it calls are valid, with the provider its committed lock file pins`, () => {
      const lockFile = join(repoRoot, root, '.terraform.lock.hcl');
      expect(existsSync(lockFile), `${root}/.terraform.lock.hcl is not committed`).toBe(true);
      // linux_amd64 (CI's platform) is hashed; other platforms add theirs with `terraform providers lock`.
      expect(readFileSync(lockFile, 'utf8')).toMatch(/hashes = \[\s*"h1:[A-Za-z0-9+/=]+"/);
      const init = workspace.run(root, ['init', '-backend=false', '-input=false', '-lockfile=readonly', '-no-color']);
      expect(init.status, init.output).toBe(0);
      const validate = workspace.run(root, ['validate', '-no-color']);
      expect(validate.status, validate.output).toBe(0);
      expect(validate.output).toContain('The configuration is valid.');
      // Warnings (deprecated arguments) are worth fixing before they become errors.
      expect(validate.output).not.toMatch(/Warning:/);
    });
  }
});
