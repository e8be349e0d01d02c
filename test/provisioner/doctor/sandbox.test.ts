// The live controller check of `doctor` against the sandbox's Jenkins stand-in, the same way the
// provisioner reaches a controller (JENKINS_URL, JENKINS_USER, JENKINS_API_TOKEN).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkController } from '../../../provisioner/src/doctor/live.ts';
import { jenkinsVersion } from '../../../provisioner/sandbox/src/jenkins.ts';
import { readRepository } from '../../../provisioner/src/doctor/repository.ts';
import { startHarness, type Harness } from '../../support/sandbox.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

async function check(user: string, token: string, url = h.sandbox.env.JENKINS_URL!) {
  const env = { JENKINS_URL: url, JENKINS_USER: user, JENKINS_API_TOKEN: token };
  return checkController(await readRepository(root, join(root, 'fleet.yaml'), env), env);
}

const nodesNow = async () => ((await (await fetch(`${h.sandbox.url}/_sandbox/state`)).json()) as { nodes: { name: string }[] }).nodes;
const userOf = (name: string) => h.sandbox.sandbox.store.world.users.find((u) => u.name === name)!;

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

  it('names more than the provisioner needs when run as the administrator', async () => {
    const result = await check('admin', userOf('admin').token);
    expect(result.problems).toEqual([
      'admin can read jobs (bank-app, sandbox-build): Job/Read is more than the provisioner needs',
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

describe("doctor's live check when a pool of the fleet follows the queue (has max)", () => {
  let scaled: Harness;
  let fleetFile: string;
  beforeAll(async () => {
    scaled = await startHarness((o) => { o.serviceJobRead = true; });
    fleetFile = join(scaled.dir, 'fleet.yaml');
    writeFileSync(fleetFile, readFileSync(join(root, 'fleet.yaml'), 'utf8').replace(/(  - name: pullRequests\n)    count: 1\n/, '$1    min: 0\n    max: 4\n    ephemeral: true\n'));
  });
  afterAll(async () => {
    await scaled?.stop();
  });

  const checkScaled = async (user: string, token: string, url = scaled.sandbox.env.JENKINS_URL!) => {
    const env = { JENKINS_URL: url, JENKINS_USER: user, JENKINS_API_TOKEN: token };
    return checkController(await readRepository(root, fleetFile, env), env);
  };

  it('finds no problem with a service account that has Job/Read', async () => {
    expect((await checkScaled(scaled.sandbox.env.JENKINS_USER!, scaled.sandbox.env.JENKINS_API_TOKEN!)).problems).toEqual([]);
  });

  it('names the missing Job/Read of an account that sees no job', async () => {
    // The other sandbox's service account has exactly the six agent permissions.
    const result = await checkScaled('provisioner', userOf('provisioner').token, h.sandbox.env.JENKINS_URL!);
    expect(result.problems).toContain('provisioner sees no job: it lacks Job/Read, without which watch sees an empty build queue and never scales pullRequests up');
  });
});
