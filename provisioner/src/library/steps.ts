// The four steps' parameters (name, type, default, rule, meaning) and where each tool lives in
// the fleet. One table drives both the Groovy defaults and validation in vars/NAME.groovy and the
// help in vars/NAME.txt, so the two cannot disagree.
import { UserError } from '../errors.ts';
import type { GroovyValue } from './groovy.ts';
import { imagePathPattern, registryPattern, type Library } from './schema.ts';

export type Tool = 'python' | 'docker' | 'terraform';

/** Parameter types a step accepts; `List` holds strings, `Map` maps names to strings, numbers or booleans. */
export type ParamType = 'String' | 'Boolean' | 'List' | 'Map';

export interface Param {
  key: string;
  type: ParamType;
  /** The default; `null` means "computed by the step" (and so a caller may pass null). */
  default: GroovyValue;
  doc: string;
  /** A Java regex a String (or each List element, or each Map value) must match in full. */
  pattern?: string;
  /** A Java regex each Map key must match in full. */
  keyPattern?: string;
  /** What `pattern`/`keyPattern` mean, for the error message. */
  expected?: string;
  /** What a Map value's `pattern` means, when it differs from `expected` (the keys'). */
  valueExpected?: string;
  /** Whether null is accepted although the default is not null. */
  nullable?: boolean;
}

export interface Step {
  name: 'buildApp' | 'test' | 'testInContainer' | 'dockerPush' | 'terraformPlan' | 'terraformApply';
  summary: string;
  tool: Tool;
  params: Param[];
  returns: string;
  example: string;
}

export interface ToolHome {
  tool: Tool;
  /** The label expression a stage needing this tool runs on. */
  label: string;
  /** Pools that install the tool, with their labels. */
  pools: { name: string; labels: string[] }[];
  /** One sentence for error messages: where to run a step that needs this tool. */
  hint: string;
}

interface PoolLike {
  name: string;
  labels: string[];
  tools: readonly string[];
}

// Java regexes (matched in full by Groovy's ==~). Paths stay inside the workspace and hold no
// shell metacharacters, so they can also be used in Ant patterns and messages as they are.
// A leading '-' would read as an option to the tool that gets the path.
const relativePath = '(?!(.*/)?\\.\\.(/|$))(?!-)[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*';
const relativePathText = 'a relative path of letters, digits, ".", "_", "-" and "/" without ".." and not starting with "-"';
const absolutePath = '(?!(.*/)?\\.\\.(/|$))/[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*';
const absolutePathText = 'an absolute path of letters, digits, ".", "_", "-" and "/" without ".."';
const gitRef = '[A-Za-z0-9][A-Za-z0-9._/-]*';
const singleLine = '[^\\n\\r]*';

/**
 * Which label runs each tool for the deploy branch, from the pools' `tools` and `labels`. Pools
 * carrying `pullRequestLabel` build unmerged code and are never a home of the deploy stages
 * (`provisioner doctor` checks that such a pool exists and has the tools its stages need).
 */
export function toolHomes(pools: readonly PoolLike[], pullRequestLabel: string): Record<Tool, ToolHome> {
  const problems: string[] = [];
  const homes = {} as Record<Tool, ToolHome>;
  const trusted = pools.filter((p) => !p.labels.includes(pullRequestLabel));
  for (const tool of ['python', 'docker', 'terraform'] as const) {
    const providers = trusted.filter((p) => p.tools.includes(tool));
    if (providers.length === 0) {
      problems.push(`pools: no pool has '${tool}' in its tools (pools labelled '${pullRequestLabel}' build only unmerged code); the shared library's steps and the Jenkinsfile need one`);
      continue;
    }
    // Prefer a label every provider carries (the tool's own name first), so any of them can
    // take the stage; otherwise any provider's first label.
    const common = (providers[0] as PoolLike).labels.filter((l) => providers.every((p) => p.labels.includes(l)));
    const label = common.includes(tool) ? tool : (common[0] ?? providers.map((p) => p.labels[0]).join(' || '));
    const where = providers.map((p) => `${p.name}: labels ${p.labels.join(', ')}`).join('; ');
    homes[tool] = {
      tool,
      label,
      pools: providers.map((p) => ({ name: p.name, labels: [...p.labels] })),
      hint: `run it on a node with label '${label}' (${providers.length === 1 ? 'pool' : 'pools'} ${where})`,
    };
  }
  if (problems.length > 0) throw new UserError(problems);
  return homes;
}

export function steps(library: Library): Step[] {
  const appDir = library.jenkinsfile.appDir;
  return [
    {
      name: 'buildApp',
      summary:
        'Builds a Python project: a virtualenv keyed by the hash of the requirements and the Python version, kept outside the workspace so a warm build skips installation; installs the requirements, byte-compiles the project and archives the interpreter and pip freeze.',
      tool: 'python',
      params: [
        { key: 'dir', type: 'String', default: appDir, doc: 'the project directory, relative to the workspace', pattern: relativePath, expected: relativePathText },
        { key: 'python', type: 'String', default: library.python.interpreter, doc: 'the interpreter on the agent (a command on PATH or an absolute path)', pattern: '(?!-)[A-Za-z0-9._/+-]+', expected: 'a command or path of letters, digits, ".", "_", "/", "+", "-" not starting with "-"' },
        { key: 'requirements', type: 'String', default: 'requirements.txt', doc: 'the requirements file, relative to dir', pattern: relativePath, expected: relativePathText },
        { key: 'systemSitePackages', type: 'Boolean', default: library.python.systemSitePackages, doc: "whether the virtualenv sees the agent's system site packages (lets a build work offline)" },
        { key: 'venvCache', type: 'String', default: library.python.venvCache, doc: 'where virtualenvs are kept between builds', pattern: absolutePath, expected: absolutePathText },
        { key: 'minVersion', type: 'String', default: library.python.minVersion, doc: 'the oldest Python accepted', pattern: '[0-9]+(\\.[0-9]+){0,2}', expected: 'a version such as 3.11' },
      ],
      returns: 'a Map: venv (the virtualenv path), also written to .bank-pipeline/venv for the test step',
      example: `buildApp(dir: '${appDir}')`,
    },
    {
      name: 'test',
      summary:
        "Runs pytest in buildApp's virtualenv and publishes the JUnit XML always, also when tests fail; the build fails when a test fails.",
      tool: 'python',
      params: [
        { key: 'dir', type: 'String', default: appDir, doc: 'the project directory, relative to the workspace (pytest runs there)', pattern: relativePath, expected: relativePathText },
        { key: 'junit', type: 'String', default: null, doc: 'the JUnit XML file, relative to the workspace (default: DIR/build/test-results/junit.xml)', pattern: relativePath, expected: relativePathText },
        { key: 'venv', type: 'String', default: null, doc: 'the virtualenv (default: the one buildApp recorded on this node)', pattern: absolutePath, expected: absolutePathText },
        { key: 'args', type: 'List', default: [], doc: 'extra pytest arguments, passed as they are (one line each)', pattern: singleLine, expected: 'a single line' },
        { key: 'publish', type: 'Boolean', default: true, doc: 'whether to publish the JUnit XML with the junit step' },
      ],
      returns: 'nothing; fails the build when pytest fails',
      example: `test(dir: '${appDir}')`,
    },
    {
      name: 'testInContainer',
      summary:
        `Builds the ${library.tests.target} target of the app's Dockerfile and runs the app's whole test suite (pytest) in a container of it, with a MariaDB container beside it; the two share one network namespace and nothing else (no network out, the database on 127.0.0.1:3306), so the result never depends on what the agent has installed. The JUnit XML is copied out and published also when tests fail; containers and the test image's tag are removed afterwards.`,
      tool: 'docker',
      params: [
        { key: 'dir', type: 'String', default: appDir, doc: 'the app directory: the build context, relative to the workspace', pattern: relativePath, expected: relativePathText },
        { key: 'dockerfile', type: 'String', default: null, doc: 'the Dockerfile, relative to the workspace (default: DIR/Dockerfile)', pattern: relativePath, expected: relativePathText },
        { key: 'target', type: 'String', default: library.tests.target, doc: 'the Dockerfile target holding what the whole suite needs', pattern: '[A-Za-z0-9][A-Za-z0-9_.-]*', expected: 'a Dockerfile stage name' },
        { key: 'databaseImage', type: 'String', default: library.tests.databaseImage, doc: 'the MariaDB image run beside the tests (null: none)', pattern: '[a-z0-9][a-z0-9._/:-]*(@sha256:[0-9a-f]{64})?', expected: 'an image reference such as docker.io/library/mariadb:10.11', nullable: true },
        { key: 'databaseUrlVariable', type: 'String', default: library.tests.databaseUrlVariable, doc: 'the variable that gives the tests the database (mysql://root:PASSWORD@127.0.0.1:3306)', pattern: '[A-Z_][A-Z0-9_]*', expected: 'an environment variable name' },
        { key: 'junit', type: 'String', default: null, doc: 'where the JUnit XML goes, relative to the workspace (default: DIR/build/test-results/junit.xml)', pattern: relativePath, expected: relativePathText },
        { key: 'args', type: 'List', default: [], doc: 'extra pytest arguments, passed as they are (one line each)', pattern: singleLine, expected: 'a single line' },
        { key: 'buildArgs', type: 'Map', default: {}, doc: 'build arguments, e.g. PIP_INDEX_URL for the bank\'s package index (not for secrets: they stay in the image history)', keyPattern: '[A-Za-z_][A-Za-z0-9_]*', expected: 'a build argument name (letters, digits, "_")' },
        { key: 'buildNetwork', type: 'String', default: null, doc: "docker build's --network (null: docker's default)", pattern: '[a-z][a-z0-9_.-]*', expected: 'a docker network name such as host', nullable: true },
        { key: 'publish', type: 'Boolean', default: true, doc: 'whether to publish the JUnit XML with the junit step' },
      ],
      returns: 'nothing; fails the build when a test fails or the image does not build',
      example: `testInContainer(dir: '${appDir}')`,
    },
    {
      name: 'dockerPush',
      summary:
        'Builds an image with OCI labels (revision, source, created) and --cache-from the last pushed image. On the deploy branch and on tags it also logs in with --password-stdin inside withCredentials (docker configuration in a fresh directory outside the workspace, removed afterwards), pushes every tag and returns the pushed REGISTRY/IMAGE@sha256:... reference; other builds only build, without credentials, and return null.',
      tool: 'docker',
      params: [
        { key: 'image', type: 'String', default: library.docker.image, doc: 'the repository inside the registry', pattern: imagePathPattern.source.slice(1, -1), expected: 'an image repository such as bankco/bank-app (lower case)' },
        { key: 'registry', type: 'String', default: library.docker.registry, doc: 'the registry host', pattern: registryPattern.source.slice(1, -1), expected: 'a registry host such as docker.io' },
        { key: 'credentialsId', type: 'String', default: library.docker.credentialsId, doc: 'username/password credentials for docker login' },
        { key: 'tags', type: 'List', default: null, doc: `the tags (default: build number, branch-prefixed off ${library.deployBranch}; short commit; latest on ${library.deployBranch})`, pattern: '[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}', expected: 'a Docker tag (letters, digits, "_", ".", "-", at most 128, not starting with "." or "-")' },
        { key: 'context', type: 'String', default: appDir, doc: 'the build context, relative to the workspace', pattern: relativePath, expected: relativePathText },
        { key: 'dockerfile', type: 'String', default: null, doc: 'the Dockerfile, relative to the workspace (default: CONTEXT/Dockerfile)', pattern: relativePath, expected: relativePathText },
        { key: 'buildArgs', type: 'Map', default: {}, doc: 'build arguments (not for secrets: they stay in the image history)', keyPattern: '[A-Za-z_][A-Za-z0-9_]*', expected: 'a build argument name (letters, digits, "_")' },
        { key: 'deployBranch', type: 'String', default: library.deployBranch, doc: 'the branch whose builds push (with latest); tags push too, other builds only build', pattern: gitRef, expected: 'a branch name' },
        { key: 'buildNetwork', type: 'String', default: null, doc: "docker build's --network (null: docker's default)", pattern: '[a-z][a-z0-9_.-]*', expected: 'a docker network name such as host', nullable: true },
      ],
      returns: 'the pushed image by digest (REGISTRY/IMAGE@sha256:...), or null when the build only built it',
      example: `script {\n  env.IMAGE_REFERENCE = dockerPush(context: '${appDir}')\n}`,
    },
    {
      name: 'terraformPlan',
      summary:
        `Runs terraform init (-lockfile=readonly: the committed provider lock file is the only one accepted), validate and plan -detailed-exitcode, and archives the readable plan. On ${library.deployBranch} it plans with the deploy credentials, waiting for the state lock, and stashes the binary plan for terraformApply; pull requests and other branches plan with the read-only credentials and -lock=false, and pull requests from forks do not plan at all. The binary plan and Terraform's data directory live in a fresh directory outside the workspace, removed afterwards. Before anything it fails naming each required variable or backend setting it was not given.`,
      tool: 'terraform',
      params: [
        { key: 'dir', type: 'String', default: library.jenkinsfile.terraformDir, doc: 'the Terraform root module, relative to the workspace', pattern: relativePath, expected: relativePathText },
        { key: 'name', type: 'String', default: null, doc: 'which of several plans of dir in one build this is, such as a region: its readable plan is archived as DIR/terraform-plan-NAME.txt and its stash carries the name (null: DIR/terraform-plan.txt)', pattern: '[a-z0-9][a-z0-9-]*', expected: 'a name of lower-case letters, digits and "-", such as us-west-2', nullable: true },
        { key: 'credentialsId', type: 'String', default: library.terraform.credentialsId, doc: `AWS credentials (the deploy role) ${library.deployBranch} plans with, bound to AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (null: the agent's instance role)`, nullable: true },
        { key: 'planCredentialsId', type: 'String', default: library.terraform.planCredentialsId, doc: 'AWS credentials (a read-only role) pull requests and other branches plan with (null: the agent\'s instance role)', nullable: true },
        { key: 'vars', type: 'Map', default: {}, doc: 'input variables, passed as TF_VAR_name in the environment (not empty: withEnv drops an empty variable)', keyPattern: '[A-Za-z_][A-Za-z0-9_-]*', expected: 'a Terraform variable name', pattern: '(?s).+', valueExpected: 'a non-empty value (withEnv drops an empty variable, so Terraform would see none)' },
        { key: 'varFiles', type: 'List', default: [], doc: 'variable files, relative to dir', pattern: relativePath, expected: relativePathText },
        { key: 'backendConfig', type: 'Map', default: {}, doc: 'backend settings for init (-backend-config=KEY=VALUE)', keyPattern: '[A-Za-z_][A-Za-z0-9_.-]*', pattern: singleLine, expected: 'a backend setting name and a single-line value' },
        { key: 'requiredVars', type: 'List', default: [], doc: 'variables the module has no default for: each must be in vars', pattern: '[A-Za-z_][A-Za-z0-9_-]*', expected: 'a Terraform variable name' },
        { key: 'requiredBackendConfig', type: 'List', default: [], doc: 'backend settings the module leaves to init: each must be in backendConfig', pattern: '[A-Za-z_][A-Za-z0-9_.-]*', expected: 'a backend setting name' },
        { key: 'deployBranch', type: 'String', default: library.deployBranch, doc: 'the branch that plans with the deploy credentials and keeps its plan for terraformApply', pattern: gitRef, expected: 'a branch name' },
        { key: 'pluginCache', type: 'String', default: library.terraform.pluginCache, doc: 'the provider plugin cache shared by builds on the agent (null: none)', pattern: absolutePath, expected: absolutePathText, nullable: true },
        { key: 'minVersion', type: 'String', default: library.terraform.minVersion, doc: 'the oldest Terraform accepted', pattern: '[0-9]+(\\.[0-9]+){0,2}', expected: 'a version such as 1.5.0' },
        { key: 'lockTimeout', type: 'String', default: library.terraform.lockTimeout, doc: 'how long to wait for the state lock (-lock-timeout)', pattern: '[1-9][0-9]*[smh]', expected: 'a duration such as 10m' },
      ],
      returns: `a Map: changes (the plan has changes), stash (the stash holding the binary plan, on ${library.deployBranch} with changes; else null) and sha256 (the plan file's checksum, for the approval and terraformApply)`,
      example: `script {\n  Map plan = terraformPlan(dir: '${library.jenkinsfile.terraformDir}',\n    vars: [${library.jenkinsfile.imageVariable}: env.IMAGE_REFERENCE])\n  env.PLAN_STASH = plan.stash\n  env.PLAN_SHA256 = plan.sha256\n}`,
    },
    {
      name: 'terraformApply',
      summary:
        `Applies exactly the plan terraformPlan stashed, and only on ${library.deployBranch}: it unstashes the plan into a fresh directory outside the workspace, refuses it unless its sha256 is the one approved, runs init -lockfile=readonly and apply with -lock-timeout under a lock per directory, and removes the plan whatever happens. A plan made stale by a later change to the state is refused by Terraform, never applied.`,
      tool: 'terraform',
      params: [
        { key: 'dir', type: 'String', default: library.jenkinsfile.terraformDir, doc: 'the Terraform root module, relative to the workspace', pattern: relativePath, expected: relativePathText },
        { key: 'plan', type: 'String', default: null, doc: 'the stash terraformPlan returned (required)', pattern: '[A-Za-z0-9._-]+', expected: 'a stash name' },
        { key: 'sha256', type: 'String', default: null, doc: 'the checksum of the approved plan, as terraformPlan returned it (required)', pattern: '[0-9a-f]{64}', expected: 'a sha256 checksum (64 lower-case hex digits)' },
        { key: 'credentialsId', type: 'String', default: library.terraform.credentialsId, doc: 'AWS credentials (the deploy role) bound to AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (null: the agent\'s instance role)', nullable: true },
        { key: 'backendConfig', type: 'Map', default: {}, doc: 'backend settings for init (-backend-config=KEY=VALUE), as the plan had them', keyPattern: '[A-Za-z_][A-Za-z0-9_.-]*', pattern: singleLine, expected: 'a backend setting name and a single-line value' },
        { key: 'deployBranch', type: 'String', default: library.deployBranch, doc: 'the only branch that applies', pattern: gitRef, expected: 'a branch name' },
        { key: 'pluginCache', type: 'String', default: library.terraform.pluginCache, doc: 'the provider plugin cache shared by builds on the agent (null: none)', pattern: absolutePath, expected: absolutePathText, nullable: true },
        { key: 'minVersion', type: 'String', default: library.terraform.minVersion, doc: 'the oldest Terraform accepted', pattern: '[0-9]+(\\.[0-9]+){0,2}', expected: 'a version such as 1.5.0' },
        { key: 'lockTimeout', type: 'String', default: library.terraform.lockTimeout, doc: 'how long to wait for the state lock (-lock-timeout)', pattern: '[1-9][0-9]*[smh]', expected: 'a duration such as 10m' },
      ],
      returns: 'nothing; fails the build when the plan is not the approved one or terraform apply fails',
      example: `terraformApply(dir: '${library.jenkinsfile.terraformDir}', plan: env.PLAN_STASH, sha256: env.PLAN_SHA256)`,
    },
  ];
}
