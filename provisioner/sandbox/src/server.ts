// Starts the sandbox: one HTTP server on 127.0.0.1 that answers as EC2 (/ec2/), SSM (/ssm/),
// DynamoDB (/dynamodb/, the run lock's table, served by dynalite behind IAM), a
// Jenkins controller (/jenkins/, with the agents' WebSocket at /jenkins/wsagents/), SQS (/sqs/, the
// queue of EC2's interruption notices, which /_sandbox/instances/ID/interrupt issues) and a small
// control API (/_sandbox/) for tests: state, builds, busy agents, faults. Every request is appended to
// DIR/requests.log (identifiers only, never bodies or headers, so no secret can land there).
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { DynamoDbStandIn, defaultLockTable, itemKeyOf } from './dynamodb.ts';
import { ec2ErrorXml, handleEc2, newRequestId } from './ec2.ts';
import { delay, noFaults, seededRandom, updateFaults, type Faults, type Service } from './faults.ts';
import { Hosts } from './hosts.ts';
import { JenkinsStandIn, jenkinsVersion } from './jenkins.ts';
import { Permission, permissionByTitle } from './jenkins-security.ts';
import { handleSsm, resolvePublicParameter, type Caller } from './ssm.ts';
import { publicImage } from './images.ts';
import type { IamOptions } from './iam/fleet-iam.ts';
import { ec2UnauthorizedMessage } from './iam/refusal.ts';
import { Interruptions, type NoticeKind } from './interruptions.ts';
import { SqsStandIn } from './sqs.ts';
import { Store, type World } from './state.ts';
import { defaultKeepBuilds, instanceState, readDuration, ssmOnline, type RequestLogEntry, type Sandbox, type Timing } from './world.ts';

export interface SandboxOptions {
  stateDir: string;
  /** 0 picks a free port (or the one the state directory used last, if free). */
  port: number;
  region: string;
  timing: Timing;
  faults: Faults;
  seed: number;
  agentRetrySeconds: number;
  /** How long a build whose agent dropped or was deleted waits before it aborts (a Pipeline: 5 minutes). */
  lostAgentTimeoutMs: number;
  /** Aliases of the account's customer managed KMS keys (terraform/jenkins makes alias/jenkins-fleet/<fleet>). */
  kmsAliases: string[];
  /** Jenkins' queue maintenance period (Queue.MaintainTask: 5 s); maintenance also runs on Jenkins' own triggers. */
  queueMaintenanceMs: number;
  /** How long an executor takes to start a build handed to it (the queue item is pending meanwhile). */
  executorStartMs: number;
  /** How many of the newest builds the sandbox's job keeps (a build discarder's numToKeep); null: every one. */
  keepBuilds: number | null;
  /**
   * The service account's API token (what JENKINS_API_TOKEN is set to); generated and kept in the
   * state directory when not given.
   */
  serviceToken?: string;
  /**
   * Grant the service account Job/Read too, as jenkins/casc.yaml does when a pool of the fleet has
   * `max` (`watch` reads the build queue, which Jenkins filters by Job/Read).
   */
  serviceJobRead?: boolean;
  /** Evaluate the provisioner's EC2, SSM and DynamoDB calls against terraform/modules/provisioner-iam for this fleet. */
  iam?: IamOptions;
  /** The DynamoDB tables that exist (the run lock's, as terraform/jenkins creates it); default: the IAM fleet's lock.table, else jenkins-fleet-bank-ci-locks. */
  lockTables?: string[];
  /** Hosts answer Run Command at once without running the script, and their agents connect (benchmarks). */
  instantHosts?: boolean;
  /** EC2 instances answer SSH on loopback addresses (`--ssh-instances`), for pools with transport: ssh. */
  sshInstances?: boolean;
  /** Write the state at most this often instead of before every reply (benchmarks; 0: before every reply). */
  writeBehindMs?: number;
  /** From a Spot interruption warning to EC2 reclaiming the instance (EC2: two minutes). */
  interruptionNoticeMs?: number;
  /** The interruption queue's name or URL (default: --fleet's interruptions.queue, else jenkins-fleet-<fleet>-interruptions as terraform/jenkins names it). */
  interruptionQueue?: string;
}

/** The access key the sandbox exports: requests signed with it are the provisioner's (its role under IAM). */
export const provisionerAccessKey = 'AKIASANDBOX000000000';

export interface RunningSandbox {
  url: string;
  /** The variables that point the provisioner here, in the order they are printed. */
  env: Record<string, string>;
  sandbox: Sandbox;
  jenkins: JenkinsStandIn;
  /** The URL of the queue interruption notices go to (fleet.yaml's interruptions.queue). */
  interruptionQueue: string;
  hosts: Hosts;
  stop(): Promise<void>;
}

export const defaultTiming: Timing = { bootMs: 2000, ssmOnlineMs: 3000, shutdownMs: 1000, lingerMs: 60_000 };

export function defaultOptions(stateDir: string): SandboxOptions {
  return { stateDir, port: 0, region: 'us-east-1', timing: { ...defaultTiming }, faults: noFaults(), seed: Date.now() % 2 ** 31, agentRetrySeconds: 5, lostAgentTimeoutMs: 5 * 60_000, queueMaintenanceMs: 5000, executorStartMs: 0, keepBuilds: defaultKeepBuilds, kmsAliases: ['alias/jenkins-fleet/bank-ci'] };
}

/** The account JENKINS_USER names: exactly what `provisioner doctor` asks casc.yaml to grant it. */
export const serviceAccount = 'provisioner';

/** The service account's grants, as jenkins/casc.yaml gives them to fleet.yaml's controller.user. */
export const servicePermissions = ['Overall/Read', 'Agent/Create', 'Agent/Configure', 'Agent/Connect', 'Agent/Delete', 'Agent/Disconnect'].map((title) => permissionByTitle[title]!);

function freshWorld(serviceToken: string | undefined): () => World {
  const secret = () => randomBytes(17).toString('hex');
  return () => ({
    version: 1,
    jnlpKey: randomBytes(32).toString('hex'),
    users: [
      { name: serviceAccount, token: serviceToken ?? secret(), password: secret(), permissions: servicePermissions },
      // Beside it, as on a real controller: an administrator, and a user who may only look.
      { name: 'admin', token: secret(), password: secret(), permissions: [Permission.administer] },
      { name: 'reader', token: secret(), password: secret(), permissions: [Permission.read] },
    ],
    instances: [],
    images: [],
    launches: [],
    parameters: [],
    commands: [],
    nodes: [],
    builds: [],
    nextBuild: 1,
    nextQueueId: 1,
  });
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** What the SigV4 Authorization header claims (signatures are not verified: there are no real keys). */
function credentialScope(req: IncomingMessage): { accessKey: string; region: string; service: string } | undefined {
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=[^,]+, ?Signature=[0-9a-f]+$/.exec(String(req.headers.authorization ?? ''));
  return m ? { accessKey: m[1]!, region: m[2]!, service: m[3]! } : undefined;
}

export async function startSandbox(options: SandboxOptions): Promise<RunningSandbox> {
  const store = new Store(options.stateDir, freshWorld(options.serviceToken), options.writeBehindMs ?? 0);
  const serviceUser = store.world.users.find((u) => u.name === serviceAccount)!;
  if (options.serviceToken) serviceUser.token = options.serviceToken;
  serviceUser.permissions = options.serviceJobRead ? [...servicePermissions, Permission.jobRead] : servicePermissions;
  const logFile = join(options.stateDir, 'requests.log');
  const random = seededRandom(options.seed);
  let stopping = false;
  const sb: Sandbox = {
    store,
    timing: options.timing,
    faults: options.faults,
    random,
    region: options.region,
    accountId: '123456789012',
    kmsAliases: options.kmsAliases,
    baseUrl: '',
    log(entry: RequestLogEntry) {
      if (stopping) return;
      appendFileSync(logFile, `${JSON.stringify({ t: new Date().toISOString(), ...entry })}\n`);
    },
    onTerminate: (instance) => {
      hosts.stopHost(instance.id, true);
      sshInstances?.stopSshd(instance.id);
    },
    runCommand: (commandId, instanceId) => hosts.run(commandId, instanceId),
  };
  // First, before any stand-in starts a timer or a server: a queue refused here ends the start
  // instead of leaving a process that never serves.
  const sqs = new SqsStandIn(sb);
  // The queue --fleet's interruptions names (as its terraform/jenkins made it), else the one it would
  // make. The sandbox is one region: a fleet with queues in several is refused (ensureQueue names it).
  const fleetQueues = options.iam?.fleet.interruptions?.queues ?? [];
  for (const url of fleetQueues.slice(1)) sqs.ensureQueue(url);
  const interruptionQueue = sqs.ensureQueue(options.interruptionQueue ?? fleetQueues[0] ?? `jenkins-fleet-${options.iam?.fleet.fleet ?? 'bank-ci'}-interruptions`);
  const jenkins = new JenkinsStandIn(sb, '/jenkins', { lostAgentTimeoutMs: options.lostAgentTimeoutMs, maintenancePeriodMs: options.queueMaintenanceMs, executorStartMs: options.executorStartMs, keepBuilds: options.keepBuilds });
  let sshInstances: import('./ssh-instances.ts').SshInstances | undefined;
  const hosts = new Hosts(sb, { agentRetrySeconds: options.agentRetrySeconds, concurrency: 32, instant: options.instantHosts ?? false });

  // Requests signed with other keys are the account administrator's (tests setting the scene).
  // Loaded only when evaluating: the other commands never load the IAM evaluator.
  const iam = options.iam ? await (await import('./iam/fleet-iam.ts')).loadSandboxIam(sb, options.iam) : undefined;

  // The run lock's table as terraform/jenkins creates it for the fleet IAM is evaluated for.
  const dynamo = await DynamoDbStandIn.start(options.stateDir, options.region, options.lockTables ?? [options.iam?.fleet.lock?.table ?? defaultLockTable]);

  const interruptions = new Interruptions(sb, sqs, jenkins, interruptionQueue.url, options.interruptionNoticeMs ?? 120_000);

  const throttled = (service: Service) => sb.faults[service].throttleRate > 0 && random() < sb.faults[service].throttleRate;

  async function handleAws(service: 'ec2' | 'ssm', req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const requestId = newRequestId();
    const body = await readBody(req);
    await delay(sb.faults[service].latencyMs);
    const scope = credentialScope(req);
    const reply = (status: number, payload: string, entry: Omit<RequestLogEntry, 'service' | 'status' | 'ms'>) => {
      res.writeHead(status, {
        'content-type': service === 'ec2' ? 'text/xml;charset=UTF-8' : 'application/x-amz-json-1.1',
        'x-amzn-requestid': requestId,
        'content-length': Buffer.byteLength(payload),
      });
      res.end(payload);
      sb.log({ service, status, ms: Date.now() - started, ...entry });
    };
    if (service === 'ec2') {
      const form = new URLSearchParams(req.method === 'GET' ? (req.url ?? '').split('?')[1] ?? '' : body.toString('utf8'));
      const action = form.get('Action') ?? '(none)';
      const authError = !scope ? ['MissingAuthenticationToken', 'The request must contain either a valid (registered) AWS access key ID or X.509 certificate.']
        : scope.service !== 'ec2' ? ['AuthFailure', `Credential should be scoped to correct service: 'ec2'.`]
        : scope.region !== sb.region ? ['AuthFailure', `Credential should be scoped to a valid region, not '${scope.region}'. The sandbox serves ${sb.region}.`]
        : undefined;
      if (authError) return reply(401, ec2ErrorXml(authError[0]!, authError[1]!, requestId), { action, mutating: false, error: authError[0]! });
      if (throttled('ec2')) return reply(503, ec2ErrorXml('RequestLimitExceeded', 'Request limit exceeded.', requestId), { action, mutating: false, error: 'RequestLimitExceeded' });
      if (iam && scope?.accessKey === provisionerAccessKey) {
        const refusal = await iam.authorizeEc2(form);
        if (refusal) return reply(403, ec2ErrorXml('UnauthorizedOperation', ec2UnauthorizedMessage(refusal), requestId), { action, mutating: false, error: 'UnauthorizedOperation', subject: refusal.request.action });
      }
      const r = handleEc2(sb, form, requestId);
      return reply(r.status, r.body, { action: r.action, mutating: r.mutating && r.status === 200, ...(r.error ? { error: r.error } : {}), ...(r.subject ? { subject: r.subject } : {}) });
    }
    const target = String(req.headers['x-amz-target'] ?? '');
    const op = target.startsWith('AmazonSSM.') ? target.slice('AmazonSSM.'.length) : '';
    const fail = (type: string, message: string) => reply(400, JSON.stringify({ __type: type, message }), { action: op || '(none)', mutating: false, error: type });
    if (!scope) return fail('MissingAuthenticationTokenException', 'Missing Authentication Token');
    if (scope.service !== 'ssm') return fail('InvalidSignatureException', `Credential should be scoped to correct service: 'ssm'.`);
    if (scope.region !== sb.region) return fail('InvalidSignatureException', `Credential should be scoped to a valid region, not '${scope.region}'. The sandbox serves ${sb.region}.`);
    if (!op) return fail('UnknownOperationException', `X-Amz-Target must be AmazonSSM.<Operation>, found ${JSON.stringify(target)}`);
    if (!String(req.headers['content-type'] ?? '').startsWith('application/x-amz-json-1.1')) return fail('SerializationException', 'Content-Type must be application/x-amz-json-1.1');
    let input: Record<string, unknown>;
    try {
      input = body.length ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {};
    } catch {
      return fail('SerializationException', 'The request body is not valid JSON');
    }
    let caller: Caller = { kind: 'account' };
    const token = String(req.headers['x-amz-security-token'] ?? '');
    if (token.startsWith('sandbox-instance:')) {
      const instanceId = token.slice('sandbox-instance:'.length);
      const instance = store.world.instances.find((i) => i.id === instanceId);
      if (!instance || instanceState(sb, instance) !== 'running') return fail('UnrecognizedClientException', 'The security token included in the request is invalid.');
      caller = { kind: 'instance', instanceId };
    }
    if (throttled('ssm')) return fail('ThrottlingException', 'Rate exceeded');
    if (iam && caller.kind === 'account' && scope.accessKey === provisionerAccessKey) {
      const refusal = await iam.authorizeSsm(op, input);
      if (refusal) return fail('AccessDeniedException', refusal.message);
    }
    if (iam && caller.kind === 'instance') {
      const refusal = await iam.authorizeInstance(caller.instanceId, op, input);
      if (refusal) return fail('AccessDeniedException', refusal.message);
    }
    const r = handleSsm(sb, op, input, caller);
    return reply(r.status, JSON.stringify(r.body), { action: op, mutating: r.mutating && r.status === 200, ...(r.error ? { error: r.error } : {}), ...(r.subject ? { subject: r.subject } : {}), ...(caller.kind === 'instance' ? { subject: `${r.subject ?? ''} by ${caller.instanceId}`.trim() } : {}) });
  }

  // DynamoDB's JSON 1.0 protocol: the scope and IAM checked here, the rest by dynalite.
  async function handleDynamo(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const body = await readBody(req);
    const scope = credentialScope(req);
    const target = String(req.headers['x-amz-target'] ?? '');
    const op = target.startsWith('DynamoDB_20120810.') ? target.slice('DynamoDB_20120810.'.length) : '';
    const fail = (type: string, message: string, subject?: string) => {
      const payload = JSON.stringify({ __type: `com.amazon.coral.service#${type}`, message });
      res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': newRequestId(), 'content-length': Buffer.byteLength(payload) });
      res.end(payload);
      sb.log({ service: 'dynamodb', action: op || '(none)', status: 400, mutating: false, error: type, ms: Date.now() - started, ...(subject ? { subject } : {}) });
    };
    if (!scope) return fail('MissingAuthenticationTokenException', 'Request is missing Authentication Token');
    if (scope.service !== 'dynamodb') return fail('InvalidSignatureException', `Credential should be scoped to correct service: 'dynamodb'.`);
    if (scope.region !== sb.region) return fail('InvalidSignatureException', `Credential should be scoped to a valid region, not '${scope.region}'. The sandbox serves ${sb.region}.`);
    if (!op) return fail('UnknownOperationException', `X-Amz-Target must be DynamoDB_20120810.<Operation>, found ${JSON.stringify(target)}`);
    let input: Record<string, unknown>;
    try {
      input = body.length ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {};
    } catch {
      return fail('SerializationException', 'The request body is not valid JSON');
    }
    const subject = [input.TableName, itemKeyOf(input)].filter((x) => typeof x === 'string').join(' ') || undefined;
    if (iam && scope.accessKey === provisionerAccessKey) {
      const refusal = await iam.authorizeDynamoDb(op, input);
      if (refusal) return fail('AccessDeniedException', refusal.message, subject);
    }
    const r = await dynamo.handle(req.headers, body, op);
    res.writeHead(r.status, { ...r.headers, 'content-length': r.body.length });
    res.end(r.body);
    sb.log({ service: 'dynamodb', action: op, status: r.status, mutating: r.mutating, ms: Date.now() - started, ...(r.error ? { error: r.error } : {}), ...(subject ? { subject } : {}) });
  }

  // SQS's JSON 1.0 protocol (awsQueryCompatible): scope checked here, the operations in sqs.ts.
  async function handleSqs(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const body = await readBody(req);
    const scope = credentialScope(req);
    const target = String(req.headers['x-amz-target'] ?? '');
    const op = target.startsWith('AmazonSQS.') ? target.slice('AmazonSQS.'.length) : '';
    const answer = (status: number, payload: Record<string, unknown>, headers: Record<string, string>, entry: { mutating: boolean; error?: string; subject?: string }) => {
      const text = JSON.stringify(payload);
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': newRequestId(), 'content-length': Buffer.byteLength(text), ...headers });
      res.end(text);
      sb.log({ service: 'sqs', action: op || '(none)', status, ms: Date.now() - started, mutating: entry.mutating && status === 200, ...(entry.error ? { error: entry.error } : {}), ...(entry.subject ? { subject: entry.subject } : {}) });
    };
    const fail = (status: number, type: string, queryCode: string, message: string) => answer(status, { __type: `com.amazonaws.sqs#${type}`, message }, { 'x-amzn-query-error': `${queryCode};Sender` }, { mutating: false, error: queryCode });
    if (!scope) return fail(403, 'MissingAuthenticationTokenException', 'MissingClientTokenId', 'Request is missing Authentication Token');
    if (scope.service !== 'sqs') return fail(403, 'InvalidSignatureException', 'SignatureDoesNotMatch', `Credential should be scoped to correct service: 'sqs'.`);
    if (scope.region !== sb.region) return fail(403, 'InvalidSignatureException', 'SignatureDoesNotMatch', `Credential should be scoped to a valid region, not '${scope.region}'. The sandbox serves ${sb.region}.`);
    if (!op) return fail(400, 'UnknownOperationException', 'UnknownOperationException', `X-Amz-Target must be AmazonSQS.<Operation>, found ${JSON.stringify(target)}`);
    if (!String(req.headers['content-type'] ?? '').startsWith('application/x-amz-json-1.0')) return fail(400, 'SerializationException', 'SerializationException', 'Content-Type must be application/x-amz-json-1.0');
    let input: Record<string, unknown>;
    try {
      input = body.length ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {};
    } catch {
      return fail(400, 'SerializationException', 'SerializationException', 'The request body is not valid JSON');
    }
    if (iam && scope.accessKey === provisionerAccessKey) {
      // SQS finds the queue the URL names (in the URL's account) before it asks IAM about it: no such
      // queue is QueueDoesNotExist whatever the caller may do, and IAM judges the URL's own queue.
      const located = sqs.locate(input);
      if (!('arn' in located)) return answer(located.status, located.body, located.headers, located);
      const refusal = await iam.authorizeSqs(op, located.arn);
      // SQS's AccessDenied (403), in the JSON protocol's query-compatible form.
      if (refusal) return answer(403, { __type: 'com.amazonaws.sqs#AccessDenied', message: refusal.message }, { 'x-amzn-query-error': 'AccessDenied;Sender' }, { mutating: false, error: 'AccessDenied', subject: String(input.QueueUrl ?? '').split('/').pop() });
    }
    const r = await sqs.handle(op, input);
    return answer(r.status, r.body, r.headers, r);
  }

  async function handleJenkins(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const started = Date.now();
    const body = await readBody(req);
    await delay(sb.faults.jenkins.latencyMs);
    const path = url.pathname.slice('/jenkins/'.length);
    const common = { 'x-jenkins': jenkinsVersion, 'x-hudson': '1.395', 'x-content-type-options': 'nosniff' };
    if (path !== 'jnlpJars/agent.jar' && path !== 'login' && throttled('jenkins')) {
      res.writeHead(503, { ...common, 'content-type': 'text/html', 'retry-after': '1' });
      res.end('<html><body><h1>503 Service Unavailable</h1></body></html>');
      sb.log({ service: 'jenkins', action: `${req.method} ${path.split('/')[0]}`, status: 503, mutating: false, error: '503 Service Unavailable', ms: Date.now() - started });
      return;
    }
    const r = jenkins.handle({ method: req.method ?? 'GET', path, query: url.searchParams, headers: req.headers, body });
    res.writeHead(r.status, { ...common, ...r.headers });
    res.end(req.method === 'HEAD' ? undefined : r.body);
    sb.log({ service: 'jenkins', action: r.action, status: r.status, mutating: r.mutating && r.status < 400, ms: Date.now() - started, ...(r.error ? { error: r.error } : {}), ...(r.subject ? { subject: r.subject } : {}) });
  }

  async function handleControl(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const body = await readBody(req);
    const send = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    const path = url.pathname.slice('/_sandbox/'.length);
    if (path === 'builds' && req.method === 'GET') return send(200, jenkins.queue.list());
    if (path === 'builds' && req.method === 'POST') {
      let input: unknown;
      try { input = JSON.parse(body.toString('utf8') || '{}'); } catch { return send(400, { error: 'builds: the body is not JSON' }); }
      const request = readBuildRequest(input);
      if (typeof request === 'string') {
        sb.log({ service: 'control', action: 'builds queue', status: 400, mutating: false, error: request });
        return send(400, { error: request });
      }
      const queued = jenkins.queue.schedule(request.label, request.count, request.durationMs);
      sb.log({ service: 'control', action: 'builds queue', status: 200, mutating: true, subject: `${request.count} x ${request.label ?? '(any agent)'}` });
      return send(200, { builds: queued.map((b) => jenkins.queue.view(b)) });
    }
    const busy = /^agents\/([^/]+)\/(busy|idle)$/.exec(path);
    if (req.method === 'POST' && busy) {
      const problem = jenkins.setBusy(decodeURIComponent(busy[1]!), busy[2] === 'busy');
      sb.log({ service: 'control', action: `agent ${busy[2]}`, status: problem ? 409 : 200, mutating: false, subject: decodeURIComponent(busy[1]!) });
      return send(problem ? 409 : 200, problem ? { error: problem } : { ok: true });
    }
    const space = /^agents\/([^/]+)\/free-space$/.exec(path);
    if (req.method === 'POST' && space) {
      // What Jenkins' disk-space monitors see on the agent: at or under 1GiB free they take it offline.
      const name = decodeURIComponent(space[1]!);
      let input: { monitor?: unknown; freeBytes?: unknown; totalBytes?: unknown };
      try { input = JSON.parse(body.toString('utf8') || '{}') as typeof input; } catch { return send(400, { error: 'free-space: the body is not JSON' }); }
      const monitor = input.monitor ?? 'disk-space';
      if (monitor !== 'disk-space' && monitor !== 'temp-space') return send(400, { error: `free-space: monitor must be disk-space or temp-space, found ${JSON.stringify(monitor)}` });
      const freeBytes = input.freeBytes ?? 0;
      const totalBytes = input.totalBytes ?? 8 * 1024 ** 3;
      if (!Number.isSafeInteger(freeBytes) || (freeBytes as number) < 0) return send(400, { error: `free-space: freeBytes must be a whole number of bytes, found ${JSON.stringify(freeBytes)}` });
      if (!Number.isSafeInteger(totalBytes) || (totalBytes as number) < (freeBytes as number)) return send(400, { error: `free-space: totalBytes must be a whole number of bytes, at least freeBytes, found ${JSON.stringify(totalBytes)}` });
      const result = jenkins.setFreeSpace(name, monitor, freeBytes as number, totalBytes as number);
      sb.log({ service: 'control', action: `agent free-space ${monitor}`, status: typeof result === 'string' ? 409 : 200, mutating: false, subject: name });
      return send(typeof result === 'string' ? 409 : 200, typeof result === 'string' ? { error: result } : result);
    }
    if (req.method === 'POST' && path === 'images/release') {
      // AWS publishes a new AMI under a "latest" alias: from now on the parameter resolves to it.
      let input: { parameter?: unknown };
      try { input = JSON.parse(body.toString('utf8') || '{}') as typeof input; } catch { return send(400, { error: 'images/release: the body is not JSON' }); }
      const name = typeof input.parameter === 'string' ? input.parameter : '';
      const releases = (sb.store.world.imageReleases ??= {});
      const next = (releases[name] ?? 0) + 1;
      if (!publicImage(name, next)) return send(400, { error: `images/release: parameter must be a public image alias (/aws/service/...), found ${JSON.stringify(input.parameter ?? null)}` });
      releases[name] = next;
      const imageId = resolvePublicParameter(sb, name);
      sb.log({ service: 'control', action: 'images release', status: 200, mutating: true, subject: name });
      return send(200, { parameter: name, imageId, version: next + 1 });
    }
    if (req.method === 'GET' && path === 'interruptions') return send(200, { queue: interruptions.queueUrl, noticeMs: interruptions.noticeMs });
    const interrupt = /^instances\/([^/]+)\/interrupt$/.exec(path);
    if (req.method === 'POST' && interrupt) {
      let input: { notice?: unknown };
      try { input = JSON.parse(body.toString('utf8') || '{}') as typeof input; } catch { return send(400, { error: 'interrupt: the body is not JSON' }); }
      const notice = input.notice ?? 'warning';
      if (notice !== 'warning' && notice !== 'rebalance') return send(400, { error: `interrupt: notice must be warning or rebalance, found ${JSON.stringify(notice)}` });
      const id = decodeURIComponent(interrupt[1]!);
      const result = interruptions.interrupt(id, notice as NoticeKind);
      sb.log({ service: 'control', action: `instance interrupt ${notice}`, status: 'status' in result ? result.status : 200, mutating: !('status' in result), subject: id });
      return 'status' in result ? send(result.status, { error: result.error }) : send(200, result);
    }
    if (req.method === 'GET' && path === 'state') return send(200, describe());
    if (path === 'faults') {
      if (req.method === 'POST') {
        let patch: unknown;
        try { patch = JSON.parse(body.toString('utf8')); } catch { return send(400, { error: 'faults: the body is not JSON' }); }
        const problems = updateFaults(sb.faults, patch);
        if (problems.length) return send(400, { error: problems.join('; ') });
      }
      return send(200, sb.faults);
    }
    if (req.method === 'GET' && path === 'health') return send(200, { ok: true });
    return send(404, { error: `no control endpoint ${req.method} /_sandbox/${path}` });
  }

  /** The world as tests compare it with `provisioner status`: no tokens, keys or parameter values. */
  function describe(): unknown {
    const world = store.world;
    const now = Date.now();
    return {
      instances: world.instances
        .map((i) => ({ id: i.id, state: instanceState(sb, i, now), ssmOnline: ssmOnline(sb, i, now), subnetId: i.subnetId, privateIp: i.privateIp, tags: Object.fromEntries(i.tags.map((t) => [t.key, t.value])), volumeTags: Object.fromEntries(i.volume.tags.map((t) => [t.key, t.value])), clientToken: i.clientToken, userData: i.userData, metadataOptions: i.metadataOptions, instanceProfile: i.instanceProfile, publicIp: i.publicIp, root: hosts.root(i.id) }))
        .filter((i) => i.state !== undefined),
      ...jenkins.describe(),
      parameters: world.parameters.map((p) => ({ name: p.name, type: p.type, keyId: p.keyId, version: p.version })),
      commands: world.commands.map((c) => ({ id: c.id, parameters: c.parameters, invocations: c.invocations.map((i) => ({ instanceId: i.instanceId, status: i.status, responseCode: i.responseCode, stdout: i.stdout, stderr: i.stderr, startedAt: i.startedAt, endedAt: i.endedAt })) })),
    };
  }

  const wss = new WebSocketServer({ noServer: true });
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const p = url.pathname;
    const done = (promise: Promise<void>) => promise.catch((err: Error) => {
      process.stderr.write(`sandbox: internal error on ${req.method} ${p}: ${err.stack ?? err.message}\n`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('sandbox internal error');
    });
    if (p === '/ec2' || p === '/ec2/') return void done(handleAws('ec2', req, res));
    if (p === '/ssm' || p === '/ssm/') return void done(handleAws('ssm', req, res));
    if (p === '/dynamodb' || p === '/dynamodb/') return void done(handleDynamo(req, res));
    if (p === '/sqs' || p === '/sqs/') return void done(handleSqs(req, res));
    if (p.startsWith('/jenkins/')) return void done(handleJenkins(req, res, url));
    if (p === '/jenkins') { res.writeHead(302, { location: '/jenkins/' }); return void res.end(); }
    if (p.startsWith('/_sandbox/')) return void done(handleControl(req, res, url));
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end(`The sandbox answers on /ec2/, /ssm/, /dynamodb/, /sqs/, /jenkins/ and /_sandbox/, not ${p}\n`);
  });
  server.on('upgrade', (req, socket, head) => {
    // An agent killed mid-handshake resets its socket: that ends the connection, not the sandbox.
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const refuse = (status: number, message: string) => {
      socket.end(`HTTP/1.1 ${status} ${status === 403 ? 'Forbidden' : status === 404 ? 'Not Found' : 'Bad Request'}\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n${message}\n`);
      sb.log({ service: 'jenkins', action: 'WS wsagents/', status, mutating: false, error: message, ...(typeof req.headers['node-name'] === 'string' ? { subject: req.headers['node-name'] } : {}) });
    };
    if (url.pathname !== '/jenkins/wsagents/' && url.pathname !== '/jenkins/wsagents') return refuse(404, `no WebSocket endpoint at ${url.pathname}`);
    const checked = jenkins.checkAgent(req.headers);
    if ('status' in checked) return refuse(checked.status, checked.message);
    wss.once('headers', (headers) => {
      headers.push(`X-Remoting-Capability: sandbox-controller`, `X-Remoting-Minimum-Version: 3107.v665000b_51092`, `Connection-Cookie: ${randomBytes(16).toString('hex')}`);
    });
    wss.handleUpgrade(req, socket, head, (ws) => jenkins.attach(checked.name, ws, req.headers));
  });

  const portFile = join(options.stateDir, 'port');
  const remembered = options.port === 0 && existsSync(portFile) ? Number(readFileSync(portFile, 'utf8')) : 0;
  const listen = (port: number) => new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  try {
    await listen(options.port || remembered);
  } catch (err) {
    if (options.port !== 0 || remembered === 0) throw err;
    await listen(0); // the port used last is taken now: any free one will do
  }
  const port = (server.address() as AddressInfo).port;
  writeFileSync(portFile, String(port));
  sb.baseUrl = `http://127.0.0.1:${port}`;
  hosts.install();
  hosts.resume();
  interruptions.resume();
  if (options.sshInstances) {
    sshInstances = await (await import('./ssh-instances.ts')).SshInstances.start(sb, hosts, options.stateDir);
    sb.instanceSsh = sshInstances;
  }

  const service = store.world.users.find((u) => u.name === serviceAccount)!;
  const env: Record<string, string> = {
    JENKINS_URL: `${sb.baseUrl}/jenkins/`,
    JENKINS_USER: service.name,
    JENKINS_API_TOKEN: service.token,
    AWS_REGION: sb.region,
    AWS_ENDPOINT_URL_EC2: `${sb.baseUrl}/ec2/`,
    AWS_ENDPOINT_URL_SSM: `${sb.baseUrl}/ssm/`,
    AWS_ENDPOINT_URL_DYNAMODB: `${sb.baseUrl}/dynamodb/`,
    AWS_ENDPOINT_URL_SQS: `${sb.baseUrl}/sqs/`,
    AWS_ACCESS_KEY_ID: provisionerAccessKey,
    AWS_SECRET_ACCESS_KEY: 'sandbox-secret-access-key-not-a-real-one',
  };
  writeFileSync(join(options.stateDir, 'env'), envLines(env), { mode: 0o600 });

  let stopped = false;
  return {
    url: sb.baseUrl,
    env,
    sandbox: sb,
    jenkins,
    interruptionQueue: interruptionQueue.url,
    hosts,
    async stop() {
      if (stopped) return;
      stopped = true;
      stopping = true;
      interruptions.stop();
      sqs.close();
      hosts.stopAll();
      sshInstances?.stop();
      jenkins.closeAll();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await dynamo.stop();
      store.close();
    },
  };
}

/** Default duration of a queued build's body. */
export const defaultBuildDurationMs = 20_000;

/**
 * A `POST /_sandbox/builds` body: `label` (a label expression; null, absent or blank for any agent,
 * as ExecutorStep's Util.fixEmptyAndTrim makes of `node('')`), `count` (1..1000) and `duration`
 * (1500, "1500ms", "20s", "2m"; default 20s). A problem is one sentence naming the field.
 */
export function readBuildRequest(input: unknown): { label: string | null; count: number; durationMs: number } | string {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return `builds: expected a JSON object {label, count, duration}, found ${JSON.stringify(input)}`;
  const { label = null, count = 1, duration = defaultBuildDurationMs, ...rest } = input as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) return `builds: unknown field ${JSON.stringify(unknown[0])} (expected label, count, duration)`;
  if (label !== null && typeof label !== 'string') return `builds: label must be a label expression (a string), or null for any agent, found ${JSON.stringify(label)}`;
  if (!Number.isInteger(count) || (count as number) < 1 || (count as number) > 1000) return `builds: count must be a whole number from 1 to 1000, found ${JSON.stringify(count)}`;
  const durationMs = typeof duration === 'number' ? (Number.isInteger(duration) && duration >= 0 ? duration : undefined) : typeof duration === 'string' ? readDuration(duration) : undefined;
  if (durationMs === undefined) return `builds: duration must be milliseconds or a duration such as 1500ms, 20s or 2m, found ${JSON.stringify(duration)}`;
  const trimmed = label?.trim();
  return { label: trimmed ? trimmed : null, count: count as number, durationMs };
}

export function envLines(env: Record<string, string>): string {
  const quote = (v: string) => (/^[A-Za-z0-9_./:@-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`);
  return Object.entries(env).map(([k, v]) => `export ${k}=${quote(v)}\n`).join('');
}
