// IAM in the sandbox: the provisioner's credentials carry the policy terraform/modules/provisioner-iam
// defines, instantiated with the values `terraform/jenkins` would give it for a fleet file, and
// every EC2, SSM and DynamoDB call they sign is authorised against it before the stand-in acts.
import { join } from 'node:path';
import type { Fleet } from '../../../src/model.ts';
import { isStaticPool, queueUrlPattern } from '../../../src/config/schema.ts';
import { UserError } from '../../../src/errors.ts';
import { kmsKeyOf } from '../ssm.ts';
import type { Sandbox } from '../world.ts';
import { authorize, type Principal, type Refusal } from './authorize.ts';
import { TerraformModule, type PolicyDocument, type Value } from './hcl.ts';
import { defaultLockTable } from '../dynamodb.ts';
import { dynamoDbRequests, ec2Requests, instanceArn, sandboxVpcId, sqsRequests, ssmRequests, tableArn } from './requests.ts';

export { defaultModulesDir } from './modules-dir.ts';

export interface IamOptions {
  /** The fleet whose values instantiate the policies (fleet, regions, subnets, security group, profile, key). */
  fleet: Fleet;
  /** Where provisioner-iam (and agent-iam) are read from. */
  modulesDir: string;
  /** provisioner-iam's image_owners; the module's default when not given. */
  imageOwners?: string[];
}

export interface SandboxIam {
  /** The provisioner's role session, as refusals name it. */
  provisioner: Principal;
  /** The module inputs the policy was instantiated with. */
  variables: Record<string, Value>;
  authorizeEc2(form: URLSearchParams): Promise<Refusal | undefined>;
  authorizeSsm(op: string, input: Record<string, unknown>): Promise<Refusal | undefined>;
  authorizeDynamoDb(op: string, input: Record<string, unknown>): Promise<Refusal | undefined>;
  /** An SQS call on the queue of `queueArn` (the stand-in found it from the QueueUrl: the URL's account, not the caller's). */
  authorizeSqs(op: string, queueArn: string): Promise<Refusal | undefined>;
  /** An SSM call a host's `aws` makes with its instance's role credentials. */
  authorizeInstance(instanceId: string, op: string, input: Record<string, unknown>): Promise<Refusal | undefined>;
}

/**
 * The statement of the AWS managed policy AmazonSSMManagedInstanceCore (v2) that agent-iam attaches
 * to the agents' role, as the AWS Managed Policy Reference lists it: it allows reading every
 * parameter, which agent-iam's denies narrow down.
 */
export const amazonSsmManagedInstanceCore: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [{
    Effect: 'Allow',
    Action: [
      'ssm:DescribeAssociation', 'ssm:GetDeployablePatchSnapshotForInstance', 'ssm:GetDocument', 'ssm:DescribeDocument', 'ssm:GetManifest',
      'ssm:GetParameter', 'ssm:GetParameters', 'ssm:ListAssociations', 'ssm:ListInstanceAssociations', 'ssm:PutInventory', 'ssm:PutComplianceItems',
      'ssm:PutConfigurePackageResult', 'ssm:UpdateAssociationStatus', 'ssm:UpdateInstanceAssociationStatus', 'ssm:UpdateInstanceInformation',
    ],
    Resource: '*',
  }],
};

function one(values: Set<string>, what: string, variable: string, pools = "the fleet's EC2 pools"): string {
  if (values.size !== 1) {
    throw new UserError(`--fleet: terraform/modules/provisioner-iam takes one ${what} (${variable}); ${pools} name ${values.size === 0 ? 'none' : [...values].join(', ')}`);
  }
  return [...values][0]!;
}

/** A queue URL's ARN, as terraform's aws_sqs_queue.arn is to its url: the URL's own region, account and name. */
function queueArnOf(url: string): string {
  const [, region, account, name] = queueUrlPattern.exec(url) as RegExpExecArray;
  return `arn:aws:sqs:${region}:${account}:${name}`;
}

/** The sandbox names each instance profile's role after it. */
const roleOf = (profileArn: string) => profileArn.replace(/:instance-profile\//, ':role/');

/** The module's variables as terraform/jenkins fills them for this fleet in the sandbox's account. */
export function provisionerIamVariables(sb: Sandbox, options: IamOptions): Record<string, Value> {
  const fleet = options.fleet;
  const ec2Pools = fleet.pools.filter((p) => !isStaticPool(p));
  const profileOf = (p: (typeof ec2Pools)[number]) => (p.instanceProfile!.startsWith('arn:') ? p.instanceProfile! : `arn:aws:iam::${sb.accountId}:instance-profile/${p.instanceProfile}`);
  // terraform/jenkins gives the pull-request pool (library.pullRequestLabel) a profile and group of
  // its own, the review_agent_* inputs; a fleet file whose pull-request pool shares the deploy
  // pools' fills agent_* alone, as terraform/jenkins did before.
  const reviewLabel = fleet.library?.pullRequestLabel;
  const isReview = (p: (typeof ec2Pools)[number]) => reviewLabel !== undefined && p.labels.includes(reviewLabel);
  const deployPools = ec2Pools.filter((p) => !isReview(p));
  const reviewPools = ec2Pools.filter(isReview);
  const shared = reviewPools.every((p) => deployPools.some((d) => profileOf(d) === profileOf(p) && d.securityGroups!.join() === p.securityGroups!.join()));
  const agentPools = shared ? ec2Pools : deployPools;
  const profileArn = one(new Set(agentPools.map(profileOf)), 'agent instance profile', 'agent_instance_profile_arn');
  const review = shared || reviewPools.length === 0 ? undefined : {
    profile: one(new Set(reviewPools.map(profileOf)), 'pull-request agent instance profile', 'review_agent_instance_profile_arn', `the pools labelled ${reviewLabel}`),
    group: one(new Set(reviewPools.flatMap((p) => p.securityGroups!)), 'pull-request agent security group', 'review_agent_security_group_id', `the pools labelled ${reviewLabel}`),
  };
  let kmsKeyArn: string | null = null;
  if (fleet.secrets?.kmsKeyId) {
    const key = kmsKeyOf(sb, fleet.secrets.kmsKeyId);
    if (!key) throw new UserError(`--fleet: secrets.kmsKeyId ${fleet.secrets.kmsKeyId} names no key of the sandbox (give it with --kms-key)`);
    kmsKeyArn = key.arn;
  }
  return {
    fleet: fleet.fleet,
    regions: [...new Set([fleet.region, ...fleet.pools.map((p) => p.region)])],
    agent_role_arn: roleOf(profileArn),
    agent_instance_profile_arn: profileArn,
    agent_subnet_ids: [...new Set(ec2Pools.flatMap((p) => p.subnets!))],
    agent_security_group_id: one(new Set(agentPools.flatMap((p) => p.securityGroups!)), 'agent security group', 'agent_security_group_id'),
    ...(review ? { review_agent_role_arn: roleOf(review.profile), review_agent_instance_profile_arn: review.profile, review_agent_security_group_id: review.group } : {}),
    kms_key_arn: kmsKeyArn,
    // terraform/jenkins creates the run lock's table; the sandbox serves the one the fleet file names.
    lock_table_arn: tableArn(sb, fleet.lock?.table ?? defaultLockTable),
    // terraform/jenkins makes the interruption queue (terraform/interruptions one in each further
    // region) and passes their ARNs; a fleet file without one gets no SQS right.
    interruption_queue_arns: fleet.interruptions ? fleet.interruptions.queues.map(queueArnOf) : null,
    ...(options.imageOwners ? { image_owners: options.imageOwners } : {}),
  };
}

/** Reads provisioner-iam and makes the provisioner's principal with its policy for this fleet. */
export async function loadSandboxIam(sb: Sandbox, options: IamOptions): Promise<SandboxIam> {
  const module = await TerraformModule.read(join(options.modulesDir, 'provisioner-iam'));
  const variables = provisionerIamVariables(sb, options);
  const data = { aws_caller_identity: { current: { account_id: sb.accountId } }, aws_partition: { current: { partition: 'aws' } }, aws_region: { current: { name: sb.region, region: sb.region } } };
  const inputs = { variables, data };
  const policy: PolicyDocument = module.policyDocument('provisioner', inputs);
  const roleName = module.scope(inputs).local('name') as string;
  const provisioner: Principal = {
    arn: `arn:aws:sts::${sb.accountId}:assumed-role/${roleName}/sandbox`,
    roleArn: `arn:aws:iam::${sb.accountId}:role/${roleName}`,
    accountId: sb.accountId,
    policies: [{ name: roleName, policy }],
  };
  // The fleet's key carries terraform/modules/kms-key's policy (agent-iam makes it so): the account
  // uses it through IAM policies. KMS refuses a key whose policy does not let IAM decide.
  const keyModule = await TerraformModule.read(join(options.modulesDir, 'kms-key'));
  const keyPolicy = keyModule.policyDocument('key', { variables: { alias: `jenkins-fleet/${options.fleet.fleet}`, description: `Encrypts the agent secrets of Jenkins fleet ${options.fleet.fleet} in Parameter Store` }, data });
  const resourcePolicies = (resource: string) => (resource.startsWith(`arn:aws:kms:${sb.region}:${sb.accountId}:key/`) ? keyPolicy : undefined);
  // The agents' role: agent-iam's inline policy (its key being the fleet's) and the managed policy.
  const agentModule = await TerraformModule.read(join(options.modulesDir, 'agent-iam'));
  const fleetKey = kmsKeyOf(sb, `alias/jenkins-fleet/${options.fleet.fleet}`) ?? kmsKeyOf(sb, 'alias/aws/ssm')!;
  const agentInputs = { variables: { fleet: options.fleet.fleet, vpc_id: sandboxVpcId }, data, modules: { key: { arn: fleetKey.arn } } };
  const agentPolicy = agentModule.policyDocument('agent', agentInputs);
  const agentRoles = [variables.agent_role_arn, variables.review_agent_role_arn].filter((r): r is string => typeof r === 'string');
  const instancePrincipal = (instanceId: string): Principal => {
    const instance = sb.store.world.instances.find((i) => i.id === instanceId);
    const profile = instance?.instanceProfile;
    const role = profile ? `arn:aws:iam::${sb.accountId}:role/${profile.split('/').pop()}` : `arn:aws:iam::${sb.accountId}:role/no-instance-profile`;
    return {
      arn: `arn:aws:sts::${sb.accountId}:assumed-role/${role.split('/').pop()}/${instanceId}`,
      roleArn: role,
      accountId: sb.accountId,
      // Only the fleet's agent roles carry agent-iam's policies; any other profile has none here.
      policies: agentRoles.includes(role) ? [{ name: 'fleet-parameters', policy: agentPolicy }, { name: 'AmazonSSMManagedInstanceCore', policy: amazonSsmManagedInstanceCore }] : [],
      // Instance role credentials carry the instance's ARN (EC2 User Guide, "IAM roles for Amazon EC2").
      context: { 'ec2:SourceInstanceARN': instanceArn(sb, instanceId) },
    };
  };
  return {
    provisioner,
    variables,
    authorizeInstance: (instanceId, op, input) => authorize(instancePrincipal(instanceId), sb.region, ssmRequests(sb, op, input), resourcePolicies),
    authorizeEc2: (form) => authorize(provisioner, sb.region, ec2Requests(sb, form), resourcePolicies),
    authorizeSsm: (op, input) => authorize(provisioner, sb.region, ssmRequests(sb, op, input), resourcePolicies),
    authorizeDynamoDb: (op, input) => authorize(provisioner, sb.region, dynamoDbRequests(sb, op, input), resourcePolicies),
    authorizeSqs: (op, arn) => authorize(provisioner, sb.region, sqsRequests(op, arn), resourcePolicies),
  };
}
