// The controller as code (jenkins/): casc.yaml, its Job DSL, plugins.txt, .env.example, the
// Dockerfile and compose.yaml, checked as files (there is no Docker engine or Jenkins here).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseDocument } from 'yaml';

const root = fileURLToPath(new URL('../../', import.meta.url));
const jenkinsDir = join(root, 'jenkins');
const read = (name: string) => readFileSync(join(jenkinsDir, name), 'utf8');
const javaHome = '/usr/lib/jvm/java-17-openjdk-amd64';

type Yaml = any;

/** `${VAR}` references JCasC resolves from the environment (`^${...}` is an escaped literal). */
function envReferences(text: string): string[] {
  const names = new Set<string>();
  for (const match of text.matchAll(/(\^?)\$\{([^}]*)\}/g)) {
    if (match[1] === '^') continue;
    names.add(match[2] as string);
  }
  return [...names].sort();
}

/** Variable names assigned in a dotenv file, with their values. */
function dotenv(text: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) vars.set(match[1] as string, match[2] as string);
  }
  return vars;
}

/** Every scalar of a parsed YAML tree with its dotted path. */
function scalars(node: Yaml, path = ''): [string, unknown][] {
  if (Array.isArray(node)) return node.flatMap((item, i) => scalars(item, `${path}[${i}]`));
  if (node !== null && typeof node === 'object') {
    return Object.entries(node).flatMap(([key, value]) => scalars(value, path ? `${path}.${key}` : key));
  }
  return [[path, node]];
}

const secretKey = /(password|secret|token|accesskey|secretkey|privatekey|passphrase|apikey)$/i;
// Shapes of real credentials: AWS access keys, GitHub and Docker Hub tokens, private keys.
const secretShapes = [/AKIA[0-9A-Z]{16}/, /gh[pousr]_[A-Za-z0-9]{30,}/, /github_pat_[A-Za-z0-9_]{20,}/, /dckr_pat_[A-Za-z0-9_-]{10,}/, /-----BEGIN [A-Z ]*PRIVATE KEY-----/];

describe('jenkins/casc.yaml', () => {
  const text = read('casc.yaml');
  const casc: Yaml = parse(text);

  it('parses as YAML without errors or warnings', () => {
    const doc = parseDocument(text);
    expect(doc.errors).toEqual([]);
    expect(doc.warnings).toEqual([]);
  });

  it('holds no literal secret: every secret-named value is a ${VAR} from the environment', () => {
    const secretValues = scalars(casc).filter(([path]) => secretKey.test(path.split('.').pop() as string));
    expect(secretValues.length).toBeGreaterThanOrEqual(4);
    for (const [path, value] of secretValues) {
      expect(value, path).toMatch(/^\$\{[A-Z][A-Z0-9_]*\}$/);
    }
    for (const shape of secretShapes) expect(text).not.toMatch(shape);
  });

  it('lists every ${VAR} it reads in .env.example, and .env.example lists nothing else', () => {
    // JCasC interpolates values, not comments.
    const used = envReferences(scalars(casc).map(([, value]) => String(value)).join('\n'));
    const listed = [...dotenv(read('.env.example')).keys()].sort();
    expect(used).toContain('JENKINS_URL');
    expect(used.filter((name) => !listed.includes(name)), 'read by casc.yaml, missing from .env.example').toEqual([]);
    expect(listed.filter((name) => !used.includes(name)), 'in .env.example, never read').toEqual([]);
  });

  it('gives no secret a value in .env.example', () => {
    for (const [name, value] of dotenv(read('.env.example'))) {
      if (/PASSWORD|TOKEN|SECRET/.test(name)) expect(value, name).toBe('');
    }
  });

  it('runs no builds on the controller and takes agents over WebSocket only', () => {
    expect(casc.jenkins.numExecutors).toBe(0);
    expect(casc.jenkins.slaveAgentPort).toBe(-1);
  });

  it('takes the controller URL from the environment', () => {
    expect(casc.unclassified.location.url).toBe('${JENKINS_URL}');
  });

  it('has no sign-up, an admin, developers who read and build, deployers who read, and a provisioner with only agent rights and the queue its fleet scales with', () => {
    expect(casc.jenkins.securityRealm.local.allowsSignup).toBe(false);
    const users = casc.jenkins.securityRealm.local.users.map((u: Yaml) => u.id);
    expect(users).toEqual(expect.arrayContaining(['admin', 'provisioner']));
    const entries: Yaml[] = casc.jenkins.authorizationStrategy.globalMatrix.entries;
    const grant = (kind: 'user' | 'group', name: string) =>
      entries.find((e) => e[kind]?.name === name)?.[kind].permissions.slice().sort();
    expect(grant('user', 'admin')).toEqual(['Overall/Administer']);
    expect(grant('group', 'developers')).toEqual(['Job/Build', 'Job/Read', 'Overall/Read', 'View/Read']);
    // Deployers approve applies (the Jenkinsfile's input names them); reading the build is all they need.
    expect(grant('group', 'deployers')).toEqual(['Job/Read', 'Overall/Read', 'View/Read']);
    // The agent rights, and Job/Read because fleet.yaml's pullRequests pool follows the build queue
    // (it has max): Jenkins shows `provisioner watch` the queue's items only of jobs it may read.
    expect(parse(readFileSync(join(root, 'fleet.yaml'), 'utf8')).pools.some((p: Yaml) => p.max !== undefined)).toBe(true);
    expect(grant('user', 'provisioner')).toEqual(
      ['Agent/Configure', 'Agent/Connect', 'Agent/Create', 'Agent/Delete', 'Agent/Disconnect', 'Job/Read', 'Overall/Read'],
    );
    // Nobody else holds anything: not anonymous, not every logged-in user.
    expect(entries).toHaveLength(4);
  });

  it('loads the bank-pipeline library pinned to v1.0.0, not implicitly, with no override', () => {
    const libraries: Yaml[] = casc.unclassified.globalLibraries.libraries;
    expect(libraries).toHaveLength(1);
    const [library] = libraries;
    expect(library).toMatchObject({ name: 'bank-pipeline', defaultVersion: 'v1.0.0', implicit: false, allowVersionOverride: false });
    expect(library.retriever.modernSCM.scm.git.remote).toBe('https://github.com/${GITHUB_OWNER}/${GITHUB_REPOSITORY}.git');
  });

  it('defines for every job only github (checkouts) and the SYSTEM webhook secret, from the environment', () => {
    const credentials: Yaml[] = casc.credentials.system.domainCredentials.flatMap((d: Yaml) => d.credentials);
    const byId = new Map(credentials.map((c) => {
      const [kind, body] = Object.entries(c)[0] as [string, Yaml];
      return [body.id, { kind, ...body }];
    }));
    expect([...byId.keys()].sort()).toEqual(['github', 'github-webhook-secret']);
    expect(byId.get('github')).toMatchObject({ kind: 'usernamePassword', scope: 'GLOBAL', username: '${GITHUB_USERNAME}', password: '${GITHUB_TOKEN}' });
    expect(byId.get('github-webhook-secret')).toMatchObject({ kind: 'string', scope: 'SYSTEM', secret: '${GITHUB_WEBHOOK_SECRET}' });
  });
});

describe('the Job DSL of the bank app multibranch job (jobs[0].script of casc.yaml)', () => {
  const casc: Yaml = parse(read('casc.yaml'));
  let scratch: string;
  // JCasC's interpolation: ${VAR} from the environment, ^${...} left to Groovy as ${...}.
  const env: Record<string, string> = {
    GITHUB_OWNER: 'bank-example',
    GITHUB_REPOSITORY: 'jenkins-fleet',
    AWS_DEPLOY_ROLE_ARN: 'arn:aws:iam::123456789012:role/bank-app-deploy',
    AWS_PLAN_ROLE_ARN: 'arn:aws:iam::123456789012:role/bank-app-plan',
    DOCKERHUB_USERNAME: 'bank-ci-bot',
    DOCKERHUB_TOKEN: 'dckr_pat_test',
  };
  const interpolate = (script: string) =>
    script.replace(/(\^?)\$\{([^}]*)\}/g, (whole, caret: string, name: string) => {
      if (caret) return whole.slice(1);
      if (!(name in env)) throw new Error(`the Job DSL reads \${${name}}, which this test does not set`);
      return env[name] as string;
    });

  interface Call { name: string; args: unknown[]; children: Call[] }
  let calls: Call[] = [];
  const find = (within: Call[], ...names: string[]): Call | undefined => {
    let found: Call | undefined;
    let level = within;
    for (const name of names) {
      found = level.find((c) => c.name === name);
      if (!found) return undefined;
      level = found.children;
    }
    return found;
  };

  function recordDsl(...scripts: string[]) {
    if (!existsSync(join(javaHome, 'bin/java'))) throw new Error(`Java 17 is missing at ${javaHome}: apt-get install openjdk-17-jre-headless`);
    const files = scripts.map((script, i) => {
      const file = join(scratch, `job${i}.groovy`);
      writeFileSync(file, script);
      return file;
    });
    const run = spawnSync('groovy', [join(root, 'test/jenkins/JobDslRecorder.groovy'), ...files], {
      encoding: 'utf8',
      env: { ...process.env, JAVA_HOME: javaHome },
    });
    if (run.error) throw new Error(`cannot run groovy (${run.error.message}): apt-get install groovy (2.4.21)`);
    return run.stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as { ok: boolean; error?: string; calls?: Call[] });
  }

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'jobdsl-'));
    const [result] = recordDsl(interpolate(casc.jobs[0].script));
    expect(result?.error).toBeUndefined();
    calls = result?.calls ?? [];
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('is compiled by Groovy 2.4.21, the Groovy Jenkins runs', () => {
    const version = spawnSync('groovy', ['--version'], { encoding: 'utf8', env: { ...process.env, JAVA_HOME: javaHome } });
    expect(version.stdout).toContain('Groovy Version: 2.4.21');
  });

  it('the recorder rejects a script Groovy cannot compile (so a passing parse means something)', () => {
    const [broken] = recordDsl("multibranchPipelineJob('x') {\n  displayName('y'\n}\n");
    expect(broken?.ok).toBe(false);
    expect(broken?.error).toMatch(/startup failed/);
  });

  const job = (name: string) => calls.find((c) => c.name === 'multibranchPipelineJob' && c.args[0] === name)!;
  const github = (name: string) => find([job(name)], 'multibranchPipelineJob', 'branchSources', 'branchSource', 'source', 'github')!;
  const traits = (name: string) => find(github(name).children, 'traits')!.children;
  /** The folder's credentials: [kind, {field: value}] each. */
  const folderCredentials = (name: string) =>
    find([job(name)], 'multibranchPipelineJob', 'properties', 'folderCredentialsProperty', 'domainCredentials', 'domainCredentials', 'credentials')!
      .children.map((c) => [c.name, Object.fromEntries(c.children.map((f) => [f.name, f.args[0]]))] as [string, Record<string, unknown>]);

  it('defines two multibranch jobs running the root Jenkinsfile: bank-app (main) and bank-app-review (the rest)', () => {
    expect(calls.map((c) => [c.name, c.args])).toEqual([['multibranchPipelineJob', ['bank-app']], ['multibranchPipelineJob', ['bank-app-review']]]);
    for (const name of ['bank-app', 'bank-app-review']) {
      expect(find([job(name)], 'multibranchPipelineJob', 'factory', 'workflowBranchProjectFactory', 'scriptPath')?.args).toEqual(['Jenkinsfile']);
      const value = (field: string) => find(github(name).children, field)?.args[0];
      expect(value('credentialsId')).toBe('github');
      expect(value('repoOwner')).toBe('bank-example');
      expect(value('repository')).toBe('jenkins-fleet');
    }
    expect(find(github('bank-app').children, 'id')?.args[0]).not.toBe(find(github('bank-app-review').children, 'id')?.args[0]);
  });

  it('lets bank-app build only main, and bank-app-review pull requests (forks with a trusted Jenkinsfile) and other branches', () => {
    const names = (name: string) => traits(name).map((t) => t.name);
    expect(names('bank-app')).toEqual(['gitHubBranchDiscovery', 'headWildcardFilter']);
    expect(find(traits('bank-app'), 'headWildcardFilter')!.children.map((c) => [c.name, c.args[0]])).toEqual([['includes', 'main'], ['excludes', '']]);
    expect(names('bank-app-review')).toEqual(['gitHubBranchDiscovery', 'gitHubPullRequestDiscovery', 'gitHubForkDiscovery', 'headWildcardFilter']);
    expect(find(traits('bank-app-review'), 'gitHubForkDiscovery', 'trust')!.children.map((c) => c.name)).toEqual(['gitHubTrustPermissions']);
    expect(find(traits('bank-app-review'), 'headWildcardFilter')!.children.map((c) => [c.name, c.args[0]])).toEqual([['includes', '*'], ['excludes', 'main']]);
  });

  it('gives the deploy role and the registry login to bank-app\'s folder only, and the read-only role to bank-app-review\'s', () => {
    expect(folderCredentials('bank-app')).toEqual([
      ['aws', expect.objectContaining({ scope: 'GLOBAL', id: 'aws-deploy', accessKey: '', secretKey: '', iamRoleArn: 'arn:aws:iam::123456789012:role/bank-app-deploy' })],
      ['usernamePassword', expect.objectContaining({ scope: 'GLOBAL', id: 'dockerhub', username: 'bank-ci-bot', password: 'dckr_pat_test' })],
    ]);
    expect(folderCredentials('bank-app-review')).toEqual([
      ['aws', expect.objectContaining({ scope: 'GLOBAL', id: 'aws-plan', accessKey: '', secretKey: '', iamRoleArn: 'arn:aws:iam::123456789012:role/bank-app-plan' })],
    ]);
  });

  it('discards the jobs of deleted branches and closed pull requests', () => {
    for (const name of ['bank-app', 'bank-app-review']) {
      const discard = find([job(name)], 'multibranchPipelineJob', 'orphanedItemStrategy', 'discardOldItems');
      expect(find(discard!.children, 'daysToKeep')?.args[0]).toBeGreaterThan(0);
      expect(find(discard!.children, 'numToKeep')?.args[0]).toBeGreaterThan(0);
    }
  });

  it('is triggered by GitHub webhooks, with the webhook secret configured, and rescans every 5 minutes for what no webhook delivers', () => {
    expect(casc.unclassified.gitHubPluginConfig.hookSecretConfigs).toEqual([{ credentialsId: 'github-webhook-secret' }]);
    for (const name of ['bank-app', 'bank-app-review']) {
      expect(find([job(name)], 'multibranchPipelineJob', 'triggers', 'periodicFolderTrigger', 'interval')?.args).toEqual(['5m']);
    }
  });
});

describe('jenkins/plugins.txt', () => {
  const entries = read('plugins.txt')
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter(Boolean);

  it('pins every plugin to an exact version, once', () => {
    for (const entry of entries) expect(entry).toMatch(/^[a-z0-9][a-z0-9-]*:[0-9][A-Za-z0-9._-]*$/);
    const ids = entries.map((e) => e.split(':')[0]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('holds the plugins the controller needs', () => {
    const ids = entries.map((e) => e.split(':')[0]);
    expect(ids).toEqual(expect.arrayContaining([
      'configuration-as-code', 'job-dsl', 'workflow-aggregator', 'git', 'github-branch-source',
      'credentials-binding', 'aws-credentials', 'junit', 'timestamper', 'lockable-resources', 'matrix-auth',
    ]));
  });
});

describe('jenkins/Dockerfile and compose.yaml', () => {
  const dockerfile = read('Dockerfile');

  it('builds on a pinned official LTS image', () => {
    expect(dockerfile).toMatch(/^FROM jenkins\/jenkins:\d+\.\d+\.\d+-lts-jdk\d+$/m);
  });

  it('installs plugins.txt with the plugin CLI, turns the setup wizard off and loads casc.yaml', () => {
    expect(dockerfile).toMatch(/^COPY plugins\.txt (\S+)\nRUN jenkins-plugin-cli --plugin-file \1\b/m);
    expect(dockerfile).toContain('-Djenkins.install.runSetupWizard=false');
    const cascPath = /CASC_JENKINS_CONFIG=(\S+)/.exec(dockerfile)?.[1];
    expect(cascPath).toBeDefined();
    expect(dockerfile).toMatch(new RegExp(`^COPY casc\\.yaml ${cascPath!.replace(/[.]/g, '\\.')}$`, 'm'));
  });

  it('runs the image locally with the .env file and only the HTTP port', () => {
    const compose: Yaml = parse(read('compose.yaml'));
    const service = compose.services.jenkins;
    expect(service.build).toBe('.');
    expect(service.env_file).toBe('.env');
    expect(service.ports).toEqual(['127.0.0.1:8080:8080']);
  });
});
