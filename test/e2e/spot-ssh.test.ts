// A Spot pool reached over SSH, end to end through the sandbox (IAM evaluated against
// provisioner-iam): `provisioner sandbox --ssh-instances` gives each EC2 instance a real sshd on a
// loopback private IP; the pool launches through CreateFleet (instant) on Spot, takes each new
// host's key from its console (accept-new), bootstraps it over SSH and brings its agent online; a
// rerun after an `up` killed right after its launch finds the new instances' addresses in EC2's
// listing; `down` removes the agents and terminates the instances, whose sshd then stops answering.
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { alive, converged, counts, Sandbox } from './harness.ts';
import { requireTools } from '../support/sshd.ts';

const started: Sandbox[] = [];
afterAll(async () => { await Promise.all(started.map((s) => s.stop())); });

interface RawInstance { id: string; instanceType: string; lifecycle?: string; privateIp: string; terminatedAt?: number; tags: Array<{ key: string; value: string }> }

function instances(sandbox: Sandbox): RawInstance[] {
  const state = JSON.parse(readFileSync(join(sandbox.dir, 'state', 'state.json'), 'utf8')) as { instances: RawInstance[] };
  return state.instances.filter((i) => i.tags.some((t) => t.key === 'jenkins-fleet:pool' && t.value === 'awsDeploy'));
}

/** Whether an SSH server answers at address:port with its banner. */
function answersSsh(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, address);
    socket.setTimeout(2_000);
    socket.once('data', (d) => { socket.destroy(); resolve(d.toString('latin1').startsWith('SSH-')); });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => { socket.destroy(); resolve(false); });
  });
}

describe('a Spot pool over SSH', () => {
  it('launches on Spot through CreateFleet, bootstraps each instance over SSH with the key its console printed, recovers a killed up, and down terminates them', { timeout: 240_000 }, async () => {
    requireTools();
    const sandbox = new Sandbox(['--boot-delay', '1s', '--ssm-online-delay', '1s', '--seed', '13', '--ssh-instances']);
    started.push(sandbox);
    await sandbox.start();
    const ssh = parse(readFileSync(join(sandbox.dir, 'state', 'ssh-instances.yaml'), 'utf8')) as Record<string, unknown>;
    /** The example's awsDeploy pool alone, on Spot over two types, reached over SSH. */
    const spotOverSsh = (count: number, name?: string) => sandbox.fleet((f) => {
      counts(f, { awsDeploy: count });
      f.pools = f.pools.filter((p: { name: string }) => p.name === 'awsDeploy');
      const pool = f.pools[0] as Record<string, unknown>;
      delete pool.instanceType;
      pool.instanceTypes = ['t3.medium', 'm5.large'];
      pool.capacity = 'spot';
      Object.assign(pool, ssh);
    }, name);
    const config = spotOverSsh(2);

    const up = await sandbox.provisioner(config, ['up', '--yes', '--timeout', '120s']);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(converged(await sandbox.state(), { awsDeploy: 2 })).toEqual([]);
    const launched = instances(sandbox);
    expect(launched.map((i) => i.lifecycle)).toEqual(['spot', 'spot']);
    const calls = sandbox.requests().filter((r) => r.mutating && r.service === 'ec2').map((r) => r.action);
    expect(calls).toContain('CreateFleet');
    expect(calls).not.toContain('RunInstances');
    // Reached over SSH, not through Run Command; each host's key was learnt from its console.
    expect(sandbox.requests().filter((r) => r.action === 'SendCommand')).toEqual([]);
    expect(sandbox.requests().filter((r) => r.action === 'GetConsoleOutput').length).toBeGreaterThanOrEqual(2);
    const known = readFileSync(ssh.knownHostsFile as string, 'utf8');
    for (const instance of launched) {
      expect(await answersSsh(instance.privateIp, ssh.port as number)).toBe(true);
      expect(known).toContain(`[${instance.privateIp}]:${ssh.port}`);
    }

    // The bootstrap ran in each instance's own root, over SSH.
    for (const instance of (await sandbox.state()).instances.filter((i) => i.tags['jenkins-fleet:pool'] === 'awsDeploy')) {
      expect(existsSync(join(instance.root, 'etc/systemd/system/jenkins-agent.service')), instance.id).toBe(true);
    }

    // An up killed right after its launch leaves instances without nodes: the rerun registers and
    // bootstraps them, finding their addresses in EC2's listing (its actions name only the instance).
    const bigger = spotOverSsh(3, 'fleet-3.yaml');
    await sandbox.upKilledAtLaunch(bigger, ['--timeout', '120s']);
    const rerun = await sandbox.provisioner(bigger, ['up', '--yes', '--timeout', '120s']);
    expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
    expect(converged(await sandbox.state(), { awsDeploy: 3 })).toEqual([]);
    expect(instances(sandbox).filter((i) => i.terminatedAt === undefined)).toHaveLength(3);

    const again = await sandbox.provisioner(bigger, ['plan', '--detailed-exitcode']);
    expect(again.code, again.stdout + again.stderr).toBe(0);

    const down = await sandbox.provisioner(bigger, ['down', '--yes', '--timeout', '90s']);
    expect(down.code, down.stdout + down.stderr).toBe(0);
    expect(alive(await sandbox.state())).toEqual([]);
    expect((await sandbox.state()).nodes.filter((n) => n.name.startsWith('awsDeploy-'))).toEqual([]);
    const deadline = Date.now() + 30_000;
    for (const instance of instances(sandbox)) {
      while (await answersSsh(instance.privateIp, ssh.port as number)) {
        if (Date.now() > deadline) throw new Error(`sshd of terminated ${instance.id} still answers`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  });
});
