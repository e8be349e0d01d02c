// Offline plans with the real aws provider: `terraform test` runs each plans/<name>.tftest.hcl
// (command = plan, AWS-calling data sources overridden) against terraform/<name> or
// terraform/modules/<name>, asserting on what the provider would be asked to create. A file
// plans/<name>.<topic>.tftest.hcl is a further test of the same configuration (app.failover: the
// failover runbook walked through with a mocked provider). plans/<name>.<what>.json files go along
// into tests/ (app-region.writer-task.json: the writer's containers, also run by test/docker).
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWorkspace, repoRoot, type Workspace } from './offline.ts';

const plans = join(repoRoot, 'test/terraform/provider/plans');
const files = readdirSync(plans).filter((f) => f.endsWith('.tftest.hcl')).sort();

function configurationOf(file: string): string {
  const name = file.replace(/\.tftest\.hcl$/, '').split('.')[0]!;
  return existsSync(join(repoRoot, 'terraform', name, 'versions.tf')) && name !== 'modules' ? `terraform/${name}` : `terraform/modules/${name}`;
}

let workspace: Workspace;

beforeAll(() => {
  workspace = openWorkspace();
});

afterAll(() => workspace?.remove());

describe('offline plans (terraform test)', () => {
  it('has a configuration for every plan file', () => {
    expect(files.length).toBeGreaterThan(0);
    expect(files.filter((f) => !existsSync(join(repoRoot, configurationOf(f))))).toEqual([]);
  });

  for (const file of files) {
    const dir = configurationOf(file);
    it(`${dir} plans as ${file} asserts`, () => {
      mkdirSync(join(workspace.path(dir), 'tests'), { recursive: true });
      copyFileSync(join(plans, file), join(workspace.path(dir), 'tests', file));
      // Data a plan compares with (plans/<name>.<what>.json), read as tests/<file> with file().
      for (const data of readdirSync(plans).filter((f) => f.startsWith(`${file.split('.')[0]}.`) && f.endsWith('.json'))) {
        copyFileSync(join(plans, data), join(workspace.path(dir), 'tests', data));
      }
      // Roots install exactly what their committed lock file pins; modules have none of their own.
      const lockfile = dir.startsWith('terraform/modules/') ? [] : ['-lockfile=readonly'];
      const init = workspace.run(dir, ['init', '-backend=false', '-input=false', ...lockfile, '-no-color']);
      expect(init.status, init.output).toBe(0);
      const test = workspace.run(dir, ['test', `-filter=tests/${file}`, '-no-color']);
      expect(test.status, test.output).toBe(0);
      expect(test.output).toMatch(/Success! \d+ passed, 0 failed\./);
    });
  }
});
