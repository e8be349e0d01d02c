#!/usr/bin/env node
// `npm test`: runs every suite of the repository in turn and ends with one line that adds them up;
// exit 1 if any failed. Each suite is the npm script `test:NAME` in package.json (`npm run
// test:e2e` runs one alone, with its own output); `npm test -- NAME...` runs those through here, with
// the summary. What this adds to the scripts is only the count of each: a TypeScript suite is a
// vitest project, counted from vitest's JSON report; the whole `vitest` suite runs every project
// once, so a full run runs each test once.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const scripts = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts;
const scratch = mkdtempSync(join(tmpdir(), 'npm-test-'));
const env = { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null' };

/** Counted from vitest's JSON report, written where the runner asks. */
const vitest = {
  args: (name) => ['--reporter=default', '--reporter=json', `--outputFile.json=${join(scratch, `${name}.json`)}`],
  count: (name) => {
    const json = JSON.parse(readFileSync(join(scratch, `${name}.json`), 'utf8'));
    return { passed: json.numPassedTests, failed: json.numFailedTests + (json.numRuntimeErrorTests ?? 0) };
  },
};

/** Counted from pytest's JUnit XML; a skipped test counts as failed: nothing may skip silently. */
const junit = {
  args: (name) => [`--junitxml=${join(scratch, `${name}-junit.xml`)}`],
  count: (name) => {
    let passed = 0;
    let failed = 0;
    for (const match of readFileSync(join(scratch, `${name}-junit.xml`), 'utf8').matchAll(/<testsuite\b([^>]*)>/g)) {
      const attr = (key) => Number((match[1].match(new RegExp(`\\b${key}="(\\d+)"`)) ?? [0, 0])[1]);
      const bad = attr('failures') + attr('errors') + attr('skipped');
      passed += attr('tests') - bad;
      failed += bad;
    }
    if (passed + failed === 0) throw new Error('the JUnit report lists no tests');
    return { passed, failed };
  },
};

/** Counted from the last `N passed, N failed` line the suite printed (the Groovy harness). */
const lines = {
  args: () => [],
  count: (_name, output) => {
    const match = [...output.matchAll(/^(\d+) passed, (\d+) failed$/gm)].at(-1);
    if (!match) throw new Error('no "N passed, N failed" line');
    return { passed: Number(match[1]), failed: Number(match[2]) };
  },
};

/**
 * How each suite is counted (a check without a counter, such as lint or typecheck, counts as one
 * test that passed or failed), and which run only when named because `vitest` runs them already.
 */
const counters = {
  vitest,
  unit: vitest,
  sandbox: vitest,
  e2e: vitest,
  ssh: vitest,
  jenkins: vitest,
  'library-ts': vitest,
  'terraform-policy': vitest,
  'terraform-provider': vitest,
  'node-lts': vitest,
  guide: vitest,
  'library-groovy': lines,
  'library-docker': lines,
  app: junit,
  docker: junit,
};
const slicesOfVitest = new Set(['unit', 'sandbox', 'e2e', 'ssh', 'jenkins', 'library-ts', 'terraform-policy', 'terraform-provider', 'guide']);
/** Run by CI (`npm test -- --ci`, scripts/ci.sh) beside every suite, or when named: suites on the Node LTS. */
const ciOnly = new Set(['node-lts']);

const suites = Object.keys(scripts)
  .filter((script) => script.startsWith('test:'))
  .map((script) => script.slice('test:'.length));

function run(name) {
  const counter = counters[name];
  const args = ['run', '--silent', `test:${name}`, ...(counter ? ['--', ...counter.args(name)] : [])];
  return new Promise((resolve) => {
    const child = spawn('npm', args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => { output += chunk; process.stdout.write(chunk); });
    child.stderr.on('data', (chunk) => { output += chunk; process.stderr.write(chunk); });
    child.on('error', (err) => resolve({ code: 127, output: `${output}\n${err.message}` }));
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

const ci = process.argv.includes('--ci');
const wanted = process.argv.slice(2).filter((arg) => arg !== '--ci');
const unknown = wanted.filter((name) => !suites.includes(name));
if (unknown.length > 0) {
  console.error(`npm test: unknown suite ${unknown.join(', ')}; suites are: ${suites.join(', ')}`);
  process.exit(1);
}

const results = [];
const chosen = wanted.length === 0 ? suites.filter((s) => !slicesOfVitest.has(s) && (ci || !ciOnly.has(s))) : wanted;
for (const name of chosen) {
  console.log(`\n=== ${name}: ${scripts[`test:${name}`]}`);
  const started = Date.now();
  const { code, output } = await run(name);
  let passed = code === 0 ? 1 : 0;
  let failed = code === 0 ? 0 : 1;
  const counter = counters[name];
  if (counter) {
    try {
      ({ passed, failed } = counter.count(name, output));
      if (code !== 0 && failed === 0) failed = 1; // the runner failed outside any test
    } catch (err) {
      failed = Math.max(failed, 1);
      console.error(`npm test: could not count the results of ${name}: ${err.message}`);
    }
  }
  results.push({ name, code, passed, failed, seconds: (Date.now() - started) / 1000 });
}
rmSync(scratch, { recursive: true, force: true });

console.log('\n=== summary');
for (const r of results) {
  console.log(`${r.code === 0 ? 'ok  ' : 'FAIL'} ${r.name.padEnd(18)} ${String(r.passed).padStart(5)} passed ${String(r.failed).padStart(4)} failed  ${r.seconds.toFixed(1)}s`);
}
const passed = results.reduce((n, r) => n + r.passed, 0);
const failed = results.reduce((n, r) => n + r.failed, 0);
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(results.every((r) => r.code === 0) ? 0 : 1);
