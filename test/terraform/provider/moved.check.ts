// The `moved` blocks that took the cluster, the log group and the two roles of fleet-watch and
// app-region into modules/ecs-workload, met as an estate meets them: each module as it was before
// is applied with a mocked provider, then today's module is planned on that state
// (moved/<module>.tftest.hcl). The plan must move those four resources, and add, change or destroy
// nothing but what the module has changed on purpose since (SINCE); none of the four is replaced.
// The mocked provider stands in for AWS's answers only; what is checked is Terraform's own plan.
//
// The modules as they were come from moved/before.tar.gz, not from git history, so the check runs
// in a shallow clone too. It was made from main's last commit with those resources in the modules
// themselves:
//   git archive --format=tar.gz -o test/terraform/provider/moved/before.tar.gz \
//     365825ece37964304b2308207e412f16640141e2 \
//     terraform/modules/fleet-watch terraform/modules/app-region terraform/modules/https-alb
// It can go, with the moved blocks, once every estate has applied them.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWorkspace, repoRoot, type Workspace } from './offline.ts';

const MOVES: Record<string, string[]> = {
  'fleet-watch': ['aws_cloudwatch_log_group.watch', 'aws_ecs_cluster.this', 'aws_iam_role.execution', 'aws_iam_role.task'],
  'app-region': ['aws_cloudwatch_log_group.app', 'aws_ecs_cluster.this', 'aws_iam_role.execution', 'aws_iam_role.task'],
};
/** What each module has changed on purpose since the archive, as the plan's lines say it. */
const SINCE: Record<string, string[]> = {
  'fleet-watch': [],
  // The execution role's AmazonECSTaskExecutionRolePolicy (any repository, any log group) gave
  // way to a policy of its own image's repository and its own log group.
  'app-region': ['aws_iam_role_policy.execution_pull_and_log will be created', 'aws_iam_role_policy_attachment.execution will be destroyed'],
};
const TARGET: Record<string, string> = {
  aws_cloudwatch_log_group: 'module.ecs.aws_cloudwatch_log_group.this',
  aws_ecs_cluster: 'module.ecs.aws_ecs_cluster.this',
};

let workspace: Workspace;

beforeAll(() => {
  workspace = openWorkspace();
  mkdirSync(workspace.path('before'), { recursive: true });
  const untar = spawnSync('tar', ['-xzf', join(repoRoot, 'test/terraform/provider/moved/before.tar.gz'), '-C', workspace.path('before')]);
  if (untar.status !== 0) throw new Error(`tar -xzf moved/before.tar.gz failed: ${untar.stderr.toString()}`);
});

afterAll(() => workspace?.remove());

describe('state of the layout before modules/ecs-workload', () => {
  for (const [name, moved] of Object.entries(MOVES)) {
    it(`terraform/modules/${name} plans on it by moving ${moved.length} resources and changing only what it changed since`, () => {
      const dir = `terraform/modules/${name}`;
      mkdirSync(join(workspace.path(dir), 'tests'), { recursive: true });
      copyFileSync(join(repoRoot, 'test/terraform/provider/moved', `${name}.tftest.hcl`), join(workspace.path(dir), 'tests', `${name}.tftest.hcl`));
      const init = workspace.run(dir, ['init', '-backend=false', '-input=false', '-no-color']);
      expect(init.status, init.output).toBe(0);
      const test = workspace.run(dir, ['test', '-verbose', `-filter=tests/${name}.tftest.hcl`, '-no-color']);
      expect(test.status, test.output).toBe(0);
      expect(test.output).toMatch(/Success! 2 passed, 0 failed\./);
      const after = test.output.slice(test.output.indexOf('run "after"'));
      const changes = [...after.matchAll(/# (\S+ (?:will|must) be [^\n]+)/g)].map((m) => m[1]!.trim()).sort();
      expect(changes, after).toEqual([...SINCE[name]!].sort());
      const count = (word: string) => SINCE[name]!.filter((line) => line.endsWith(word)).length;
      expect(after, after).toContain(`Plan: ${count('created')} to add, 0 to change, ${count('destroyed')} to destroy.`);
      const moves = [...after.matchAll(/# (\S+) has moved to (\S+)/g)].map((m) => `${m[1]} -> ${m[2]}`).sort();
      expect(moves).toEqual(moved.map((from) => `${from} -> ${TARGET[from.split('.')[0]!] ?? `module.ecs.${from}`}`).sort());
    });
  }
});
