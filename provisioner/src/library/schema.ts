// The `library:` section of fleet.yaml: the organisation's conventions (library name and
// version, registry and image, credential ids, deploy branch, tool versions, cache
// directories) that `provisioner library` renders into the shared library's steps and the
// Jenkinsfile. Every value lands in generated Groovy, so each one is held to a strict pattern.
import type { z as zod } from 'zod';
import { z } from '../config/zod.ts';

const relativePath = z
  .string()
  .regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, 'expected a relative path of letters, digits, ".", "_", "-" and "/"')
  .refine((p) => !p.split('/').includes('..'), 'expected a path inside the workspace (no "..")')
  // A leading '-' would read as an option to the tool that gets the path.
  .refine((p) => !p.startsWith('-'), 'expected a path that does not start with "-"');

const absolutePath = z
  .string()
  .regex(/^\/[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, 'expected an absolute path of letters, digits, ".", "_", "-" and "/"')
  .refine((p) => !p.split('/').includes('..'), 'expected a path without ".."');

const credentialsId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected a Jenkins credentials id (letters, digits, ".", "_", "-")');

const terraformName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, 'expected a Terraform variable name');
const singleLine = z.string().regex(/^[^\n\r]*$/, 'expected a single line');

const backendSettings = z
  .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, 'expected a backend setting name'), singleLine.min(1, 'expected a value'))
  .default({});
const inputVariables = z.record(terraformName, singleLine.min(1, 'expected a value')).default({});

/** A minimum version such as `3.11` or `1.5.0`. */
const minVersion = z.string().regex(/^\d+(\.\d+){0,2}$/, 'expected a version such as 3.11 or 1.5.0');

/** A git branch or tag name as Jenkins and `@Library` accept it. */
const gitRef = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]*$/, 'expected a git branch or tag name (letters, digits, ".", "_", "-", "/")')
  .refine((r) => !r.includes('..') && !r.endsWith('/') && !r.endsWith('.lock'), 'expected a valid git ref name');

/** Docker's reference grammar: lower-case path components separated by `/`. */
export const imagePathPattern = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;
/** A registry host with an optional port. */
export const registryPattern = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[0-9]{1,5})?$/;

export const librarySchema = z.strictObject({
  /** The name Jenkins knows the library by (`@Library('NAME@VERSION')`). */
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected a library name (letters, digits, ".", "_", "-")')
    .default('bank-pipeline'),
  /** The pinned version (a git tag of this repository) the Jenkinsfile loads. */
  version: gitRef.default('v1.0.0'),
  /** The only branch that pushes `latest` and applies Terraform. */
  deployBranch: gitRef.default('main'),
  python: z
    .strictObject({
      /** The interpreter command `buildApp` uses on the agent. */
      interpreter: z
        .string()
        .regex(/^[A-Za-z0-9._/+-]+$/, 'expected an interpreter command or path such as python3')
        .default('python3'),
      /** The oldest Python the steps accept. */
      minVersion: minVersion.default('3.11'),
      /** Where `buildApp` keeps virtualenvs between builds (outside any workspace). */
      venvCache: absolutePath.default('/var/cache/bank-pipeline/venvs'),
      /** Whether the virtualenv sees the agent's system site packages. */
      systemSitePackages: z.boolean().default(false),
    })
    .prefault({}),
  docker: z.strictObject({
    /** Registry host, e.g. docker.io or 123456789012.dkr.ecr.us-east-1.amazonaws.com. */
    registry: z.string().regex(registryPattern, 'expected a registry host such as docker.io').default('docker.io'),
    /** Image repository inside the registry, e.g. bankco/bank-app. */
    image: z.string().regex(imagePathPattern, 'expected an image repository such as bankco/bank-app (lower case)'),
    /** Username/password credentials for `docker login`. */
    credentialsId: credentialsId.default('dockerhub'),
  }),
  tests: z
    .strictObject({
      /** The target of the app's Dockerfile that holds everything its whole test suite needs. */
      target: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'expected a Dockerfile stage name').default('test'),
      /**
       * The MariaDB image started beside the test container: 10.11, the version Debian 12 (the
       * app's test target) has. Pin it by digest for repeatable builds; null: none, the tests
       * start their own server inside the container.
       */
      databaseImage: z
        .string()
        .regex(/^[a-z0-9][a-z0-9._/:-]*(@sha256:[0-9a-f]{64})?$/, 'expected an image reference such as docker.io/library/mariadb:10.11')
        .nullable()
        .default('docker.io/library/mariadb:10.11'),
      /** The variable the test container finds the database in (mysql://root:PASSWORD@127.0.0.1:3306). */
      databaseUrlVariable: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'expected an environment variable name').default('BANK_TEST_MARIADB_URL'),
    })
    .prefault({}),
  terraform: z
    .strictObject({
      /** The oldest Terraform the steps accept. */
      minVersion: minVersion.default('1.11.1'),
      /** AWS credentials (the deploy role) the deploy branch plans and applies with. */
      credentialsId: credentialsId.default('aws-deploy'),
      /** AWS credentials (a read-only role) pull requests plan with, without taking the state lock. */
      planCredentialsId: credentialsId.default('aws-plan'),
      /** Provider plugin cache shared by every build on an agent. */
      pluginCache: absolutePath.default('/var/cache/bank-pipeline/terraform-plugins'),
      /** How long plan and apply wait for the state lock another run holds (Terraform's -lock-timeout). */
      lockTimeout: z.string().regex(/^[1-9][0-9]*[smh]$/, 'expected a duration such as 10m').default('10m'),
      /**
       * Who may approve an apply: user ids and groups (of casc.yaml's security realm), comma
       * separated without spaces, as the input step's `submitter` compares them.
       */
      approvers: z
        .string()
        .regex(/^[A-Za-z0-9._@-]+(,[A-Za-z0-9._@-]+)*$/, 'expected user ids or group names separated by "," (no spaces)')
        .default('deployers'),
      /** How long a plan waits for approval before the build is aborted. */
      approvalHours: z.number().int().min(1).max(24 * 14).default(24),
    })
    .prefault({}),
  /**
   * The label of the pool that builds pull requests and other unmerged branches. Their code never
   * runs on the agents that deploy: no other pool may carry this label, and its pools serve no
   * other stage's label.
   */
  pullRequestLabel: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected a Jenkins label (letters, digits, ".", "_", "-")')
    .default('pull-request'),
  jenkinsfile: z
    .strictObject({
      /** The app's directory (requirements.txt, tests/, Dockerfile). */
      appDir: relativePath.default('app'),
      /** The Terraform the deploy stage applies. */
      terraformDir: relativePath.default('terraform/app'),
      /** Each working stage's timeout (the approval has its own, terraform.approvalHours). */
      timeoutMinutes: z.number().int().min(5).max(24 * 60).default(45),
      /** The Terraform variable that receives the pushed image (`REGISTRY/IMAGE@DIGEST`). */
      imageVariable: terraformName.default('container_image'),
      /**
       * Backend settings for `init` (the S3 bucket, key and region of the state): the one place an
       * operator gives them. `provisioner doctor` names each one terraformDir's backend leaves out
       * and this lacks; the deploy's first step fails naming it too, before `terraform init`.
       */
      backendConfig: backendSettings,
      /**
       * The deploy's input variables (not secrets: they are visible in the Jenkinsfile), checked the
       * same way against terraformDir's variables without a default.
       */
      vars: inputVariables,
      /**
       * The deploy's targets, applied one after another in this order (for terraform/app: one state
       * per region, the writer's region first). Each adds its own backendConfig and vars to the
       * shared ones above, overriding a shared key it repeats. None: one deploy with the shared ones.
       */
      regions: z
        .array(
          z.strictObject({
            /** Names the target's stages, plan file and stash: an AWS region such as us-west-2. */
            name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'expected a region name such as us-west-2 (lower-case letters, digits, "-")'),
            backendConfig: backendSettings,
            vars: inputVariables,
          }),
        )
        .default([])
        .refine((regions) => new Set(regions.map((r) => r.name)).size === regions.length, 'expected each region name once'),
    })
    .prefault({}),
});

export type Library = zod.infer<typeof librarySchema>;

/** One target of the deploy: its name (null when fleet.yaml lists no regions) and its whole settings. */
export interface Deployment {
  name: string | null;
  backendConfig: Record<string, string>;
  vars: Record<string, string>;
}

/** The deploy's targets in the order they are applied, each with the shared settings merged in. */
export function deployments(jenkinsfile: Library['jenkinsfile']): Deployment[] {
  if (jenkinsfile.regions.length === 0) {
    return [{ name: null, backendConfig: { ...jenkinsfile.backendConfig }, vars: { ...jenkinsfile.vars } }];
  }
  return jenkinsfile.regions.map((region) => ({
    name: region.name,
    backendConfig: { ...jenkinsfile.backendConfig, ...region.backendConfig },
    vars: { ...jenkinsfile.vars, ...region.vars },
  }));
}
