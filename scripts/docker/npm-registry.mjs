#!/usr/bin/env node
// Serves the npm registry this machine's npm is configured with over HTTP on 127.0.0.1, so that
// `docker build --network host` installs the watch image's lock the way it would from the bank's
// registry, with this machine's trust (a registry behind a TLS proxy whose CA the image lacks):
//   node scripts/docker/npm-registry.mjs [--port N]
// prints one line of JSON, {"NPM_CONFIG_REGISTRY": "http://127.0.0.1:PORT/"} (the build argument),
// then serves until it is stopped. Only GET and HEAD are passed on, bodies untouched; npm rewrites the
// public registry's tarball addresses to the configured registry itself (replace-registry-host).
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { request } from 'node:https';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' } } });
const upstream = new URL(execFileSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8' }).trim().replace(/\/?$/, '/'));
if (upstream.protocol !== 'https:') {
  console.error(`npm-registry: the configured registry ${upstream} is not https: point the build at it directly`);
  process.exit(2);
}

const server = createServer((req, res) => {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405).end('only GET and HEAD here\n');
    return;
  }
  const target = new URL(req.url.replace(/^\/+/, ''), upstream);
  const headers = { ...req.headers, host: target.host };
  const forwarded = request(target, { method: req.method, headers }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  forwarded.on('error', (err) => {
    if (!res.headersSent) res.writeHead(502);
    res.end(`npm-registry: ${target}: ${err.message}\n`);
  });
  forwarded.end();
});
server.listen(Number(values.port), '127.0.0.1', () => {
  console.log(JSON.stringify({ NPM_CONFIG_REGISTRY: `http://127.0.0.1:${server.address().port}/` }));
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
