#!/usr/bin/env node
// `npm test`: runs every suite of the repository in turn (TypeScript, the app's pytest, the
// Groovy harness, linters and freshness checks), streams their output, and ends with one line
// that adds them up. Exit 1 if any suite failed. `npm test -- NAME...` runs only those suites.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), 'npm-test-'));
const env = { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null' };

/** A vitest run over `args` (files or dirs; none: the whole config), counted from its JSON report. */
function vitestRun(report, args) {
  const file = join(scratch, `${report}.json`);
  return {
    cmd: ['npx', 'vitest', 'run', ...args, '--reporter=default', '--reporter=json', `--outputFile.json=${file}`],
    count: () => {
      const json = JSON.parse(readFileSync(file, 'utf8'));
      return { passed: json.numPassedTests, failed: json.numFailedTests + (json.numRuntimeErrorTests ?? 0) };
    },
  };
}

/**
 * A suite is a command plus a way to count what it ran. `count` gets the captured output and
 * returns {passed, failed}; a check (lint, typecheck) counts as one test that passed or failed.
 * A suite `partOf` another is a slice of it, run only when named (`npm test -- e2e`), so that a
 * full run runs each test once.
 */
const suites = [
  {
    name: 'typecheck',
    cmd: ['npx', 'tsc', '--noEmit', '-p', '.'],
  },
  {
    // ESLint with typescript-eslint, and the architecture as import rules (eslint.config.js).
    name: 'lint',
    cmd: ['npx', 'eslint', '--max-warnings', '0', '.'],
  },
  {
    name: 'vitest',
    ...vitestRun('vitest', []),
  },
  {
    // The controller as code (jenkins/) and `provisioner doctor`: also part of `vitest`, runnable alone.
    name: 'jenkins',
    partOf: 'vitest',
    ...vitestRun('jenkins', ['test/jenkins/', 'test/doctor/']),
  },
  {
    // The SSH transport and static hosts against real sshd on loopback (test/ssh/): also part of `vitest`, runnable alone.
    name: 'ssh',
    partOf: 'vitest',
    ...vitestRun('ssh', ['test/ssh']),
  },
  {
    // The repository's parts agree (labels, tools, library version, credentials, plugins, freshness).
    // Never the live controller here, whatever the environment says.
    name: 'doctor',
    cmd: ['env', '-u', 'JENKINS_URL', 'node', 'bin/provisioner.mjs', 'doctor'],
  },
  {
    // Local stand-ins of EC2, SSM and Jenkins (test/sandbox/), through the real clients: also part of `vitest`, runnable alone.
    name: 'sandbox',
    partOf: 'vitest',
    ...vitestRun('sandbox', ['test/sandbox']),
  },
  {
    // The provisioner end to end through the sandbox (test/e2e/): also part of `vitest`, runnable alone.
    // E2E_SCALE=0.5 halves the agent counts of the crash and fault runs (the numbers are the default).
    name: 'e2e',
    partOf: 'vitest',
    ...vitestRun('e2e', ['test/e2e']),
  },
  {
    // The Terraform policy (test/terraform/): also part of `vitest`, runnable alone.
    name: 'terraform-policy',
    partOf: 'vitest',
    ...vitestRun('terraform', ['test/terraform']),
  },
  {
    // terraform validate and offline plans (terraform test) with the real aws provider from the
    // machine's filesystem mirror: test/terraform/provider/, outside the main vitest run.
    name: 'terraform-provider',
    ...vitestRun('terraform-provider', ['--config', 'test/terraform/provider/vitest.config.ts']),
  },
  {
    // `terraform fmt -check` over terraform/, naming every unformatted file.
    name: 'terraform-fmt',
    cmd: ['bash', 'test/terraform/fmt-check.sh'],
  },
  {
    // The library generator, its schema and `provisioner library` (test/library/): also part of `vitest`, runnable alone.
    name: 'library-ts',
    partOf: 'vitest',
    ...vitestRun('library', ['test/library']),
  },
  {
    // The shared library's steps, resource scripts and Jenkinsfile in the Groovy harness (groovy 2.4.21).
    name: 'library-groovy',
    cmd: ['bash', 'test/groovy/run.sh'],
    count: (output) => {
      const match = [...output.matchAll(/^(\d+) passed, (\d+) failed$/gm)].at(-1);
      if (!match) throw new Error('no "N passed, N failed" line');
      return { passed: Number(match[1]), failed: Number(match[2]) };
    },
  },
  {
    // npm-groovy-lint (CodeNarc) on vars/ and the Jenkinsfile with .groovylintrc.json: no findings.
    name: 'library-lint',
    cmd: ['bash', 'test/library/lint.sh'],
  },
  {
    // The committed vars/ and Jenkinsfile match what the templates render from fleet.yaml.
    name: 'library-check',
    cmd: ['node', 'bin/provisioner.mjs', 'library', '--check'],
  },
  {
    // The banking app (app/): pytest in a virtualenv built from app/'s locks (scripts/app-python.sh),
    // against SQLite and a MariaDB it starts.
    name: 'app',
    cmd: ['bash', 'scripts/app-python.sh', '-m', 'pytest', 'app/tests', '-q', '-p', 'no:cacheprovider', `--junitxml=${join(scratch, 'app-junit.xml')}`],
    count: () => junitCounts(readFileSync(join(scratch, 'app-junit.xml'), 'utf8')),
  },
  {
    // app/Dockerfile with the real Docker engine (scripts/docker/): the image against MariaDB as
    // non-root, its test target running the app's whole suite inside, dockerPush to a local registry.
    name: 'docker',
    cmd: ['bash', 'scripts/app-python.sh', '-m', 'pytest', 'test/docker', '-q', `--junitxml=${join(scratch, 'docker-junit.xml')}`],
    count: () => junitCounts(readFileSync(join(scratch, 'docker-junit.xml'), 'utf8')),
  },
];

/** passed/failed from a JUnit XML report (pytest's); a skipped test counts as failed: nothing may skip silently. */
function junitCounts(xml) {
  let passed = 0;
  let failed = 0;
  for (const match of xml.matchAll(/<testsuite\b([^>]*)>/g)) {
    const attr = (name) => Number((match[1].match(new RegExp(`\\b${name}="(\\d+)"`)) ?? [0, 0])[1]);
    const bad = attr('failures') + attr('errors') + attr('skipped');
    passed += attr('tests') - bad;
    failed += bad;
  }
  if (passed + failed === 0) throw new Error('the JUnit report lists no tests');
  return { passed, failed };
}

function run(suite) {
  return new Promise((resolve) => {
    const [cmd, ...args] = suite.cmd;
    const child = spawn(cmd, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => { output += chunk; process.stdout.write(chunk); });
    child.stderr.on('data', (chunk) => { output += chunk; process.stderr.write(chunk); });
    child.on('error', (err) => resolve({ code: 127, output: `${output}\n${err.message}` }));
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !suites.some((s) => s.name === name));
if (unknown.length > 0) {
  console.error(`npm test: unknown suite ${unknown.join(', ')}; suites are: ${suites.map((s) => s.name).join(', ')}`);
  process.exit(2);
}

const results = [];
const chosen = wanted.length === 0 ? suites.filter((s) => !s.partOf) : suites.filter((s) => wanted.includes(s.name));
for (const suite of chosen) {
  console.log(`\n=== ${suite.name}: ${suite.cmd.join(' ')}`);
  const started = Date.now();
  const { code, output } = await run(suite);
  let passed = code === 0 ? 1 : 0;
  let failed = code === 0 ? 0 : 1;
  if (suite.count) {
    try {
      ({ passed, failed } = suite.count(output));
      if (code !== 0 && failed === 0) failed = 1; // the runner failed outside any test
    } catch (err) {
      failed = Math.max(failed, 1);
      console.error(`npm test: could not count the results of ${suite.name}: ${err.message}`);
    }
  }
  results.push({ name: suite.name, code, passed, failed, seconds: (Date.now() - started) / 1000 });
}
rmSync(scratch, { recursive: true, force: true });

console.log('\n=== summary');
for (const r of results) {
  console.log(`${r.code === 0 ? 'ok  ' : 'FAIL'} ${r.name.padEnd(16)} ${String(r.passed).padStart(5)} passed ${String(r.failed).padStart(4)} failed  ${r.seconds.toFixed(1)}s`);
}
const passed = results.reduce((n, r) => n + r.passed, 0);
const failed = results.reduce((n, r) => n + r.failed, 0);
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(results.every((r) => r.code === 0) ? 0 : 1);
