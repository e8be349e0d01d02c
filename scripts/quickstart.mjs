#!/usr/bin/env node
// `npm start`: the one-minute tour. Starts a local sandbox of EC2, SSM and Jenkins, brings up the
// example fleet (examples/fleet.yaml) with `provisioner up`, shows `provisioner status`, takes the
// fleet down again and stops the sandbox. Nothing outside a temporary directory is touched.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const bin = join(root, 'bin/provisioner.mjs');
const config = join(root, 'examples/fleet.yaml');
const state = mkdtempSync(join(tmpdir(), 'jenkins-fleet-quickstart-'));

// Headings in bold only on a terminal: a pipe or a CI log gets no terminal control code (NO_COLOR too).
const bold = process.stdout.isTTY === true && !process.env.NO_COLOR ? (text) => `\x1b[1m${text}\x1b[0m` : (text) => text;

function say(text) {
  process.stdout.write(`\n${bold(`== ${text}`)}\n`);
}

function startSandbox() {
  const child = spawn(process.execPath, [bin, 'sandbox', '--state', state, '--fleet', config], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (out.includes('AWS_SECRET_ACCESS_KEY')) {
        const env = Object.fromEntries([...out.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1], m[2].replace(/^'|'$/g, '')]));
        resolve({ child, env });
      }
    });
    child.once('exit', (code) => reject(new Error(`the sandbox stopped early (exit ${code})`)));
  });
}

function provisioner(args, env) {
  process.stdout.write(`$ provisioner ${args.join(' ')}\n`);
  const child = spawn(process.execPath, [bin, '--config', config, ...args], { stdio: 'inherit', env: { ...process.env, ...env } });
  return new Promise((resolve) => child.once('close', (code) => resolve(code ?? 1)));
}

let sandbox;
async function stop(code) {
  if (sandbox && sandbox.child.exitCode === null) {
    const exited = new Promise((r) => sandbox.child.once('exit', r));
    sandbox.child.kill('SIGTERM');
    await exited;
  }
  rmSync(state, { recursive: true, force: true });
  process.exit(code);
}
process.once('SIGINT', () => void stop(130));
process.once('SIGTERM', () => void stop(143));

say('Starting a local sandbox of EC2, SSM and a Jenkins controller');
sandbox = await startSandbox();
process.stdout.write(`The provisioner reaches it only through these variables (as it would reach real AWS and Jenkins):\n`);
for (const [k, v] of Object.entries(sandbox.env)) process.stdout.write(`  ${k}=${k.includes('SECRET') || k.includes('TOKEN') ? '…' : v}\n`);

const steps = [
  ['Bringing up the example fleet (examples/fleet.yaml: pools awsDeploy and awsDeploy2)', ['up', '--yes']],
  ['The fleet as Jenkins and EC2 see it', ['status']],
  ['Taking the fleet down again (drain, delete the nodes, terminate the instances)', ['down', '--yes']],
];
for (const [title, args] of steps) {
  say(title);
  const code = await provisioner(args, sandbox.env);
  if (code !== 0) {
    process.stderr.write(`\nprovisioner ${args[0]} exited with ${code}; the sandbox's request log was in ${state}/requests.log\n`);
    await stop(code);
  }
}
say('Done. To point the CLI at a real AWS account and Jenkins controller, see "Run it for real" in README.md');
await stop(0);
