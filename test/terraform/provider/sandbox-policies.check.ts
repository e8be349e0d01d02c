// The sandbox reads the IAM policies of terraform/modules from their HCL with its own small
// evaluator (provisioner/sandbox/src/iam/hcl.ts), so that `npm start` needs no terraform. This
// check proves that reading against Terraform itself: for the same inputs, the real aws provider
// (offline plan, `terraform test`) renders each document to exactly the statements the sandbox
// evaluates (compared per Sid, lists as sets, one value or a list alike).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TerraformModule, type ModuleInputs } from '../../../provisioner/sandbox/src/iam/hcl.ts';
import { openWorkspace, repoRoot, type Workspace } from './offline.ts';

let workspace: Workspace;
beforeAll(() => { workspace = openWorkspace(); });
afterAll(() => workspace?.remove());

const account = '111122223333';
const data = { aws_caller_identity: { current: { account_id: account } }, aws_partition: { current: { partition: 'aws' } }, aws_region: { current: { name: 'us-east-1', region: 'us-east-1' } } };

/** HCL that turns a policy JSON into a comparable value: statements by Sid, every list a set. */
const normalised = (json: string) => `jsonencode({ for s in jsondecode(${json}).Statement : try(s.Sid, "") => {
      Effect      = s.Effect
      Action      = toset(flatten([try(s.Action, [])]))
      NotAction   = toset(flatten([try(s.NotAction, [])]))
      Resource    = toset(flatten([try(s.Resource, [])]))
      NotResource = toset(flatten([try(s.NotResource, [])]))
      Principal   = jsonencode({ for k, v in try(s.Principal, {}) : k => toset(flatten([v])) })
      Condition   = jsonencode({ for t, kv in try(s.Condition, {}) : t => { for k, v in kv : k => toset(flatten([v])) } })
    } })`;

const cases: { module: string; document: string; inputs: ModuleInputs; variables: string; overrides?: string }[] = [
  {
    module: 'provisioner-iam',
    document: 'provisioner',
    inputs: {
      variables: {
        fleet: 'bank-ci',
        regions: ['us-east-1', 'us-west-2'],
        agent_role_arn: `arn:aws:iam::${account}:role/jenkins-fleet-bank-ci-agent`,
        agent_instance_profile_arn: `arn:aws:iam::${account}:instance-profile/jenkins-fleet-bank-ci-agent`,
        agent_subnet_ids: ['subnet-0aaa', 'subnet-0bbb'],
        agent_security_group_id: 'sg-0ccc',
        review_agent_role_arn: `arn:aws:iam::${account}:role/jenkins-fleet-bank-ci-review-agent`,
        review_agent_instance_profile_arn: `arn:aws:iam::${account}:instance-profile/jenkins-fleet-bank-ci-review-agent`,
        review_agent_security_group_id: 'sg-0ddd',
        kms_key_arn: `arn:aws:kms:us-east-1:${account}:key/fleet-key`,
        ebs_kms_key_arn: `arn:aws:kms:us-east-1:${account}:key/ebs-key`,
        lock_table_arn: `arn:aws:dynamodb:us-east-1:${account}:table/jenkins-fleet-bank-ci-locks`,
        image_owners: ['amazon', '099720109477'],
      },
      data,
    },
    variables: '',
  },
  {
    module: 'agent-iam',
    document: 'agent',
    inputs: { variables: { fleet: 'bank-ci', vpc_id: 'vpc-0aaa' }, data, modules: { key: { arn: `arn:aws:kms:us-east-1:${account}:key/fleet-key` } } },
    variables: '',
    overrides: `
override_module {
  target  = module.key
  outputs = { arn = "arn:aws:kms:us-east-1:${account}:key/fleet-key", key_id = "fleet-key", alias_name = "alias/jenkins-fleet/bank-ci" }
}
`,
  },
  {
    module: 'kms-key',
    document: 'key',
    inputs: { variables: { alias: 'jenkins-fleet/bank-ci', description: 'Encrypts the agent secrets of Jenkins fleet bank-ci in Parameter Store' }, data },
    variables: '',
  },
];

describe("the sandbox's reading of the IAM modules agrees with Terraform's", () => {
  for (const c of cases) {
    it(`${c.module}: aws_iam_policy_document.${c.document} as the aws provider renders it`, async () => {
      const module = await TerraformModule.read(join(repoRoot, 'terraform/modules', c.module));
      const expected = JSON.stringify(module.policyDocument(c.document, c.inputs));
      const dir = `terraform/modules/${c.module}`;
      const tests = join(workspace.path(dir), 'tests');
      mkdirSync(tests, { recursive: true });
      writeFileSync(join(tests, 'sandbox-expected.json'), expected);
      const vars = Object.entries(c.inputs.variables).map(([k, v]) => `  ${k} = ${JSON.stringify(v)}`).join('\n');
      writeFileSync(join(tests, 'sandbox.tftest.hcl'), `provider "aws" {
  region                      = "us-east-1"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}

override_data {
  target = data.aws_caller_identity.current
  values = { account_id = "${account}" }
}
${c.overrides ?? ''}
variables {
${vars}
}

run "the_sandbox_evaluates_the_same_policy" {
  command = plan

  assert {
    condition     = ${normalised(`data.aws_iam_policy_document.${c.document}.json`)} == ${normalised('file("tests/sandbox-expected.json")')}
    error_message = "The provider renders \${data.aws_iam_policy_document.${c.document}.json}, the sandbox \${file("tests/sandbox-expected.json")}"
  }
}
`);
      const init = workspace.run(dir, ['init', '-backend=false', '-input=false', '-no-color']);
      expect(init.status, init.output).toBe(0);
      const test = workspace.run(dir, ['test', '-filter=tests/sandbox.tftest.hcl', '-no-color']);
      expect(test.status, test.output).toBe(0);
      expect(test.output).toMatch(/Success! 1 passed, 0 failed\./);
    });
  }
});
