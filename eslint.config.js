// ESLint with typescript-eslint's recommended rules, and the architecture written as import rules:
// only the adapters import an SDK, the planner imports nothing that does I/O, and nothing in the
// product imports the sandbox (its own package, provisioner/sandbox/). `npm test -- lint` runs it.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Every SDK of an outside system, and the one place each may be imported. */
const sdks = [
  { name: '@aws-sdk/*', adapter: 'provisioner/src/aws/' },
  { name: 'jenkins', adapter: 'provisioner/src/jenkins/' },
  { name: 'node-ssh', adapter: 'provisioner/src/transport/ssh.ts' },
  { name: 'ssh2', adapter: 'provisioner/src/transport/ssh.ts' },
];

const sdkMessage = (sdk) => `only the adapter in ${sdk.adapter} imports ${sdk.name}; use its interface (ports.ts)`;
/** Scoped packages by pattern (any of their modules); the others by exact name, so no folder of ours that shares a name is caught. */
const sdkPatterns = (except = []) => sdks.filter((sdk) => !except.includes(sdk.name) && sdk.name.includes('*')).map((sdk) => ({ group: [sdk.name], message: sdkMessage(sdk) }));
const sdkPaths = (except = []) => sdks.filter((sdk) => !except.includes(sdk.name) && !sdk.name.includes('*')).map((sdk) => ({ name: sdk.name, message: sdkMessage(sdk) }));

const sandboxMessage = 'the product never imports the sandbox (@jenkins-fleet/sandbox, provisioner/sandbox/): it reaches the stand-ins only through the endpoints, as it reaches AWS and Jenkins';
const sandboxPattern = { group: ['**/sandbox/**', '@jenkins-fleet/sandbox', '@jenkins-fleet/sandbox/**'], message: sandboxMessage };
/** import() of the sandbox, which no-restricted-imports does not see; only cli/sandbox.ts hands `provisioner sandbox` to the package. */
const sandboxImportExpression = { selector: 'ImportExpression[source.value=/(^|\\/)sandbox(\\/|$)|^@jenkins-fleet\\/sandbox/]', message: sandboxMessage };
const jenkinsPrivateMembers = { selector: "MemberExpression[object.property.name='client'][property.name=/^_/]", message: "the jenkins client's private members are not its API: use its public calls, or a typed request (JenkinsController.get)" };

/** What does I/O: the planner stays pure, so none of it. */
const ioPatterns = [
  {
    group: ['node:fs', 'node:fs/*', 'fs', 'fs/*', 'node:child_process', 'child_process', 'node:net', 'node:http', 'node:https', 'node:dgram', 'node:dns', 'node:readline', 'node:readline/*', 'node:worker_threads', 'node:os'],
    message: 'plan/ is pure: it gets what it needs as arguments (the observation carries the time)',
  },
  {
    group: ['**/aws/**', '**/jenkins/controller*', '**/transport/**', '**/apply/**', '**/cli/**', '**/doctor/**', '**/config/load*', '**/library/command*'],
    message: 'plan/ is pure: the modules that reach outside systems or files call the planner, not the other way round',
  },
];

const restrict = (except, ...patterns) => ['error', { paths: sdkPaths(except), patterns: [...sdkPatterns(except), ...patterns] }];

export default tseslint.config(
  { ignores: ['node_modules/**', '**/node_modules/**', 'app/**', '.sandbox/**', 'coverage/**', 'provisioner/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', Buffer: 'readonly', console: 'readonly', URL: 'readonly', URLSearchParams: 'readonly', fetch: 'readonly', AbortSignal: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', queueMicrotask: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', structuredClone: 'readonly', performance: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  // The product: SDKs only in their adapters, never the sandbox.
  { files: ['provisioner/src/**/*.ts'], rules: { 'no-restricted-imports': restrict([], sandboxPattern), 'no-restricted-syntax': ['error', sandboxImportExpression] } },
  { files: ['provisioner/src/cli/sandbox.ts'], rules: { 'no-restricted-syntax': 'off' } },
  { files: ['provisioner/src/aws/**/*.ts'], rules: { 'no-restricted-imports': restrict(['@aws-sdk/*'], sandboxPattern) } },
  { files: ['provisioner/src/jenkins/**/*.ts'], rules: { 'no-restricted-imports': restrict(['jenkins'], sandboxPattern) } },
  { files: ['provisioner/src/transport/ssh.ts'], rules: { 'no-restricted-imports': restrict(['node-ssh', 'ssh2'], sandboxPattern) } },
  // The planner: pure.
  { files: ['provisioner/src/plan/**/*.ts'], rules: { 'no-restricted-imports': restrict([], sandboxPattern, ...ioPatterns) } },
  // The Jenkins adapter speaks through the client's public calls, and a typed request where it has none.
  {
    files: ['provisioner/src/jenkins/**/*.ts'],
    rules: {
      'no-restricted-syntax': ['error', sandboxImportExpression, jenkinsPrivateMembers],
    },
  },
  // The stand-ins are no part of the product: they may use what they imitate.
  { files: ['provisioner/sandbox/**/*.ts'], rules: { 'no-restricted-imports': 'off' } },
  // Tests read JSON answers loosely and match output as it is printed (indentation, control codes).
  { files: ['test/**/*.ts'], rules: { '@typescript-eslint/no-explicit-any': 'off', 'no-regex-spaces': 'off' } },
);
