// Runs the real Terraform on each configuration's variable blocks alone (no provider needed):
// sensible values must pass every validation, and for every variable that has a validation,
// a wrong value must be rejected with an error naming that variable.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTree } from './policy.ts';

const repoRoot = new URL('../..', import.meta.url).pathname;
const env = { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null', TF_IN_AUTOMATION: '1', CHECKPOINT_DISABLE: '1' };

type Values = Record<string, unknown>;

const ARN = {
  cert: 'arn:aws:acm:us-east-1:111122223333:certificate/0b1c2d3e-aaaa-bbbb-cccc-111122223333',
  kms: 'arn:aws:kms:us-east-1:111122223333:key/0b1c2d3e-aaaa-bbbb-cccc-111122223333',
  secret: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:bank-app/db-AbCdEf',
  role: 'arn:aws:iam::111122223333:role/jenkins-fleet-bank-ci-agent',
  profile: 'arn:aws:iam::111122223333:instance-profile/jenkins-fleet-bank-ci-agent',
  boundary: 'arn:aws:iam::111122223333:policy/bank-app-deploy-boundary',
  vault: 'arn:aws:backup:us-east-2:444455556666:backup-vault:bank-app-copies',
};
const TOPOLOGY = { regions: { 'us-east-1': { role: 'writer', generation: 1, vpc_cidr_block: '10.50.0.0/16' }, 'us-west-2': { role: 'replica', generation: 1, vpc_cidr_block: '10.60.0.0/16' } }, traffic: 'us-east-1', secrets_home: 'us-east-1' };
const IMAGE = 'docker.io/bankco/banking-app@sha256:' + 'a'.repeat(64);
const WATCH_IMAGE = '111122223333.dkr.ecr.us-east-1.amazonaws.com/bank-ci/fleet-watch:2026.11.28';

/** Per configuration: values that must pass (besides the defaults), and one wrong value per validated variable. */
const CASES: Record<string, { good: Values; bad: Values }> = {
  'terraform/modules/network': {
    good: { name: 'bank-ci-ci', cidr_block: '10.40.0.0/16', flow_log_kms_key_arn: ARN.kms, iam_permissions_boundary_arn: ARN.boundary, interface_endpoints: ['ssm', 'ecr.api'] },
    bad: { name: 'Bank_CI', cidr_block: '10.40.0.0/24', flow_log_retention_days: 10, flow_log_kms_key_arn: 'alias/x', iam_permissions_boundary_arn: ARN.role, interface_endpoints: ['s3'] },
  },
  'terraform/modules/agent-iam': {
    good: { fleet: 'bank-ci', vpc_id: 'vpc-0a1b2c3d', session_log_group_name: '/aws/ssm/sessions' },
    bad: { fleet: 'Bank CI', vpc_id: 'default', kms_deletion_window_days: 3, session_log_group_name: 'sessions?' },
  },
  'terraform/modules/provisioner-iam': {
    good: {
      fleet: 'bank-ci', regions: ['us-east-1', 'us-west-2'], agent_role_arn: ARN.role, agent_instance_profile_arn: ARN.profile,
      agent_subnet_ids: ['subnet-0a1b', 'subnet-0c2d'], agent_security_group_id: 'sg-0a1b2c',
      review_agent_role_arn: ARN.role, review_agent_instance_profile_arn: ARN.profile, review_agent_security_group_id: 'sg-0d4e5f',
      kms_key_arn: ARN.kms, ebs_kms_key_arn: ARN.kms, image_owners: ['amazon', '111122223333'], trusted_principal_arns: ['arn:aws:iam::111122223333:role/ci'],
      lock_table_arn: 'arn:aws:dynamodb:us-east-1:111122223333:table/jenkins-fleet-bank-ci-locks',
      interruption_queue_arns: ['arn:aws:sqs:us-east-1:111122223333:jenkins-fleet-bank-ci-interruptions', 'arn:aws:sqs:us-west-2:111122223333:jenkins-fleet-bank-ci-interruptions'],
    },
    bad: {
      fleet: '-x', regions: ['us-east'], agent_role_arn: ARN.profile, agent_instance_profile_arn: ARN.role, agent_subnet_ids: [],
      agent_security_group_id: 'default', review_agent_role_arn: ARN.profile, review_agent_instance_profile_arn: ARN.role, review_agent_security_group_id: 'sg-review',
      kms_key_arn: 'key', ebs_kms_key_arn: 'alias/aws/ebs', image_owners: ['anyone'], trusted_principal_arns: ['*'],
      lock_table_arn: 'arn:aws:dynamodb:us-east-1:111122223333:table/a b',
      interruption_queue_arns: ['https://sqs.us-east-1.amazonaws.com/111122223333/jenkins-fleet-bank-ci-interruptions'],
    },
  },
  'terraform/modules/interruption-queue': {
    good: { fleet: 'bank-ci', message_retention_seconds: 3600, tags: { CostCentre: 'ci' } },
    bad: { fleet: 'Bank CI', message_retention_seconds: 30 },
  },
  'terraform/modules/jenkins-controller': {
    good: {
      name: 'bank-ci-jenkins', vpc_id: 'vpc-0a1b', private_subnet_id: 'subnet-0a1b', load_balancer_subnet_ids: ['subnet-0c2d', 'subnet-0e3f'],
      allowed_cidrs: ['10.0.0.0/8'], allowed_security_group_ids: { agents: 'sg-0a1b' }, log_kms_key_arn: ARN.kms, assumable_role_arns: [ARN.role],
      domain_name: 'jenkins.bank.example', hosted_zone_id: 'Z0123456789ABC', certificate_arn: ARN.cert, kms_key_arn: ARN.kms,
      controller_image: '111122223333.dkr.ecr.us-east-1.amazonaws.com/bank-ci/jenkins:2.580.1', github_owner: 'bank-example', github_repository: 'jenkins-fleet',
    },
    bad: {
      name: 'a-name-that-is-far-too-long-for-an-alb', vpc_id: 'vpc', private_subnet_id: 'subnet', load_balancer_subnet_ids: ['subnet-0c2d'],
      allowed_cidrs: ['0.0.0.0/0'], allowed_security_group_ids: { agents: 'agents' }, log_kms_key_arn: 'key', log_retention_days: 2, assumable_role_arns: ['*'],
      session_log_group_name: 'sessions?',
      domain_name: 'Jenkins', hosted_zone_id: 'zone', certificate_arn: 'cert', instance_type: 'large',
      ami_parameter: '/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id',
      root_volume_gib: 8, home_volume_gib: 1, home_snapshot_retention: 0, kms_key_arn: 'alias/aws/ebs',
      controller_image: '111122223333.dkr.ecr-fips.us-east-1.amazonaws.com/bank-ci/jenkins:2.580.1', github_owner: 'bank example', github_repository: 'a/b',
    },
  },
  'terraform/modules/app-region': {
    good: {
      name: 'bank-app-pri', vpc_id: 'vpc-0a1b', public_subnet_ids: ['subnet-01', 'subnet-02'],
      public_subnet_cidr_blocks: ['10.50.0.0/20', '10.50.16.0/20'],
      private_subnet_ids: ['subnet-03', 'subnet-04'], certificate_arn: ARN.cert, container_image: IMAGE,
      db_host: 'bank-app-primary.abc.us-east-1.rds.amazonaws.com', db_name: 'bank', role: 'writer', db_app_secret_arn: ARN.secret,
      db_migrator_secret_arn: ARN.secret, secret_key_arn: ARN.secret, shared_secrets_kms_key_arn: ARN.kms, master_user_secret_arn: ARN.secret,
      master_user_secret_kms_key_arn: ARN.kms, credentials_version: 'db-app=v1', log_kms_key_arn: ARN.kms, permissions_boundary_arn: ARN.boundary,
    },
    bad: {
      name: 'x', vpc_id: 'v', public_subnet_ids: ['subnet-01'], public_subnet_cidr_blocks: ['ten'], private_subnet_ids: ['s', 't'],
      certificate_arn: ARN.kms, container_image: '1111.dkr.ecr.us-east-1.amazonaws.com/bank/banking-app:1.0.0', container_port: 80, task_cpu: 300, task_memory: 100,
      min_tasks: 0, max_tasks: 0, cpu_target_percent: 99, requests_per_task: 1, db_host: '', db_name: '1bank', role: 'primary',
      db_app_secret_arn: ARN.kms, db_migrator_secret_arn: 'secret', secret_key_arn: 'secret', shared_secrets_kms_key_arn: ARN.secret,
      master_user_secret_arn: ARN.kms, master_user_secret_kms_key_arn: 'key', credentials_version: '', db_ssl_ca: 'etc/bank/db-ca.pem', db_users_command: [], migrate_command: [],
      log_retention_days: 2, log_kms_key_arn: ARN.secret, waf_rate_limit_per_5_minutes: 10, max_request_body_bytes: 100000, permissions_boundary_arn: ARN.role,
    },
  },
  'terraform/modules/https-alb': {
    good: {
      name: 'bank-app-use1', vpc_id: 'vpc-0a1b', subnet_ids: ['subnet-01', 'subnet-02'], internal: true, ingress_cidrs: ['10.0.0.0/8'],
      ingress_security_group_ids: { agents: 'sg-0a1b' }, certificate_arn: ARN.cert, target_group_name: 'bank-app-use1-app',
      target_type: 'ip', target_port: 8000, target_security_group_id: 'sg-0c2d', log_kms_key_arn: ARN.kms,
      health_check: { path: '/health', matcher: '200,503', interval: 15, timeout: 5, healthy_threshold: 2, unhealthy_threshold: 3 },
      waf_managed_rule_groups: ['AWSManagedRulesCommonRuleSet'], waf_rate_limit_per_5_minutes: 2000, max_request_body_bytes: 8192,
    },
    bad: {
      name: 'App', vpc_id: 'vpc', subnet_ids: ['subnet-01'], ingress_cidrs: ['::/0'], ingress_security_group_ids: { agents: 'agents' },
      certificate_arn: ARN.kms, target_group_name: '-tg', target_type: 'lambda', target_port: 0, target_security_group_id: 'tasks',
      health_check: { path: 'health', matcher: 'ok', interval: 5, timeout: 5, healthy_threshold: 2, unhealthy_threshold: 3 },
      deregistration_delay_seconds: -1, idle_timeout_seconds: 0, hsts_max_age_seconds: 60, waf_managed_rule_groups: ['CommonRuleSet'],
      waf_rate_limit_per_5_minutes: 10, max_request_body_bytes: 16384, access_log_retention_days: 0, waf_log_retention_days: 2,
      log_kms_key_arn: 'alias/logs',
    },
  },
  'terraform/modules/kms-key': {
    good: { alias: 'bank-app/logs', description: 'bank-app: CloudWatch log groups', cloudwatch_logs: true },
    bad: { alias: 'aws/logs', description: '', deletion_window_days: 3 },
  },
  'terraform/modules/fleet-watch': {
    good: {
      name: 'bank-ci-fleet-watch', image: WATCH_IMAGE, token_secret_arn: ARN.secret, token_kms_key_arn: ARN.kms,
      provisioner_policy_arn: 'arn:aws:iam::111122223333:policy/jenkins-fleet-bank-ci-provisioner', region: 'us-east-1',
      vpc_id: 'vpc-0a1b2c3d4e5f60001', subnet_ids: ['subnet-0a1b2c3d4e5f60001'], controller_load_balancer_security_group_id: 'sg-0a1b2c3d4e5f60001',
      endpoint_security_group_id: 'sg-0a1b2c3d4e5f60002', gateway_prefix_list_ids: { s3: 'pl-63a5400a', dynamodb: 'pl-02cd2c6b' },
      log_kms_key_arn: ARN.kms, lease: '30s', desired_count: 3,
    },
    bad: {
      name: 'Fleet Watch', image: 'docker.io/bankco/fleet-watch:1', fleet_file: 'fleet.yaml', token_secret_arn: ARN.kms,
      token_kms_key_arn: 'key', provisioner_policy_arn: ARN.role, lease: '30 seconds', desired_count: 0,
    },
  },
  'terraform/modules/ecs-workload': {
    good: {
      name: 'bank-ci-fleet-watch', log_kms_key_arn: ARN.kms, log_retention_days: 400, permissions_boundary_arn: ARN.boundary,
      execution_role_description: 'Starts the bank-app-pri app tasks', task_role_description: 'The bank-app-pri app itself (no AWS permissions)',
    },
    bad: { name: 'Bank App', log_kms_key_arn: 'alias/logs', log_retention_days: 10, permissions_boundary_arn: ARN.role },
  },
  'terraform/modules/pipeline-roles': {
    good: { name: 'bank-app', trusted_role_arns: [ARN.role], regions: ['us-east-1', 'us-west-2'], state_bucket: 'bank-tfstate-prod', state_kms_key_arn: ARN.kms },
    bad: {
      name: 'B', trusted_role_arns: [], regions: ['east'], global_services_region: 'global', state_bucket: 'S3://x',
      state_key_prefix: '/app', state_kms_key_arn: 'key',
    },
  },
  'terraform/jenkins': {
    good: {
      controller_domain_name: 'jenkins.bank.example', controller_certificate_arn: ARN.cert, hosted_zone_id: 'Z0123456789ABC',
      controller_image: 'docker.io/bankco/jenkins:2.580.1', github_owner: 'bank-example',
      provisioner_principal_arns: ['arn:aws:iam::111122223333:role/ci'], tags: { CostCentre: 'ci' }, controller_allowed_cidrs: ['10.0.0.0/8'],
      app_state_bucket: 'bank-tfstate-prod', app_state_kms_key_arn: ARN.kms, lock_table_name: 'bank-ci-run-locks',
      watch_image: WATCH_IMAGE, watch_token_secret_arn: ARN.secret, watch_token_kms_key_arn: ARN.kms,
      spot_regions: ['us-west-2'],
    },
    bad: {
      lock_table_name: 'a b',
      watch_image: 'docker.io/bankco/fleet-watch:latest', watch_token_secret_arn: 'token', watch_token_kms_key_arn: 'key',
      region: 'mars-1', fleet: 'BANK', vpc_cidr_block: '10.0.0.0/8', controller_domain_name: 'localhost',
      controller_certificate_arn: 'cert', hosted_zone_id: 'zone', controller_instance_type: 'big', controller_home_gib: 5,
      provisioner_principal_arns: ['*'], tags: { 'jenkins-fleet:fleet': 'bank-ci' }, controller_allowed_cidrs: ['0.0.0.0/0'],
      app_name: 'Bank App', app_regions: ['east'], app_state_bucket: 'S3://x', app_state_key_prefix: '/app', app_state_kms_key_arn: 'key',
      session_log_group_name: 'sessions?',
      controller_image: 'jenkins:latest:x', github_owner: '-bank', github_repository: 'two words',
      spot_regions: ['west', 'west'],
    },
  },
  'terraform/interruptions': {
    good: { region: 'us-west-2', fleet: 'bank-ci', tags: { CostCentre: 'ci' } },
    bad: { region: 'west', fleet: 'Bank CI', message_retention_seconds: 30, tags: { 'jenkins-fleet:fleet': 'bank-ci' } },
  },
  'terraform/account': {
    good: { region: 'us-west-2', session_log_group_name: '/aws/ssm/sessions', idle_session_timeout_minutes: 15 },
    bad: {
      region: 'west', session_log_group_name: 'sessions?', session_log_retention_days: 2, idle_session_timeout_minutes: 0,
      max_session_duration_minutes: 2000, tags: { 'jenkins-fleet:pool': 'x' },
    },
  },
  'terraform/bootstrap': {
    good: { region: 'us-east-1', name: 'bank', state_bucket_name: 'bank-tfstate-prod', repositories: { controller: 'bank-ci/jenkins', app: 'bank/banking-app' } },
    bad: {
      region: 'east', name: 'Bank_', state_bucket_name: 'Bank State', state_noncurrent_days: 7, repositories: { app: 'Bank/App' },
      untagged_image_days: 0, tags: { 'jenkins-fleet:pool': 'x' },
    },
  },
  'terraform/app': {
    good: {
      region: 'us-west-2', certificate_arn: ARN.cert.replace('us-east-1', 'us-west-2'), container_image: IMAGE, backup_copy_vault_arn: ARN.vault,
      alarm_subscriptions: [{ protocol: 'https', endpoint: 'https://paging.bank.example/aws' }], topology: TOPOLOGY,
    },
    bad: {
      region: 'west', topology: { regions: {}, traffic: 'x', secrets_home: 'x' }, name: 'b', certificate_arn: 'c', container_image: 'UPPER',
      backup_copy_vault_arn: 'vault', min_tasks: 0, max_tasks: 0, db_instance_class: 'm7g.large', db_engine_version: '5.7',
      db_allocated_storage_gib: 5, db_name: 'bank-db', db_master_username: 'admin', db_backup_retention_days: 1,
      db_free_storage_alarm_gib: 0, replica_lag_alarm_seconds: 1, alarm_subscriptions: [{ protocol: 'sms', endpoint: '' }],
      tags: { 'jenkins-fleet:pool': 'x' },
    },
  },
  'terraform/app-secrets': {
    good: { topology: TOPOLOGY, db_password_version: 2, secret_key_version: 3 },
    bad: {
      name: 'b', topology: { regions: {}, traffic: 'x', secrets_home: 'x' }, db_app_username: 'root', db_migrator_username: '1x',
      db_password_version: 1.5, secret_key_version: 0, tags: { 'jenkins-fleet:pool': 'x' },
    },
  },
  'terraform/app-traffic': {
    good: {
      domain_name: 'app.bank.example', hosted_zone_id: 'Z0123456789ABC', topology: TOPOLOGY,
      load_balancer_dns_names: { 'us-east-1': 'bank-app-use1-alb-1.us-east-1.elb.amazonaws.com' },
    },
    bad: {
      region: 'us-west-2', topology: { regions: {}, traffic: 'x', secrets_home: 'x' }, name: 'b', domain_name: 'app', hosted_zone_id: 'z',
      load_balancer_dns_names: { east: 'example.com' }, alarm_subscriptions: [{ protocol: 'sms', endpoint: '' }], tags: { 'jenkins-fleet:pool': 'x' },
    },
  },
  'terraform/modules/app-topology': {
    good: { topology: TOPOLOGY },
    bad: { topology: { regions: { 'us-east-1': { role: 'writer', generation: 1, vpc_cidr_block: '10.50.0.0/16' } }, traffic: 'us-west-2', secrets_home: 'eu-west-1' } },
  },
  'terraform/modules/database': {
    good: {
      name: 'bank-app-usw2-db', role: 'replica', generation: 2, source_arn: 'arn:aws:rds:us-east-1:111122223333:db:bank-app-use1-db-g1',
      instance_class: 'db.m7g.large', engine_version: '8.4', allocated_storage_gib: 100, db_name: 'bank', master_username: 'bank_admin',
      kms_key_arn: ARN.kms, log_kms_key_arn: ARN.kms, subnet_group_name: 'bank-app-usw2-db', security_group_id: 'sg-0a1b',
      backup_retention_days: 14, backup_copy_vault_arn: ARN.vault, permissions_boundary_arn: ARN.boundary,
    },
    bad: {
      name: 'DB', role: 'primary', generation: 0, source_arn: ARN.kms, instance_class: 'large', engine_version: '5.7', allocated_storage_gib: 5,
      db_name: 'bank-db', master_username: 'root', kms_key_arn: 'key', log_kms_key_arn: 'key', subnet_group_name: '', security_group_id: 'db',
      ca_cert_identifier: 'x', backup_retention_days: 90, backup_copy_vault_arn: 'vault', backup_copy_retention_days: 7,
      permissions_boundary_arn: ARN.role, log_retention_days: 2,
    },
  },
};

let scratch: string;

beforeAll(() => {
  const version = spawnSync('terraform', ['version'], { env, encoding: 'utf8' });
  if (version.error) throw new Error('terraform is not on PATH; install Terraform >= 1.11 (https://developer.hashicorp.com/terraform/install)');
  scratch = mkdtempSync(join(tmpdir(), 'tf-variables-'));
});

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** Copies the directory's variables.tf alone into a fresh directory and runs `terraform plan` on it. */
function plan(dir: string, values: Values, label: string): { ok: boolean; output: string } {
  const work = join(scratch, `${dir.replaceAll('/', '_')}-${label}`);
  execFileSync('mkdir', ['-p', work]);
  copyFileSync(join(repoRoot, dir, 'variables.tf'), join(work, 'variables.tf'));
  writeFileSync(join(work, 'values.tfvars.json'), JSON.stringify(values));
  execFileSync('terraform', ['init', '-input=false', '-backend=false', '-no-color'], { cwd: work, env, stdio: 'pipe' });
  const run = spawnSync('terraform', ['plan', '-input=false', '-lock=false', '-no-color', '-var-file=values.tfvars.json'], { cwd: work, env, encoding: 'utf8' });
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
}

describe('variable validations, run by terraform', () => {
  it('has a case for every configuration and a wrong value for every validated variable', async () => {
    const tree = await loadTree(repoRoot, 'terraform');
    expect(Object.keys(CASES).sort()).toEqual(tree.configurations.map((c) => c.dir).sort());
    for (const config of tree.configurations) {
      const validated = config.files.flatMap((f) =>
        Object.entries((f.body.variable ?? {}) as Record<string, Array<Record<string, unknown>>>)
          .filter(([, bodies]) => bodies.some((b) => b.validation !== undefined))
          .map(([name]) => name),
      );
      expect({ dir: config.dir, missing: validated.filter((v) => !(v in CASES[config.dir]!.bad)) }).toEqual({ dir: config.dir, missing: [] });
    }
  });

  for (const [dir, { good, bad }] of Object.entries(CASES)) {
    it(`${dir} accepts its defaults and sensible values`, () => {
      const result = plan(dir, good, 'good');
      expect(result.ok, result.output).toBe(true);
    });

    it(`${dir} rejects a wrong value of each validated variable, naming it`, () => {
      const required = Object.fromEntries(Object.entries(good).filter(([k]) => !(k in bad)));
      const result = plan(dir, { ...required, ...bad }, 'bad');
      expect(result.ok).toBe(false);
      const named = [...result.output.matchAll(/var\.([a-z0-9_]+)(?:\.[a-z0-9_]+)* is /g)].map((m) => m[1]);
      expect(Object.keys(bad).filter((v) => !named.includes(v)), result.output).toEqual([]);
    });
  }
});
