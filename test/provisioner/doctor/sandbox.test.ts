// The live controller check of `doctor` against the sandbox's Jenkins stand-in, the same way the
// provisioner reaches a controller (JENKINS_URL, JENKINS_USER, JENKINS_API_TOKEN).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkController } from '../../../provisioner/src/doctor/live.ts';
import { jenkinsVersion } from '../../../provisioner/sandbox/src/jenkins.ts';
import { readRepository } from '../../../provisioner/src/doctor/repository.ts';
import { withoutScaledPools } from '../../support/fleet.ts';
import { startHarness, type Harness } from '../../support/sandbox.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const repositoryFleet = join(root, 'fleet.yaml');
let h: Harness;

beforeAll(async () => {
  // The repository's fleet.yaml scales pullRequests with the build queue, so jenkins/casc.yaml gives
  // the service account Job/Read; this sandbox's does too (`sandbox --fleet` decides it the same way).
  h = await startHarness((o) => { o.serviceJobRead = true; });
});
afterAll(async () => {
  await h?.stop();
});

async function check(user: string, token: string, url = h.sandbox.env.JENKINS_URL!, fleetFile = repositoryFleet) {
  const env = { JENKINS_URL: url, JENKINS_USER: user, JENKINS_API_TOKEN: token };
  return checkController(await readRepository(root, fleetFile, env), env);
}

const nodesNow = async () => ((await (await fetch(`${h.sandbox.url}/_sandbox/state`)).json()) as { nodes: { name: string }[] }).nodes;
const userOf = (name: string, harness = h) => harness.sandbox.sandbox.store.world.users.find((u) => u.name === name)!;

describe("doctor's live check against the sandbox's Jenkins", () => {
  it('finds no problem at all with the sandbox as the provisioner reaches it (its service account and token)', async () => {
    expect(h.sandbox.env.JENKINS_USER).toBe('provisioner');
    const result = await check(h.sandbox.env.JENKINS_USER!, h.sandbox.env.JENKINS_API_TOKEN!);
    expect(result.problems).toEqual([]);
    expect(result.notes).toContain('exercised Agent/Create, Agent/Configure, Agent/Connect, Agent/Disconnect, Agent/Delete');
    expect(await nodesNow()).toEqual([]);
  });

  it('joins its paths onto a controller URL given without the trailing slash', async () => {
    const result = await check(h.sandbox.env.JENKINS_USER!, h.sandbox.env.JENKINS_API_TOKEN!, h.sandbox.env.JENKINS_URL!.replace(/\/$/, ''));
    expect(result.problems).toEqual([]);
    expect(result.notes[0]).toBe(`${h.sandbox.env.JENKINS_URL} as provisioner`);
  });

  it('reads the version and names the agent permission a read-only account lacks', async () => {
    const reader = userOf('reader');
    const result = await check('reader', reader.token);
    // The sandbox's controller runs the version jenkins/Dockerfile pins, as the real one would.
    expect(result.notes).toContain(`Jenkins ${jenkinsVersion}`);
    expect(jenkinsVersion).toBe(/^FROM jenkins\/jenkins:([0-9.]+)-/m.exec(readFileSync(join(root, 'jenkins/Dockerfile'), 'utf8'))![1]);
    expect(result.problems).toContainEqual(
      expect.stringMatching(/^reader lacks Agent\/Create: creating the probe node doctor-probe-[0-9a-f]{8} was refused \(403\); the provisioner needs it$/),
    );
    expect(await nodesNow()).toEqual([]);
  });

  it('names more than the provisioner needs when run as the administrator: the script console (reading jobs watch needs)', async () => {
    const result = await check('admin', userOf('admin').token);
    expect(result.problems).toEqual([
      'admin can open the script console (Overall/Administer): more than the provisioner needs',
    ]);
  });

  it('says a password is a password, not that the account lacks Agent/Create', async () => {
    const result = await check('provisioner', userOf('provisioner').password);
    expect(result.problems).toEqual([
      expect.stringMatching(/^the secret given for provisioner is a password, not an API token: Jenkins refused creating the probe node doctor-probe-[0-9a-f]{8} for want of a CSRF crumb, which it asks only of requests not made with an API token; create an API token for provisioner \(user menu, Security, API Token\) and set JENKINS_API_TOKEN \(or controller.tokenFile\) to it$/),
    ]);
    expect(result.problems.join('\n')).not.toContain('lacks');
    expect(await nodesNow()).toEqual([]);
  });

  it('names a refused token', async () => {
    const result = await check('admin', 'not-the-token');
    expect(result.problems).toEqual([`Jenkins at ${h.sandbox.env.JENKINS_URL} refuses admin's API token (401): check JENKINS_USER and JENKINS_API_TOKEN`]);
  });
});

describe("doctor's live check when no pool of the fleet follows the queue (none has max)", () => {
  let fixed: Harness;
  let fixedFleet: string;
  beforeAll(async () => {
    // The sandbox's default service account: exactly the six agent permissions, no Job/Read.
    fixed = await startHarness();
    fixedFleet = join(fixed.dir, 'fleet.yaml');
    writeFileSync(fixedFleet, withoutScaledPools(readFileSync(repositoryFleet, 'utf8')));
  });
  afterAll(async () => {
    await fixed?.stop();
  });

  const checkFixed = (user: string, token: string, fleetFile = fixedFleet) => check(user, token, fixed.sandbox.env.JENKINS_URL!, fleetFile);

  it('finds no problem with a service account that has only the agent permissions', async () => {
    expect((await checkFixed(fixed.sandbox.env.JENKINS_USER!, fixed.sandbox.env.JENKINS_API_TOKEN!)).problems).toEqual([]);
  });

  it('names reading jobs as more than the provisioner needs, beside the script console, when run as the administrator', async () => {
    expect((await checkFixed('admin', userOf('admin', fixed).token)).problems).toEqual([
      'admin can read jobs (bank-app, sandbox-build): Job/Read is more than the provisioner needs',
      'admin can open the script console (Overall/Administer): more than the provisioner needs',
    ]);
  });

  it("names the missing Job/Read of an account that sees no job once the repository's fleet scales a pool", async () => {
    const result = await checkFixed('provisioner', userOf('provisioner', fixed).token, repositoryFleet);
    expect(result.problems).toContain('provisioner sees no job: it lacks Job/Read, without which watch sees an empty build queue and never scales pullRequests up');
  });
});
