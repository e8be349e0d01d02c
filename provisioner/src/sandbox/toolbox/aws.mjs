#!/usr/bin/env node
// Stand-in for the AWS CLI on a sandbox host: `aws ssm get-parameter --name N [--with-decryption]
// [--query Parameter.Value] [--output text|json]`, answered by the sandbox's SSM over its own API
// with the host's instance identity (so the agents' IAM rule applies), retrying throttling as the
// CLI does. Everything else fails saying the sandbox does not provide it.
import { readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

const conf = Object.fromEntries(readFileSync(join(dirname(realpathSync(process.argv[1])), '..', 'sandbox.conf'), 'utf8')
  .split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).replace(/^'|'$/g, '')]));

function usage(message) {
  process.stderr.write(`${message}\n`);
  process.exit(252);
}

const args = process.argv.slice(2);
const [service, operation, ...rest] = args;
if (service !== 'ssm' || operation !== 'get-parameter') usage(`sandbox aws: only \`aws ssm get-parameter\` is provided on this host, not \`aws ${args.slice(0, 2).join(' ')}\``);
const options = { decrypt: false, output: 'json' };
for (let i = 0; i < rest.length; i++) {
  const a = rest[i];
  if (a === '--with-decryption') options.decrypt = true;
  else if (a === '--no-with-decryption') options.decrypt = false;
  else if (a === '--name') options.name = rest[++i];
  else if (a === '--query') options.query = rest[++i];
  else if (a === '--output') options.output = rest[++i];
  else if (a === '--region') options.region = rest[++i];
  else if (a.startsWith('--name=')) options.name = a.slice(7);
  else usage(`aws: error: unrecognized arguments: ${a}`);
}
if (!options.name) usage('aws: error: the following arguments are required: --name');
if (options.query !== undefined && options.query !== 'Parameter.Value') usage(`sandbox aws: --query supports Parameter.Value only, found ${options.query}`);
if (!['text', 'json'].includes(options.output)) usage(`sandbox aws: --output supports text and json, found ${options.output}`);

const instanceId = process.env.AWS_SSM_INSTANCE_ID || basename(process.env.AGENT_INSTALL_ROOT || '');
const region = options.region || process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || conf.SANDBOX_REGION;
const date = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');

async function call() {
  return fetch(conf.SANDBOX_SSM_ENDPOINT, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': 'AmazonSSM.GetParameter',
      'x-amz-date': date,
      // Role credentials of the instance profile, as the CLI would fetch them from IMDS.
      'x-amz-security-token': `sandbox-instance:${instanceId}`,
      authorization: `AWS4-HMAC-SHA256 Credential=ASIASANDBOX/${date.slice(0, 8)}/${region}/ssm/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature=${'0'.repeat(64)}`,
    },
    body: JSON.stringify({ Name: options.name, WithDecryption: options.decrypt }),
  });
}

let response;
for (let attempt = 1; ; attempt++) {
  try {
    response = await call();
  } catch (err) {
    if (attempt < 5) { await new Promise((r) => setTimeout(r, 200 * attempt)); continue; }
    process.stderr.write(`\nCould not connect to the endpoint URL: "${conf.SANDBOX_SSM_ENDPOINT}"\n`);
    process.exit(255);
  }
  if (response.status === 400 || response.status >= 500) {
    const body = await response.json().catch(() => ({}));
    if ((body.__type === 'ThrottlingException' || response.status >= 500) && attempt < 5) {
      await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
      continue;
    }
    process.stderr.write(`\nAn error occurred (${body.__type ?? response.status}) when calling the GetParameter operation: ${body.message ?? ''}\n`);
    process.exit(254);
  }
  break;
}
const body = await response.json();
if (options.query === 'Parameter.Value') {
  process.stdout.write(options.output === 'text' ? `${body.Parameter.Value}\n` : `${JSON.stringify(body.Parameter.Value)}\n`);
} else if (options.output === 'text') {
  const p = body.Parameter;
  process.stdout.write(`PARAMETER\t${p.ARN}\t${p.DataType}\t${new Date(p.LastModifiedDate * 1000).toISOString()}\t${p.Name}\t${p.Type}\t${p.Value}\t${p.Version}\n`);
} else {
  process.stdout.write(`${JSON.stringify(body, null, 4)}\n`);
}
