// IAM in the sandbox: provisioner-iam's policy read from its HCL (the small evaluator of the
// module's expressions) and each EC2 and SSM call authorised against it with iam-simulate, through
// the real SDK clients, refusals worded as EC2 and SSM word them.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateFleetCommand, CreateLaunchTemplateCommand, CreateLaunchTemplateVersionCommand, CreateTagsCommand, DeleteLaunchTemplateCommand, DescribeLaunchTemplatesCommand, EC2Client, RunInstancesCommand, TerminateInstancesCommand, type CreateFleetCommandInput, type RunInstancesCommandInput } from '@aws-sdk/client-ec2';
import { AddTagsToResourceCommand, DescribeParametersCommand, GetParameterCommand, GetParametersCommand, PutParameterCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { SsmParameters } from '../../../provisioner/src/aws/ssm.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fleet } from '../../../provisioner/src/model.ts';
import { parseFleet } from '../../../provisioner/src/config/load.ts';
import { defaultModulesDir } from '../../../provisioner/sandbox/src/iam/fleet-iam.ts';
import { HclError, TerraformModule } from '../../../provisioner/sandbox/src/iam/hcl.ts';
import { startHarness, type Harness } from '../../support/sandbox.ts';

const root = new URL('../../../', import.meta.url).pathname;
const example = (change: (text: string) => string = (t) => t): Fleet => parseFleet(change(readFileSync(join(root, 'examples/fleet.yaml'), 'utf8')), 'fleet.yaml', {});

const account = { aws_caller_identity: { current: { account_id: '111122223333' } }, aws_partition: { current: { partition: 'aws' } } };
const bankCi = {
  fleet: 'bank-ci',
  regions: ['us-east-1'],
  agent_role_arn: 'arn:aws:iam::111122223333:role/jenkins-fleet-bank-ci-agent',
  agent_instance_profile_arn: 'arn:aws:iam::111122223333:instance-profile/jenkins-fleet-bank-ci-agent',
  agent_subnet_ids: ['subnet-0aaa', 'subnet-0bbb'],
  agent_security_group_id: 'sg-0ccc',
  kms_key_arn: 'arn:aws:kms:us-east-1:111122223333:key/fleet-key',
  lock_table_arn: 'arn:aws:dynamodb:us-east-1:111122223333:table/jenkins-fleet-bank-ci-locks',
};

describe('provisioner-iam read from its HCL', () => {
  it('renders statements as the aws provider does: lists from for expressions, one value as a string, dynamic statements per for_each', async () => {
    const module = await TerraformModule.read(join(defaultModulesDir, 'provisioner-iam'));
    const doc = module.policyDocument('provisioner', { variables: { ...bankCi, regions: ['us-east-1', 'us-west-2'] }, data: account });
    const bySid = Object.fromEntries(doc.Statement.map((s) => [s.Sid, s]));
    expect(bySid.LaunchIntoAgentNetworkOnly!.Resource).toEqual(['arn:aws:ec2:*:111122223333:subnet/subnet-0aaa', 'arn:aws:ec2:*:111122223333:subnet/subnet-0bbb', 'arn:aws:ec2:*:111122223333:security-group/sg-0ccc']);
    expect(bySid.TerminateOwnFleetOnly).toEqual({ Sid: 'TerminateOwnFleetOnly', Effect: 'Allow', Action: 'ec2:TerminateInstances', Resource: 'arn:aws:ec2:*:111122223333:instance/*', Condition: { StringEquals: { 'ec2:ResourceTag/jenkins-fleet:fleet': 'bank-ci' } } });
    expect(bySid.UseFleetKeyThroughSsmOnly!.Condition).toEqual({ StringEquals: { 'kms:ViaService': ['ssm.us-east-1.amazonaws.com', 'ssm.us-west-2.amazonaws.com'] } });
    expect(bySid.StayInFleetRegions).toMatchObject({ Effect: 'Deny', Action: ['ec2:*', 'ssm:*'], Condition: { StringNotEquals: { 'aws:RequestedRegion': ['us-east-1', 'us-west-2'] } } });
    expect(bySid.UseEbsKeyThroughEc2Only).toBeUndefined();
    expect(module.scope({ variables: bankCi, data: account }).local('name')).toBe('jenkins-fleet-bank-ci-provisioner');
    const withoutKey = module.policyDocument('provisioner', { variables: { ...bankCi, kms_key_arn: null }, data: account });
    expect(withoutKey.Statement.filter((s) => JSON.stringify(s.Action).includes('kms:'))).toEqual([]);
  });

  it('refuses what it does not understand, naming the expression, and variables it has no value for', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hcl-'));
    try {
      mkdirSync(join(dir, 'm'));
      writeFileSync(join(dir, 'm/main.tf'), [
        'variable "fleet" {}',
        'locals { escaped = "$${aws:username}-${var.fleet}" }',
        'data "aws_iam_policy_document" "ok" {\n  statement {\n    actions   = ["s3:GetObject"]\n    resources = ["arn:aws:s3:::${local.escaped}/*"]\n  }\n}',
        'data "aws_iam_policy_document" "odd" {\n  statement {\n    actions   = ["s3:GetObject"]\n    resources = [upper(var.fleet)]\n  }\n}',
      ].join('\n'));
      const module = await TerraformModule.read(join(dir, 'm'));
      expect(module.policyDocument('ok', { variables: { fleet: 'x' }, data: {} }).Statement[0]!.Resource).toBe('arn:aws:s3:::${aws:username}-x/*');
      expect(() => module.policyDocument('odd', { variables: { fleet: 'x' }, data: {} })).toThrow(/the function upper\(\) is not understood in "\$\{upper\(var.fleet\)\}"/);
      expect(() => module.policyDocument('ok', { variables: {}, data: {} })).toThrow(HclError);
      expect(() => module.policyDocument('ok', { variables: {}, data: {} })).toThrow(/variable fleet has no default and no value was given/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const tags = (fleet: string, pool = 'awsDeploy') => [{ Key: 'jenkins-fleet:fleet', Value: fleet }, { Key: 'jenkins-fleet:pool', Value: pool }];

/** A launch as the provisioner makes it for examples/fleet.yaml's awsDeploy pool. */
function launch(extra: Partial<RunInstancesCommandInput> = {}): RunInstancesCommandInput {
  return {
    ImageId: 'resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64',
    InstanceType: 't3.medium',
    MinCount: 1,
    MaxCount: 1,
    NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: 'subnet-0a1b2c3d4e5f60001', Groups: ['sg-0a1b2c3d4e5f60003'], AssociatePublicIpAddress: false }],
    IamInstanceProfile: { Name: 'jenkins-fleet-agent' },
    MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1 },
    TagSpecifications: [{ ResourceType: 'instance', Tags: tags('bank-ci') }, { ResourceType: 'volume', Tags: tags('bank-ci') }],
    ...extra,
  };
}

async function refusal(promise: Promise<unknown>): Promise<{ name: string; message: string; status?: number }> {
  try {
    await promise;
  } catch (err) {
    const e = err as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('expected the call to be refused');
}

describe('the provisioner as provisioner-iam allows it (examples/fleet.yaml)', () => {
  let h: Harness;
  let admin: EC2Client;
  beforeAll(async () => {
    h = await startHarness((o) => { o.iam = { fleet: example(), modulesDir: defaultModulesDir }; });
    // Any other key is the account's administrator, who sets the scene.
    admin = new EC2Client({ region: 'us-east-1', endpoint: h.sandbox.env.AWS_ENDPOINT_URL_EC2, credentials: { accessKeyId: 'AKIAADMINISTRATOR000', secretAccessKey: 'x' }, maxAttempts: 1 });
  });
  afterAll(async () => { admin.destroy(); await h.stop(); });

  it('launches a tagged, IMDSv2 agent with the agent profile into the agent network', async () => {
    const out = await h.ec2.send(new RunInstancesCommand(launch()));
    expect(out.Instances).toHaveLength(1);
  });

  for (const [what, change, action, resource] of [
    ['without IMDSv2', { MetadataOptions: { HttpTokens: 'optional' } }, 'ec2:RunInstances', 'instance/*'],
    ['without the fleet tag', { TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'x' }] }, { ResourceType: 'volume', Tags: tags('bank-ci') }] }, 'ec2:RunInstances', 'instance/*'],
    ["with another fleet's tag on the volume", { TagSpecifications: [{ ResourceType: 'instance', Tags: tags('bank-ci') }, { ResourceType: 'volume', Tags: tags('other') }] }, 'ec2:RunInstances', 'volume/*'],
    ['into a subnet that is not the agents\'', { NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: 'subnet-0fff0fff0fff0fff0', Groups: ['sg-0a1b2c3d4e5f60003'] }] }, 'ec2:RunInstances', 'network-interface/*'],
    ['with another security group', { NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: 'subnet-0a1b2c3d4e5f60001', Groups: ['sg-0fff0fff0fff0fff0'] }] }, 'ec2:RunInstances', 'security-group/sg-0fff0fff0fff0fff0'],
    ['with another instance profile', { IamInstanceProfile: { Name: 'administrator' } }, 'ec2:RunInstances', 'instance/*'],
    ["booting Canonical's image (image_owners is amazon)", { ImageId: 'resolve:ssm:/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id' }, 'ec2:RunInstances', 'image/'],
  ] as const) {
    it(`refuses a launch ${what}: UnauthorizedOperation naming ${action}, with an encoded message`, async () => {
      const r = await refusal(h.ec2.send(new RunInstancesCommand(launch(change as Partial<RunInstancesCommandInput>))));
      expect(r.name).toBe('UnauthorizedOperation');
      expect(r.status).toBe(403);
      expect(r.message).toContain(`User: arn:aws:sts::123456789012:assumed-role/jenkins-fleet-bank-ci-provisioner/sandbox is not authorized to perform: ${action} on resource: arn:aws:ec2:us-east-1:`);
      expect(r.message).toContain(resource);
      const encoded = /Encoded authorization failure message: (\S+)$/.exec(r.message)![1]!;
      expect(JSON.parse(Buffer.from(encoded, 'base64').toString('utf8'))).toMatchObject({ allowed: false, context: { action } });
    });
  }

  it('keeps a launch template tagged with the fleet and launches Spot agents from it with CreateFleet; refuses templates and fleets that are not the fleet\'s', async () => {
    const data = {
      ImageId: 'resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64',
      IamInstanceProfile: { Name: 'jenkins-fleet-agent' },
      MetadataOptions: { HttpTokens: 'required' as const, HttpPutResponseHopLimit: 1 },
      NetworkInterfaces: [{ DeviceIndex: 0, Groups: ['sg-0a1b2c3d4e5f60003'], AssociatePublicIpAddress: false }],
    };
    const own = await h.ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'jenkins-fleet-bank-ci-spot', LaunchTemplateData: data, TagSpecifications: [{ ResourceType: 'launch-template', Tags: [{ Key: 'jenkins-fleet:fleet', Value: 'bank-ci' }] }] }));
    const id = own.LaunchTemplate!.LaunchTemplateId!;
    await h.ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: id, LaunchTemplateData: { ...data, MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 2 } } }));
    expect((await h.ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [id] }))).LaunchTemplates).toHaveLength(1);
    const fleet = (templateId: string, change: Partial<CreateFleetCommandInput> = {}): CreateFleetCommandInput => ({
      Type: 'instant',
      SpotOptions: { AllocationStrategy: 'price-capacity-optimized' },
      TargetCapacitySpecification: { TotalTargetCapacity: 1, SpotTargetCapacity: 1, DefaultTargetCapacityType: 'spot' },
      LaunchTemplateConfigs: [{ LaunchTemplateSpecification: { LaunchTemplateId: templateId, Version: '1' }, Overrides: [{ InstanceType: 't3.medium', SubnetId: 'subnet-0a1b2c3d4e5f60001' }] }],
      TagSpecifications: [{ ResourceType: 'fleet', Tags: tags('bank-ci') }, { ResourceType: 'instance', Tags: tags('bank-ci') }, { ResourceType: 'volume', Tags: tags('bank-ci') }],
      ...change,
    });
    const launched = await h.ec2.send(new CreateFleetCommand(fleet(id)));
    expect(launched.Instances?.flatMap((i) => i.InstanceIds)).toHaveLength(1);

    // A template someone else made (no fleet tag) may be neither used, changed nor deleted.
    const foreign = (await admin.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'someone-elses', LaunchTemplateData: data }))).LaunchTemplate!.LaunchTemplateId!;
    const used = await refusal(h.ec2.send(new CreateFleetCommand(fleet(foreign))));
    expect(used.message).toMatch(new RegExp(`not authorized to perform: ec2:CreateFleet on resource: arn:aws:ec2:us-east-1:\\d+:launch-template/${foreign}`));
    expect((await refusal(h.ec2.send(new DeleteLaunchTemplateCommand({ LaunchTemplateId: foreign })))).message).toContain('ec2:DeleteLaunchTemplate');
    expect((await refusal(h.ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'untagged', LaunchTemplateData: data }))))).toMatchObject({ name: 'UnauthorizedOperation' });
    // The instances must carry the fleet's tag from birth, as with RunInstances.
    const untagged = await refusal(h.ec2.send(new CreateFleetCommand(fleet(id, { TagSpecifications: [{ ResourceType: 'fleet', Tags: tags('bank-ci') }, { ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'x' }] }] }))));
    expect(untagged.message).toMatch(/ec2:CreateFleet on resource: .*instance\/\*/);
    // Version 2 asks for a metadata hop limit of 2: allowed; a subnet outside the agents' is not.
    const elsewhere = await refusal(h.ec2.send(new CreateFleetCommand(fleet(id, { LaunchTemplateConfigs: [{ LaunchTemplateSpecification: { LaunchTemplateId: id, Version: '2' }, Overrides: [{ InstanceType: 't3.medium', SubnetId: 'subnet-0fff0fff0fff0fff0' }] }] }))));
    expect(elsewhere.message).toContain('subnet/subnet-0fff0fff0fff0fff0');
    expect((await h.ec2.send(new DeleteLaunchTemplateCommand({ LaunchTemplateId: id }))).LaunchTemplate?.LaunchTemplateId).toBe(id);
  });

  it('tags its own instances jenkins-fleet:bootstrapped, but no other key and no one else\'s instance', async () => {
    const [own] = (await h.ec2.send(new RunInstancesCommand(launch()))).Instances!;
    await h.ec2.send(new CreateTagsCommand({ Resources: [own!.InstanceId!], Tags: [{ Key: 'jenkins-fleet:bootstrapped', Value: '1' }] }));
    const retag = await refusal(h.ec2.send(new CreateTagsCommand({ Resources: [own!.InstanceId!], Tags: [{ Key: 'jenkins-fleet:pool', Value: 'other' }] })));
    expect(retag.message).toContain('ec2:CreateTags on resource');
    const [theirs] = (await admin.send(new RunInstancesCommand(launch({ TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'web' }] }] })))).Instances!;
    const adopt = await refusal(h.ec2.send(new CreateTagsCommand({ Resources: [theirs!.InstanceId!], Tags: [{ Key: 'jenkins-fleet:bootstrapped', Value: '1' }] })));
    expect(adopt.name).toBe('UnauthorizedOperation');
    const kill = await refusal(h.ec2.send(new TerminateInstancesCommand({ InstanceIds: [theirs!.InstanceId!] })));
    expect(kill.message).toContain(`ec2:TerminateInstances on resource: arn:aws:ec2:us-east-1:123456789012:instance/${theirs!.InstanceId}`);
    await h.ec2.send(new TerminateInstancesCommand({ InstanceIds: [own!.InstanceId!] }));
  });

  it("keeps parameters under /jenkins-fleet/bank-ci/ and runs only AWS-RunShellScript on the fleet's instances", async () => {
    await h.ssm.send(new PutParameterCommand({ Name: '/jenkins-fleet/bank-ci/agents/i-0123456789abcdef0/secret', Value: 's', Type: 'SecureString', KeyId: 'alias/jenkins-fleet/bank-ci' }));
    const elsewhere = await refusal(h.ssm.send(new PutParameterCommand({ Name: '/jenkins-fleet/other/x', Value: 's', Type: 'SecureString' })));
    expect(elsewhere).toMatchObject({ name: 'AccessDeniedException', status: 400 });
    expect(elsewhere.message).toBe('User: arn:aws:sts::123456789012:assumed-role/jenkins-fleet-bank-ci-provisioner/sandbox is not authorized to perform: ssm:PutParameter on resource: arn:aws:ssm:us-east-1:123456789012:parameter/jenkins-fleet/other/x because no identity-based policy allows the ssm:PutParameter action');
    const [own] = (await h.ec2.send(new RunInstancesCommand(launch()))).Instances!;
    const document = await refusal(h.ssm.send(new SendCommandCommand({ DocumentName: 'AWS-RunPowerShellScript', InstanceIds: [own!.InstanceId!], Parameters: { commands: ['x'] } })));
    expect(document.message).toContain('ssm:SendCommand on resource: arn:aws:ssm:us-east-1::document/AWS-RunPowerShellScript');
    expect((await h.ssm.send(new DescribeParametersCommand({}))).Parameters!.map((p) => p.Name)).toContain('/jenkins-fleet/bank-ci/agents/i-0123456789abcdef0/secret');
  });
});

describe('policy values from the sandbox flags and the fleet file', () => {
  it("boots Canonical's images when image_owners names Canonical's account", async () => {
    const h = await startHarness((o) => { o.iam = { fleet: example(), modulesDir: defaultModulesDir, imageOwners: ['amazon', '099720109477'] }; });
    try {
      const out = await h.ec2.send(new RunInstancesCommand(launch({ ImageId: 'resolve:ssm:/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id' })));
      expect(out.Instances).toHaveLength(1);
    } finally {
      await h.stop();
    }
  });

  it('denies every call outside the fleet\'s regions, explicitly', async () => {
    const h = await startHarness((o) => { o.iam = { fleet: example((t) => t.replace(/^region: us-east-1$/m, 'region: us-west-2')), modulesDir: defaultModulesDir }; });
    try {
      const r = await refusal(h.ssm.send(new DescribeParametersCommand({})));
      expect(r.message).toBe('User: arn:aws:sts::123456789012:assumed-role/jenkins-fleet-bank-ci-provisioner/sandbox is not authorized to perform: ssm:DescribeParameters with an explicit deny in an identity-based policy');
    } finally {
      await h.stop();
    }
  });

  it("lets the pull-request pool launch with its own profile and group, and no pool with another's", async () => {
    // The bank's fleet.yaml: its pull-request pool has the review agents' profile and group (terraform/jenkins' review_agent_* outputs).
    const bank = parseFleet(readFileSync(join(root, 'fleet.yaml'), 'utf8'), 'fleet.yaml', {});
    const h = await startHarness((o) => { o.iam = { fleet: bank, modulesDir: defaultModulesDir }; });
    try {
      const review = { NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: 'subnet-0a1b2c3d4e5f60001', Groups: ['sg-0a1b2c3d4e5f60004'], AssociatePublicIpAddress: false }], IamInstanceProfile: { Name: 'jenkins-fleet-review-agent' } };
      expect((await h.ec2.send(new RunInstancesCommand(launch(review)))).Instances).toHaveLength(1);
      expect((await h.ec2.send(new RunInstancesCommand(launch()))).Instances).toHaveLength(1);
      const other = await refusal(h.ec2.send(new RunInstancesCommand(launch({ ...review, IamInstanceProfile: { Name: 'jenkins-fleet-something-else' } }))));
      expect(other.name).toBe('UnauthorizedOperation');
    } finally {
      await h.stop();
    }
  });

  it('says which value the module cannot take from the fleet', async () => {
    await expect(startHarness((o) => { o.iam = { fleet: example((t) => t.replace('securityGroups: [sg-0a1b2c3d4e5f60003]\n', 'securityGroups: [sg-0a1b2c3d4e5f60009]\n')), modulesDir: defaultModulesDir }; }))
      .rejects.toThrow(/terraform\/modules\/provisioner-iam takes one agent security group \(agent_security_group_id\); the fleet's EC2 pools name sg-0a1b2c3d4e5f60003, sg-0a1b2c3d4e5f60009/);
  });
});

describe('without --fleet', () => {
  it('evaluates no policy', async () => {
    const h = await startHarness();
    try {
      await h.ssm.send(new PutParameterCommand({ Name: '/anything/x', Value: 's', Type: 'String' }));
    } finally {
      await h.stop();
    }
  });
});


describe("agents read only their own secret (agent-iam, tagged by the provisioner's SSM adapter)", () => {
  let h: Harness;
  beforeAll(async () => { h = await startHarness((o) => { o.iam = { fleet: example(), modulesDir: defaultModulesDir }; }); });
  afterAll(async () => h.stop());

  /** SSM as a host's `aws` calls it: with its instance role's credentials. */
  const asInstance = (id: string) => new SSMClient({ region: 'us-east-1', endpoint: h.sandbox.env.AWS_ENDPOINT_URL_SSM, credentials: { accessKeyId: 'ASIAINSTANCE', secretAccessKey: 'x', sessionToken: `sandbox-instance:${id}` }, maxAttempts: 1 });

  it('lets an instance read the secret tagged with its ARN, and refuses it the secret of another', async () => {
    const [a, b] = (await h.ec2.send(new RunInstancesCommand(launch({ MinCount: 2, MaxCount: 2 })))).Instances!.map((i) => i.InstanceId!);
    await new Promise((r) => setTimeout(r, 400)); // running (boot 200 ms in the harness)
    const parameters = new SsmParameters('us-east-1', h.ssm);
    const arn = (id: string) => `arn:aws:ec2:us-east-1:123456789012:instance/${id}`;
    const name = (id: string) => `/jenkins-fleet/bank-ci/agents/${id}/secret`;
    await parameters.putSecret(name(a!), 'secret-of-a', 'alias/jenkins-fleet/bank-ci', arn(a!));
    await parameters.putSecret(name(b!), 'secret-of-b', 'alias/jenkins-fleet/bank-ci', arn(b!));
    // A second store overwrites (Tags are refused with Overwrite) and tags again.
    await parameters.putSecret(name(b!), 'secret-of-b', 'alias/jenkins-fleet/bank-ci', arn(b!));
    const state = await (await fetch(`${h.sandbox.url}/_sandbox/state`)).json() as { parameters: { name: string }[] };
    expect(state.parameters.map((p) => p.name).sort()).toEqual([name(a!), name(b!)].sort());
    expect(h.sandbox.sandbox.store.world.parameters.find((p) => p.name === name(b!))!.tags).toEqual([{ key: 'jenkins-fleet:instance', value: arn(b!) }]);

    const ssmA = asInstance(a!);
    try {
      const own = await ssmA.send(new GetParameterCommand({ Name: name(a!), WithDecryption: true }));
      expect(own.Parameter!.Value).toBe('secret-of-a');
      const other = await refusal(ssmA.send(new GetParameterCommand({ Name: name(b!), WithDecryption: true })));
      expect(other).toMatchObject({ name: 'AccessDeniedException', status: 400 });
      expect(other.message).toBe(`User: arn:aws:sts::123456789012:assumed-role/jenkins-fleet-agent/${a} is not authorized to perform: ssm:GetParameter on resource: arn:aws:ssm:us-east-1:123456789012:parameter${name(b!)} with an explicit deny in an identity-based policy`);
      const both = await refusal(ssmA.send(new GetParametersCommand({ Names: [name(a!), name(b!)], WithDecryption: true })));
      expect(both.name).toBe('AccessDeniedException');
    } finally {
      ssmA.destroy();
    }
  });

  it('refuses a secret stored without its reader tag to every instance', async () => {
    const [c] = (await h.ec2.send(new RunInstancesCommand(launch()))).Instances!.map((i) => i.InstanceId!);
    await new Promise((r) => setTimeout(r, 400));
    await h.ssm.send(new PutParameterCommand({ Name: `/jenkins-fleet/bank-ci/agents/${c}/secret`, Value: 'untagged', Type: 'SecureString', KeyId: 'alias/jenkins-fleet/bank-ci' }));
    const ssmC = asInstance(c!);
    try {
      expect((await refusal(ssmC.send(new GetParameterCommand({ Name: `/jenkins-fleet/bank-ci/agents/${c}/secret`, WithDecryption: true })))).name).toBe('AccessDeniedException');
    } finally {
      ssmC.destroy();
    }
  });

  it('lets the provisioner tag a secret only with an instance ARN under jenkins-fleet:instance', async () => {
    await h.ssm.send(new PutParameterCommand({ Name: '/jenkins-fleet/bank-ci/agents/i-0aaaaaaaaaaaaaaa1/secret', Value: 's', Type: 'SecureString', KeyId: 'alias/jenkins-fleet/bank-ci' }));
    const other = await refusal(h.ssm.send(new AddTagsToResourceCommand({ ResourceType: 'Parameter', ResourceId: '/jenkins-fleet/bank-ci/agents/i-0aaaaaaaaaaaaaaa1/secret', Tags: [{ Key: 'owner', Value: 'me' }] })));
    expect(other.message).toContain('ssm:AddTagsToResource on resource: arn:aws:ssm:us-east-1:123456789012:parameter/jenkins-fleet/bank-ci/agents/i-0aaaaaaaaaaaaaaa1/secret');
    const notAnInstance = await refusal(h.ssm.send(new AddTagsToResourceCommand({ ResourceType: 'Parameter', ResourceId: '/jenkins-fleet/bank-ci/agents/i-0aaaaaaaaaaaaaaa1/secret', Tags: [{ Key: 'jenkins-fleet:instance', Value: 'arn:aws:iam::123456789012:role/admin' }] })));
    expect(notAnInstance.name).toBe('AccessDeniedException');
    await h.ssm.send(new AddTagsToResourceCommand({ ResourceType: 'Parameter', ResourceId: '/jenkins-fleet/bank-ci/agents/i-0aaaaaaaaaaaaaaa1/secret', Tags: [{ Key: 'jenkins-fleet:instance', Value: 'arn:aws:ec2:us-east-1:123456789012:instance/i-0aaaaaaaaaaaaaaa1' }] }));
  });
});
