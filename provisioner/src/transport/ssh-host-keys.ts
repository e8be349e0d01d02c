// Host-key verification for the SSH transport: which keys a pool trusts for a host, and the
// known_hosts files that record them. A pool chooses its policy (`hostKeyPolicy`):
//   known-hosts  only keys listed in `knownHostsFile` (OpenSSH format, hashed entries included);
//   pinned       only keys whose SHA256 fingerprint is in `hostKeyFingerprints`;
//   accept-new   trust on first use: a host not yet in the file is recorded there once the
//                connection proved the server holds the key; after that, as known-hosts.
// A key that differs from the recorded one is refused, naming the host and both fingerprints.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';

export type HostKeyPolicy = 'known-hosts' | 'pinned' | 'accept-new';

/** `SHA256:` and the unpadded base64 of the key blob's SHA-256, as `ssh-keygen -l` prints it. */
export function fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The algorithm name at the start of an SSH public key blob (`ssh-ed25519`, `ssh-rsa`...). */
export function keyType(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return 'unknown';
  const length = keyBlob.readUInt32BE(0);
  return length > 0 && length < 64 && keyBlob.length >= 4 + length ? keyBlob.subarray(4, 4 + length).toString('latin1') : 'unknown';
}

/** How OpenSSH names a host in known_hosts: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host.toLowerCase() : `[${host.toLowerCase()}]:${port}`;
}

export interface KnownHostEntry {
  /** 1-based line in its file, for messages. */
  line: number;
  marker?: 'revoked' | 'cert-authority';
  /** Comma-separated patterns (plain entries), or the salt and hash of a hashed (`|1|`) entry. */
  hosts: { patterns: string[] } | { salt: Buffer; hash: Buffer };
  type: string;
  key: Buffer;
}

/** Parses an OpenSSH known_hosts file; lines it cannot read are skipped, as ssh does. */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, index) => {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === undefined || fields[0] === '' || fields[0].startsWith('#')) return;
    let marker: KnownHostEntry['marker'];
    if (fields[0].startsWith('@')) {
      const name = fields.shift();
      if (name === '@revoked') marker = 'revoked';
      else if (name === '@cert-authority') marker = 'cert-authority';
      else return;
    }
    const [hostField, type, keyText] = fields;
    if (!hostField || !type || !keyText) return;
    const key = Buffer.from(keyText, 'base64');
    if (key.length === 0 || keyType(key) !== type) return;
    let hosts: KnownHostEntry['hosts'];
    if (hostField.startsWith('|1|')) {
      const [salt, hash] = hostField.slice(3).split('|');
      if (!salt || !hash) return;
      hosts = { salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64') };
    } else {
      hosts = { patterns: hostField.toLowerCase().split(',') };
    }
    entries.push({ line: index + 1, ...(marker ? { marker } : {}), hosts, type, key });
  });
  return entries;
}

function glob(pattern: string, text: string): boolean {
  const expression = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${expression}$`).test(text);
}

/** Whether a known_hosts entry names this host (hashed names, patterns, `!` negations). */
export function entryMatches(entry: KnownHostEntry, host: string, port: number): boolean {
  const name = knownHostsName(host, port);
  if ('salt' in entry.hosts) {
    const hash = createHmac('sha1', entry.hosts.salt).update(name).digest();
    return hash.length === entry.hosts.hash.length && timingSafeEqual(hash, entry.hosts.hash);
  }
  let matched = false;
  for (const pattern of entry.hosts.patterns) {
    const negated = pattern.startsWith('!');
    if (glob(negated ? pattern.slice(1) : pattern, name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

/** The file accept-new records to when a pool names none: one the provisioner keeps for itself. */
export function defaultKnownHostsFile(env: NodeJS.ProcessEnv = process.env): string {
  const state = env.XDG_STATE_HOME && isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : join(env.HOME || homedir(), '.local', 'state');
  return join(state, 'jenkins-fleet', 'known_hosts');
}

/** `~/x` and paths relative to a base directory (the fleet file's) -> absolute. */
export function expandPath(path: string, baseDir: string, env: NodeJS.ProcessEnv = process.env): string {
  const home = env.HOME || homedir();
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  return resolve(baseDir, path);
}

/** ssh2's algorithm names for a key type: an RSA key is offered through three signature algorithms. */
function algorithmsFor(type: string): string[] {
  return type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type];
}

/** Host keys an EC2 instance printed to its console at first boot (cloud-init), for accept-new. */
export interface ConsoleHostKeys {
  /** What printed them, for messages: `the console output of i-0abc...`. */
  source: string;
  keys: Buffer[];
  fingerprints: string[];
}

const keyLine = /(ssh-ed25519|ecdsa-sha2-nistp(?:256|384|521)|ssh-rsa|ssh-dss)\s+([A-Za-z0-9+/]+={0,3})/;
const fingerprintPattern = /SHA256:[A-Za-z0-9+/]{43}/;

/**
 * Reads the blocks cloud-init writes to the console (`-----BEGIN SSH HOST KEY KEYS-----` and
 * `-----BEGIN SSH HOST KEY FINGERPRINTS-----`), whatever prefix the console puts before each line
 * (`ec2: `, a kernel timestamp). Empty lists when the instance printed none (yet).
 */
export function hostKeysFromConsole(output: string, source: string): ConsoleHostKeys {
  const keys: Buffer[] = [];
  const fingerprints: string[] = [];
  let block: 'keys' | 'fingerprints' | undefined;
  for (const line of output.split(/\r?\n/)) {
    if (line.includes('-----BEGIN SSH HOST KEY KEYS-----')) block = 'keys';
    else if (line.includes('-----BEGIN SSH HOST KEY FINGERPRINTS-----')) block = 'fingerprints';
    else if (/-----END SSH HOST KEY (KEYS|FINGERPRINTS)-----/.test(line)) block = undefined;
    else if (block === 'keys') {
      const match = keyLine.exec(line);
      if (!match) continue;
      const blob = Buffer.from(match[2] as string, 'base64');
      if (keyType(blob) === match[1] && !keys.some((k) => k.equals(blob))) keys.push(blob);
    } else if (block === 'fingerprints') {
      const found = fingerprintPattern.exec(line)?.[0];
      if (found && !fingerprints.includes(found)) fingerprints.push(found);
    }
  }
  return { source, keys, fingerprints };
}

/** A host-key check refused the host: not a network problem, so never retried. */
export class HostKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HostKeyError';
  }
}

export interface HostKeyPolicyConfig {
  hostKeyPolicy: HostKeyPolicy;
  /** Absolute. For accept-new, where new keys are recorded. */
  knownHostsFile?: string;
  hostKeyFingerprints?: string[];
}

/** What one connection needs to check its host: the verifier, preferred algorithms, and an after-step. */
export interface HostCheck {
  /** For ssh2's `hostVerifier`: true to go on; false after recording why in `refusal`. */
  verify(key: Buffer): boolean;
  /** Why the last key was refused, once `verify` returned false. */
  refusal?: string;
  /**
   * The server host key algorithms to ask for, so that a host with several keys presents one we
   * know (as OpenSSH orders them after known_hosts). Undefined: ssh2's defaults.
   */
  serverHostKey?: string[];
  /** After the handshake proved the server holds the key: accept-new records a new key. */
  confirm(): Promise<void>;
}

// Appends to one file are serialised within this process, so two first connections do not interleave.
const appendQueues = new Map<string, Promise<unknown>>();

/** Reads a known_hosts file; a missing file is empty for accept-new and an error otherwise. */
export async function readKnownHostsFile(path: string, missingOk: boolean): Promise<KnownHostEntry[]> {
  try {
    return parseKnownHosts(await readFile(path, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && missingOk) return [];
    throw new HostKeyError(`cannot read known hosts file ${path} (${code ?? (err as Error).message})`);
  }
}

/**
 * Prepares the host-key check of one connection to host:port under a pool's policy. Reads the
 * known hosts file now, so each connection attempt sees what earlier ones recorded. With accept-new,
 * keys an instance printed to its console (`console`) decide whether a first key is trusted.
 */
export async function hostCheck(policy: HostKeyPolicyConfig, host: string, port: number, console?: ConsoleHostKeys): Promise<HostCheck> {
  const where = `${host}:${port}`;
  if (policy.hostKeyPolicy === 'pinned') {
    const pinned = policy.hostKeyFingerprints ?? [];
    const check: HostCheck = {
      verify(key) {
        const found = fingerprint(key);
        if (pinned.includes(found)) return true;
        check.refusal = `host key of ${where} is not pinned: expected ${pinned.join(' or ')}, found ${found} (${keyType(key)}); refusing to connect`;
        return false;
      },
      confirm: async () => {},
    };
    return check;
  }

  const file = policy.knownHostsFile;
  if (!file) throw new HostKeyError(`hostKeyPolicy ${policy.hostKeyPolicy} needs a known hosts file`);
  const acceptNew = policy.hostKeyPolicy === 'accept-new';
  const entries = (await readKnownHostsFile(file, acceptNew)).filter((entry) => entry.marker !== 'cert-authority' && entryMatches(entry, host, port));
  const revoked = entries.filter((entry) => entry.marker === 'revoked');
  const known = entries.filter((entry) => entry.marker === undefined);
  let pending: Buffer | undefined;
  const types = [...new Set(known.map((entry) => entry.type))];
  const check: HostCheck = {
    verify(key) {
      const found = `${fingerprint(key)} (${keyType(key)})`;
      if (revoked.some((entry) => entry.key.equals(key))) {
        check.refusal = `host key of ${where} ${found} is marked @revoked in ${file}; refusing to connect`;
        return false;
      }
      if (known.some((entry) => entry.key.equals(key))) return true;
      if (known.length > 0) {
        const expected = known.map((entry) => `${fingerprint(entry.key)} (${entry.type}, ${file}:${entry.line})`).join(' or ');
        check.refusal = `HOST KEY CHANGED for ${where}: expected ${expected}, found ${found}. Someone may be intercepting the connection, or the host was rebuilt; if so, remove its line from ${file} and connect again`;
        return false;
      }
      if (!acceptNew) {
        check.refusal = `host ${where} is not in known hosts file ${file} (its key is ${found}); add it, e.g. ssh-keyscan -p ${port} ${host} >> ${file} after checking the fingerprint, or use hostKeyPolicy: accept-new`;
        return false;
      }
      if (console && (console.keys.length > 0 || console.fingerprints.length > 0)) {
        const printed = console.keys.some((k) => k.equals(key)) || console.fingerprints.includes(fingerprint(key));
        if (!printed) {
          const listed = [...new Set([...console.keys.map(fingerprint), ...console.fingerprints])].join(', ');
          check.refusal = `host key of ${where} ${found} is not one of those ${console.source} printed (${listed}); refusing to connect`;
          return false;
        }
      }
      pending = key;
      return true;
    },
    ...(types.length > 0 ? { serverHostKey: types.flatMap(algorithmsFor) } : {}),
    async confirm() {
      if (!pending) return;
      const key = pending;
      pending = undefined;
      const previous = appendQueues.get(file) ?? Promise.resolve();
      const next = previous.catch(() => {}).then(async () => {
        // Another connection may have recorded this host meanwhile: record once, and never over a different key.
        const now = (await readKnownHostsFile(file, true)).filter((entry) => entry.marker === undefined && entryMatches(entry, host, port));
        if (now.some((entry) => entry.key.equals(key))) return;
        if (now.length > 0) {
          throw new HostKeyError(`HOST KEY CHANGED for ${where} while connecting: ${file} now lists ${now.map((e) => fingerprint(e.key)).join(' or ')}, the host presented ${fingerprint(key)}`);
        }
        await mkdir(dirname(file), { recursive: true, mode: 0o700 });
        await appendFile(file, `${knownHostsName(host, port)} ${keyType(key)} ${key.toString('base64')}\n`, { mode: 0o600 });
      });
      appendQueues.set(file, next);
      await next;
    },
  };
  return check;
}
