#!/usr/bin/env node
// `terraform` as the walk of docs/GETTING-STARTED.md meets it (test/docs/getting-started.test.ts
// puts this first on PATH): the guide's own terraform commands, run offline with the real
// terraform and the real hashicorp/aws provider of the machine's mirror, where an account would
// be needed otherwise:
//   init      the real `init -backend=false -lockfile=readonly` (the backend settings name buckets
//             that exist only in an account; its lock file must pin what the mirror holds);
//   apply, plan, destroy
//             the real `terraform test` of one plan run of the same root with the guide's -var
//             values and nothing else, under test/terraform/provider/plans/<root>.tftest.hcl's
//             provider settings and data-source overrides (its own runs and variables dropped);
//             a root without such a file is validated, and says so;
//   output    the made-up outputs the test wrote for the root (in the region it was last applied
//             or initialised for), since nothing was applied;
//   state rm  that each address names a resource the configuration declares (no state to change).
// Anything else fails, naming what is not modelled. Every line it adds starts with "[offline]".
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';

const real = process.env.GUIDE_TF_REAL;
const plans = process.env.GUIDE_TF_PLANS;
const outputsDir = process.env.GUIDE_TF_OUTPUTS;
const stateFile = process.env.GUIDE_TF_STATE;
if (!real || !plans || !outputsDir || !stateFile) {
  console.error('[offline] GUIDE_TF_REAL, GUIDE_TF_PLANS, GUIDE_TF_OUTPUTS and GUIDE_TF_STATE must be set');
  process.exit(2);
}

const args = process.argv.slice(2);
function fail(message) {
  console.error(`[offline] ${message}`);
  process.exit(1);
}

if (args[0] === 'version' || args[0] === '-version') {
  process.exit(spawnSync(real, args, { stdio: 'inherit' }).status ?? 1);
}
const chdir = args.shift();
if (!chdir?.startsWith('-chdir=')) fail(`the guide's terraform commands name their root with -chdir=DIR first; found ${JSON.stringify(chdir)}`);
const dir = resolve(chdir.slice('-chdir='.length));
const root = basename(dir);
const command = args.shift();

// The environment terraform itself runs in: fake credentials it must never use for real.
const env = { ...process.env, AWS_ACCESS_KEY_ID: 'offline-plan', AWS_SECRET_ACCESS_KEY: 'offline-plan', AWS_SESSION_TOKEN: '', AWS_PROFILE: '', AWS_EC2_METADATA_DISABLED: 'true', TF_IN_AUTOMATION: '1', CHECKPOINT_DISABLE: '1' };
for (const key of Object.keys(env)) if (key.startsWith('AWS_ENDPOINT_URL')) delete env[key];
const run = (argv) => spawnSync(real, [`-chdir=${dir}`, ...argv], { env, encoding: 'utf8' });

const state = existsSync(stateFile) ? JSON.parse(readFileSync(stateFile, 'utf8')) : {};
const remember = (region) => {
  if (!region) return;
  state[root] = region;
  writeFileSync(stateFile, JSON.stringify(state));
};

function tfFiles(at) {
  return readdirSync(at).filter((f) => f.endsWith('.tf')).map((f) => readFileSync(join(at, f), 'utf8'));
}

function relativeDir(at) {
  return relative(resolve(dir, '../..'), at) || '.';
}

function echo(result) {
  process.stdout.write(result.stdout ?? '');
  process.stderr.write(result.stderr ?? '');
  return result.status ?? 1;
}

/** The top-level blocks of a .tftest.hcl file, as text, with the word that opens each. */
function blocks(text) {
  const found = [];
  let i = 0;
  while (i < text.length) {
    const start = text.slice(i).search(/^[a-z_]+\b[^\n{]*\{/m);
    if (start < 0) break;
    const from = i + start;
    let depth = 0;
    let j = text.indexOf('{', from);
    let inString = false;
    for (; j < text.length; j++) {
      const c = text[j];
      if (inString) {
        if (c === '\\') j++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '#') j = text.indexOf('\n', j) < 0 ? text.length : text.indexOf('\n', j);
      else if (c === '{') depth++;
      else if (c === '}' && --depth === 0) break;
    }
    found.push({ kind: /^[a-z_]+/.exec(text.slice(from))[0], text: text.slice(from, j + 1) });
    i = j + 1;
  }
  return found;
}

function hclValue(value) {
  const trimmed = value.trim();
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) return trimmed;
  return JSON.stringify(value).replace(/\$\{/g, '$${').replace(/%\{/g, '%%{');
}

if (command === 'init') {
  // Which region's outputs `output` answers with: the state's, named by its key where the key is
  // per region (app/us-west-2.tfstate lives in the CI region's bucket), else the bucket's region.
  const backend = Object.fromEntries(args.map((arg) => /^-backend-config=(\w+)=(.*)$/.exec(arg)).filter(Boolean).map((m) => [m[1], m[2]]));
  remember(/(?:^|\/)([a-z]{2}(?:-gov)?-[a-z]+-\d)\.tfstate$/.exec(backend.key ?? '')?.[1] ?? backend.region);
  for (const arg of args) {
    if (!/^-(backend-config=|reconfigure$|migrate-state$|force-copy$|input=false$|no-color$)/.test(arg)) fail(`init ${arg} is not modelled`);
  }
  const status = echo(run(['init', '-backend=false', '-input=false', '-lockfile=readonly', '-no-color']));
  console.log(`[offline] ${root}: initialised without its backend (the bucket exists only in an account)`);
  process.exit(status);
}

if (command === 'apply' || command === 'plan' || command === 'destroy') {
  const vars = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '-var') vars.push(args[++i]);
    else if (arg.startsWith('-var=')) vars.push(arg.slice('-var='.length));
    else if (!['-input=false', '-auto-approve', '-no-color'].includes(arg)) fail(`${command} ${arg} is not modelled`);
  }
  const values = vars.map((pair) => {
    const at = pair.indexOf('=');
    if (at < 1) fail(`-var ${JSON.stringify(pair)}: expected NAME=VALUE`);
    return [pair.slice(0, at), pair.slice(at + 1)];
  });
  remember(values.find(([name]) => name === 'region')?.[1]);
  const planFile = join(plans, `${root}.tftest.hcl`);
  if (!existsSync(planFile)) {
    const status = echo(run(['validate', '-no-color']));
    console.log(`[offline] ${root}: validated, not planned (there is no offline plan of it, ${basename(planFile)}); ${command} not carried out`);
    process.exit(status);
  }
  const kept = blocks(readFileSync(planFile, 'utf8')).filter((b) => b.kind !== 'run' && b.kind !== 'variables');
  const test = [
    ...kept.map((b) => b.text),
    `run "guide_${command}" {\n  command = plan\n\n  variables {\n${values.map(([name, value]) => `    ${name} = ${hclValue(value)}`).join('\n')}\n  }\n}\n`,
  ].join('\n\n');
  mkdirSync(join(dir, 'tests'), { recursive: true });
  const file = join(dir, 'tests', 'guide-walk.tftest.hcl');
  writeFileSync(file, test);
  const result = run(['test', '-filter=tests/guide-walk.tftest.hcl', '-no-color']);
  rmSync(file);
  const status = echo(result);
  if (status === 0) console.log(`[offline] ${root}: ${command} planned with the guide's ${values.length} variables (terraform test, provider from the mirror); nothing applied`);
  process.exit(status);
}

if (command === 'output') {
  const region = state[root];
  const file = [join(outputsDir, `${root}@${region}.json`), join(outputsDir, `${root}.json`)].find((f) => existsSync(f));
  if (!file) fail(`${root}: no made-up outputs for it${region ? ` in ${region}` : ''} (the test writes ${root}@REGION.json or ${root}.json)`);
  const outputs = JSON.parse(readFileSync(file, 'utf8'));
  if (args[0] === '-json' && args.length === 1) {
    process.stdout.write(`${JSON.stringify(outputs, null, 2)}\n`);
    process.exit(0);
  }
  if (args[0] === '-raw' && args.length === 2) {
    const output = outputs[args[1]];
    if (!output) fail(`${root}: the output variable requested could not be found in the state: ${args[1]}`);
    if (output.value === null || typeof output.value === 'object') fail(`${root}: output ${args[1]} is not a string, number or bool; -raw cannot print it`);
    process.stdout.write(String(output.value));
    process.exit(0);
  }
  fail(`output ${args.join(' ')} is not modelled (-raw NAME or -json)`);
}

if (command === 'state' && args[0] === 'rm' && args.length >= 2) {
  // Nothing to remove from: what can be checked offline is that each address names a resource the
  // configuration declares (a renamed resource would leave the guide's command failing).
  for (const address of args.slice(1)) {
    const parts = address.split('.');
    let where = dir;
    while (parts[0] === 'module') {
      const name = parts[1];
      const source = tfFiles(where).map((text) => new RegExp(`module\\s+"${name}"\\s*\\{[^}]*?source\\s*=\\s*"([^"]+)"`, 's').exec(text)?.[1]).find(Boolean);
      if (!source) fail(`state rm ${address}: ${relativeDir(where)} declares no module "${name}"`);
      where = resolve(where, source);
      parts.splice(0, 2);
    }
    const [type, name] = parts;
    if (!tfFiles(where).some((text) => new RegExp(`resource\\s+"${type}"\\s+"${name}"`).test(text))) fail(`state rm ${address}: ${relativeDir(where)} declares no resource "${type}" "${name}"`);
    console.log(`[offline] ${root}: ${address} is declared (${relativeDir(where)}); nothing removed from any state`);
  }
  process.exit(0);
}

fail(`terraform ${command} is not modelled by the offline walk`);
