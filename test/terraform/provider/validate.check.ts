// `terraform init` + `terraform validate` of both root configurations (and through them every
// module) against the real hashicorp/aws provider schema: argument names, types, references and
// block structure that the HCL policy cannot judge.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWorkspace, type Workspace } from './offline.ts';

let workspace: Workspace;

beforeAll(() => {
  workspace = openWorkspace();
});

afterAll(() => workspace?.remove());

describe('terraform validate against the aws provider schema', () => {
  for (const root of ['terraform/jenkins', 'terraform/app']) {
    it(`${root} and the modules it calls are valid`, () => {
      const init = workspace.run(root, ['init', '-backend=false', '-input=false', '-no-color']);
      expect(init.status, init.output).toBe(0);
      const validate = workspace.run(root, ['validate', '-no-color']);
      expect(validate.status, validate.output).toBe(0);
      expect(validate.output).toContain('The configuration is valid.');
      // Warnings (deprecated arguments) are worth fixing before they become errors.
      expect(validate.output).not.toMatch(/Warning:/);
    });
  }
});
