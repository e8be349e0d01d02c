import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toolPath } from '../../support/tools.ts';
import { parseFleet } from '../../../provisioner/src/config/load.ts';
import { bootstrapValues, renderBootstrap } from '../../../provisioner/src/transport/bootstrap.ts';
import { readFileSync } from 'node:fs';

const example = readFileSync(new URL('../../../examples/fleet.yaml', import.meta.url), 'utf8');
const fleet = parseFleet(example, 'examples/fleet.yaml');

describe('the bootstrap script', () => {
  for (const pool of fleet.pools) {
    it(`renders for pool ${pool.name} and passes bash -n`, () => {
      const script = renderBootstrap(bootstrapValues(fleet, pool));
      const check = spawnSync('bash', ['-n'], { input: script, encoding: 'utf8' });
      expect(check.stderr).toBe('');
      expect(check.status).toBe(0);
      expect(script).toContain(`POOL='${pool.name}'`);
      expect(script).toContain(`TOOLS='${pool.tools.join(' ')}'`);
      expect(script).toContain("CONTROLLER_URL='https://jenkins.bank.example'");
      expect(script).toContain("PARAMETER_PREFIX='/jenkins-fleet/bank-ci/agents/'");
    });
  }

  it('starts the agent over WebSocket with the secret read from a file, never inline', () => {
    const script = renderBootstrap(bootstrapValues(fleet, fleet.pools[0]!));
    expect(script).toMatch(/-secret @\$secret_file -name \$NAME -webSocket -workDir/);
    expect(script).not.toMatch(/set -x|xtrace/);
    expect(script).toContain('chmod 0600 "$secret_file.new"');
  });

  it('holds no secret: the only way in is the parameter store or a file the transport wrote', () => {
    const script = renderBootstrap(bootstrapValues(fleet, fleet.pools[1]!));
    // The rendered script is a function of the fleet file alone, which holds no token or secret.
    expect(script).not.toMatch(/[0-9a-f]{64}/);
    expect(script).toContain('AWS_RETRY_MODE=adaptive AWS_MAX_ATTEMPTS=10 "$aws_cli" ssm get-parameter --region "$REGION" --with-decryption');
  });

  it('refuses a value that could break out of its quotes', () => {
    const values = { ...bootstrapValues(fleet, fleet.pools[0]!), remoteFS: "/tmp/x'; touch /PWNED; '" };
    expect(() => renderBootstrap(values)).toThrow(/remoteFS .* not allowed/);
  });

  it('gives the agent user the caches of the library steps its pool can run', () => {
    const terraformPool = renderBootstrap(bootstrapValues(fleet, fleet.pools[0]!));
    expect(terraformPool).toContain("CACHE_DIRS='/var/cache/bank-pipeline/venvs /var/cache/bank-pipeline/terraform-plugins'");
    const dockerPool = renderBootstrap(bootstrapValues(fleet, fleet.pools[1]!));
    expect(dockerPool).toContain("CACHE_DIRS='/var/cache/bank-pipeline/venvs'");
  });

  it('refuses a Java older than 21, naming both versions, when no newer one can be installed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bootstrap-java-'));
    try {
      // A host whose package manager installs nothing new and whose only JVM is 17: exactly the
      // commands the script runs up to its Java check, so no JVM or apt-get of this machine answers.
      const path = toolPath(join(dir, 'bin'), ['bash', 'mkdir', 'flock', 'sed'], {
        dnf: 'exit 0',
        java: 'echo \'openjdk version "17.0.15" 2025-04-15 LTS\' >&2',
      });
      const script = renderBootstrap(bootstrapValues(fleet, fleet.pools[0]!));
      const run = spawnSync('bash', ['-s'], {
        input: script, encoding: 'utf8',
        env: { PATH: path, AGENT_INSTALL_ROOT: join(dir, 'root'), AGENT_NAME: 'awsDeploy-i-0123456789abcdef0' },
      });
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(/bootstrap: error: Java 21 or later is needed .*found Java 17 at /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
