// The live controller check of `doctor` against the sandbox's Jenkins stand-in, the same way the
// provisioner reaches a controller (JENKINS_URL, JENKINS_USER, JENKINS_API_TOKEN).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkController } from '../../provisioner/src/doctor/live.ts';
import { jenkinsVersion } from '../../provisioner/src/sandbox/jenkins.ts';
import { readRepository } from '../../provisioner/src/doctor/repository.ts';
import { startHarness, type Harness } from '../sandbox/harness.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

async function check(user: string, token: string) {
  const env = { JENKINS_URL: h.sandbox.env.JENKINS_URL, JENKINS_USER: user, JENKINS_API_TOKEN: token };
  return checkController(await readRepository(root, join(root, 'fleet.yaml'), env), env);
}

const nodesNow = async () => ((await (await fetch(`${h.sandbox.url}/_sandbox/state`)).json()) as { nodes: { name: string }[] }).nodes;

describe("doctor's live check against the sandbox's Jenkins", () => {
  it('reads the version and names the agent permission a read-only account lacks', async () => {
    const reader = h.sandbox.sandbox.store.world.users.find((u) => u.name === 'reader')!;
    const result = await check('reader', reader.token);
    // The sandbox's controller runs the version jenkins/Dockerfile pins, as the real one would.
    expect(result.notes).toContain(`Jenkins ${jenkinsVersion}`);
    expect(jenkinsVersion).toBe(/^FROM jenkins\/jenkins:([0-9.]+)-/m.exec(readFileSync(join(root, 'jenkins/Dockerfile'), 'utf8'))![1]);
    expect(result.problems).toContainEqual(
      expect.stringMatching(/^reader lacks Agent\/Create: creating the probe node doctor-probe-[0-9a-f]{8} was refused \(403\); the provisioner needs it$/),
    );
    expect(await nodesNow()).toEqual([]);
  });

  it('exercises create, connect, disconnect and delete on a probe node it leaves no trace of', async () => {
    const result = await check(h.sandbox.env.JENKINS_USER!, h.sandbox.env.JENKINS_API_TOKEN!);
    const exercised = result.notes.find((n) => n.startsWith('exercised '));
    for (const permission of ['Agent/Create', 'Agent/Connect', 'Agent/Disconnect', 'Agent/Delete']) expect(exercised).toContain(permission);
    expect(result.problems.some((p) => p.includes('is left on the controller'))).toBe(false);
    expect(await nodesNow()).toEqual([]);
  });

  it('names a refused token', async () => {
    const result = await check('admin', 'not-the-token');
    expect(result.problems).toEqual([`Jenkins at ${h.sandbox.env.JENKINS_URL} refuses admin's API token (401): check JENKINS_USER and JENKINS_API_TOKEN`]);
  });
});
