// The db-users container's script (terraform/modules/app-region/db-users.sh), run as ECS runs it
// (`sh -c <script>`) against a stand-in for the mysql client that records its arguments, its
// stdin and MYSQL_PWD, and answers as a writer or a replica would: it creates the app's and the
// migrator's users with TLS required, changes a password only when the new one does not log in
// yet (keeping the old one for running tasks), grants DML to the app and the schema to the
// migrator, leaves a read-only replica alone, and never puts a password in an argument.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = new URL('../..', import.meta.url).pathname;
const script = readFileSync(join(repoRoot, 'terraform/modules/app-region/db-users.sh'), 'utf8');

const CANARY = {
  master: 'canary-master-7f3a',
  app: 'canary-app-2c9d',
  migrator: 'canary-migrator-41be',
};

let scratch: string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'db-users-'));
  // One line per call: the arguments, the password in the environment, then what came on stdin.
  writeFileSync(
    join(scratch, 'mysql'),
    `#!/bin/bash
input=$(cat)
printf 'ARGV %s\\nPWD %s\\nSQL %s\\n' "$*" "$MYSQL_PWD" "$input" >>"$MYSQL_LOG"
if [ -n "\${FAIL_ON:-}" ] && [[ "$input" == *"$FAIL_ON"* ]]; then echo "ERROR 1396: Operation failed" >&2; exit 1; fi
case "$input" in
  *'@@global.read_only'*) echo "$READ_ONLY" ;;
  'SELECT 1;')
    user=$(printf '%s\\n' "$@" | sed -n 's/^--user=//p')
    case " $LOGS_IN " in *" $user "*) echo 1 ;; *) echo "ERROR 1045: Access denied for user '$user'" >&2; exit 1 ;; esac ;;
esac
`,
  );
  chmodSync(join(scratch, 'mysql'), 0o755);
});

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

interface Call {
  argv: string;
  password: string;
  sql: string;
}

function run(readOnly: boolean, logsIn: string[], label: string, failOn = ''): { status: number | null; output: string; calls: Call[] } {
  const log = join(scratch, `${label}.log`);
  writeFileSync(log, '');
  const result = spawnSync('sh', ['-c', script], {
    encoding: 'utf8',
    env: {
      PATH: `${scratch}:/usr/bin:/bin`,
      MYSQL_LOG: log,
      READ_ONLY: readOnly ? '1' : '0',
      LOGS_IN: logsIn.join(' '),
      FAIL_ON: failOn,
      DB_HOST: 'bank-app-use1-db-g1.example.rds.amazonaws.com',
      DB_PORT: '3306',
      DB_NAME: 'bank',
      MASTER_USERNAME: 'bank_admin',
      MASTER_PASSWORD: CANARY.master,
      APP_DB_USER: 'bank_app',
      APP_DB_PASSWORD: CANARY.app,
      MIGRATOR_DB_USER: 'bank_migrator',
      MIGRATOR_DB_PASSWORD: CANARY.migrator,
    },
  });
  const calls = readFileSync(log, 'utf8')
    .split(/^ARGV /m)
    .filter((c) => c !== '')
    .map((c) => {
      const m = /^(.*)\nPWD (.*)\nSQL ([\s\S]*?)\n?$/.exec(c)!;
      return { argv: m[1]!, password: m[2]!, sql: m[3]! };
    });
  return { status: result.status, output: `${result.stdout}${result.stderr}`, calls };
}

describe('db-users.sh', () => {
  it('leaves a read-only replica alone', () => {
    const { status, output, calls } = run(true, [], 'replica');
    expect(status, output).toBe(0);
    expect(output).toMatch(/read-only \(a replica\)/);
    expect(calls.map((c) => c.sql)).toEqual(['SELECT @@global.read_only;']);
  });

  it('on a writer, creates both users with TLS, sets new passwords keeping the old ones, and grants DML and the schema', () => {
    const { status, output, calls } = run(false, [], 'new');
    expect(status, output).toBe(0);
    const asMaster = calls.filter((c) => c.argv.includes('--user=bank_admin')).map((c) => c.sql);
    expect(asMaster).toEqual([
      'SELECT @@global.read_only;',
      `CREATE USER IF NOT EXISTS 'bank_app'@'%' IDENTIFIED BY '${CANARY.app}' REQUIRE SSL;`,
      `ALTER USER 'bank_app'@'%' IDENTIFIED BY '${CANARY.app}' RETAIN CURRENT PASSWORD;`,
      "GRANT SELECT, INSERT, UPDATE, DELETE ON bank.* TO 'bank_app'@'%';",
      `CREATE USER IF NOT EXISTS 'bank_migrator'@'%' IDENTIFIED BY '${CANARY.migrator}' REQUIRE SSL;`,
      `ALTER USER 'bank_migrator'@'%' IDENTIFIED BY '${CANARY.migrator}' RETAIN CURRENT PASSWORD;`,
      "GRANT ALL PRIVILEGES ON bank.* TO 'bank_migrator'@'%';",
    ]);
    // Every connection asks for TLS; the master's password is only ever the master's.
    expect(calls.every((c) => c.argv.includes('--ssl-mode=REQUIRED'))).toBe(true);
    expect(calls.filter((c) => c.argv.includes('--user=bank_admin')).every((c) => c.password === CANARY.master)).toBe(true);
  });

  it('does not touch a password that already logs in (a second task after a rotation keeps the old one valid)', () => {
    const { status, output, calls } = run(false, ['bank_app', 'bank_migrator'], 'current');
    expect(status, output).toBe(0);
    expect(calls.some((c) => c.sql.startsWith('ALTER USER'))).toBe(false);
    expect(output).toMatch(/bank_app's password is current/);
    // The login test uses the user's own new password, from the environment.
    expect(calls.filter((c) => c.argv.includes('--user=bank_app')).map((c) => c.password)).toEqual([CANARY.app]);
  });

  it('never passes a password as an argument', () => {
    const { calls } = run(false, [], 'argv');
    for (const c of calls) {
      for (const secret of Object.values(CANARY)) expect(c.argv).not.toContain(secret);
    }
  });

  it('fails the task at the first statement MySQL refuses, so the app never starts without its users', () => {
    const { status, output, calls } = run(false, [], 'refused', "CREATE USER IF NOT EXISTS 'bank_app'");
    expect(status).not.toBe(0);
    expect(output).toMatch(/ERROR 1396/);
    expect(calls.some((c) => c.sql.startsWith('GRANT') || c.sql.includes('bank_migrator'))).toBe(false);
  });
});
