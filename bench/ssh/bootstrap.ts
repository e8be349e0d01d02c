// How fast the SSH transport bootstraps a pool of static hosts, and what --concurrency buys:
// N real sshd hosts on loopback (the sandbox's ssh-hosts module with test/support/sshd-toolbox's stand-ins), the
// pool's real bootstrap script, one run per concurrency level. Prints one line per level.
//   npx tsx bench/ssh/bootstrap.ts [HOSTS=20] [LEVELS=1,5,10,20]
import { rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { bootstrapValues, renderBootstrap } from '../../provisioner/src/transport/bootstrap.ts';
import { SshTransport, staticHostTargets } from '../../provisioner/src/transport/ssh.ts';
import { startController, startTestHosts, staticFleet } from '../../test/support/sshd.ts';

const count = Number(process.argv[2] ?? 20);
const levels = (process.argv[3] ?? '1,5,10,20').split(',').map(Number);

const hosts = await startTestHosts(count);
const controller = await startController();
try {
  const fleet = staticFleet(controller.url, hosts, { hostKeyPolicy: 'known-hosts', knownHostsFile: hosts.knownHostsFile });
  const pool = fleet.pools[0]!;
  const script = renderBootstrap(bootstrapValues(fleet, pool));
  const targets = staticHostTargets(pool);
  console.log(`SSH bootstrap of ${count} loopback hosts (real sshd, real bootstrap script), ${cpus().length} CPU(s)`);
  for (const concurrency of levels) {
    const transport = new SshTransport({ concurrency });
    for (const target of targets) await transport.storeSecret(target, 'bench-secret');
    const started = performance.now();
    const results = await transport.bootstrap(targets, script, { deadline: Date.now() + 120_000 });
    const seconds = (performance.now() - started) / 1000;
    const failed = results.filter((r) => !r.ok);
    if (failed.length > 0) throw new Error(`${failed.length} bootstrap(s) failed, e.g. ${failed[0]!.error}`);
    console.log(`concurrency ${String(concurrency).padStart(3)}: ${seconds.toFixed(2)} s, ${(count / seconds).toFixed(1)} hosts/s, ${((seconds * 1000) / count).toFixed(0)} ms/host`);
  }
} finally {
  await hosts.stop();
  controller.server.close();
  rmSync(hosts.dir, { recursive: true, force: true });
}
