// The architecture as lint rules (eslint.config.js): each rule refuses what it forbids, and lets
// the one place it is meant for through.
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: new URL('..', import.meta.url).pathname });

async function problems(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.severity === 2).map((m) => `${m.ruleId}: ${m.message}`);
}

describe('the architecture, as lint rules', () => {
  it.each([
    ['provisioner/src/cli/example.ts', "import { EC2Client } from '@aws-sdk/client-ec2';\nexport const c = EC2Client;\n", 'only the adapter in provisioner/src/aws/ imports @aws-sdk/*'],
    ['provisioner/src/apply/example.ts', "import Jenkins from 'jenkins';\nexport const j = Jenkins;\n", 'only the adapter in provisioner/src/jenkins/ imports jenkins'],
    ['provisioner/src/doctor/example.ts', "import ssh2 from 'ssh2';\nexport const s = ssh2;\n", 'only the adapter in provisioner/src/transport/ssh.ts imports ssh2'],
    ['provisioner/src/transport/ssm.ts', "import { NodeSSH } from 'node-ssh';\nexport const n = NodeSSH;\n", 'only the adapter in provisioner/src/transport/ssh.ts imports node-ssh'],
  ])('refuses an SDK outside its adapter: %s', async (file, code, message) => {
    expect((await problems(file, code)).join('\n')).toContain(message);
  });

  it('lets each adapter import its own SDK', async () => {
    expect(await problems('provisioner/src/aws/example.ts', "import { EC2Client } from '@aws-sdk/client-ec2';\nexport const c = EC2Client;\n")).toEqual([]);
    expect(await problems('provisioner/src/jenkins/example.ts', "import Jenkins from 'jenkins';\nexport const j = Jenkins;\n")).toEqual([]);
    expect(await problems('provisioner/src/transport/ssh.ts', "import ssh2 from 'ssh2';\nimport { NodeSSH } from 'node-ssh';\nexport const s = [ssh2, NodeSSH];\n")).toEqual([]);
  });

  it.each([
    ["import { readFileSync } from 'node:fs';\nexport const r = readFileSync;\n", 'plan/ is pure'],
    ["import { Ec2Compute } from '../aws/ec2.ts';\nexport const e = Ec2Compute;\n", 'plan/ is pure'],
    ["import { applyPlan } from '../apply/apply.ts';\nexport const a = applyPlan;\n", 'plan/ is pure'],
    ["import { loadFleet } from '../config/load.ts';\nexport const l = loadFleet;\n", 'plan/ is pure'],
  ])('keeps the planner free of I/O: %s', async (code, message) => {
    expect((await problems('provisioner/src/plan/example.ts', code)).join('\n')).toContain(message);
  });

  it('lets the planner use the model, the schema and hashing', async () => {
    expect(await problems('provisioner/src/plan/example.ts', "import { createHash } from 'node:crypto';\nimport { isStaticPool } from '../config/schema.ts';\nimport { agentName } from '../model.ts';\nexport const x = [createHash, isStaticPool, agentName];\n")).toEqual([]);
  });

  it.each([
    ['provisioner/src/cli/example.ts', "import { startSandbox } from '../../sandbox/src/server.ts';\nexport const s = startSandbox;\n"],
    ['provisioner/src/apply/example.ts', "import { startSandbox } from '@jenkins-fleet/sandbox/server';\nexport const s = startSandbox;\n"],
    ['provisioner/src/cli/example.ts', "export const s = () => import('@jenkins-fleet/sandbox/command');\n"],
    ['provisioner/src/jenkins/example.ts', "export const s = () => import('../../sandbox/src/server.ts');\n"],
    ['provisioner/src/cli/sandbox.ts', "import { sandboxCommand } from '@jenkins-fleet/sandbox/command';\nexport const s = sandboxCommand;\n"],
  ])('refuses the sandbox anywhere in the product, import() included: %s', async (file, code) => {
    expect((await problems(file, code)).join('\n')).toContain('the product never imports the sandbox');
  });

  it('lets only cli/sandbox.ts hand `provisioner sandbox` to the sandbox package, by import()', async () => {
    expect(await problems('provisioner/src/cli/sandbox.ts', "export const s = () => import('@jenkins-fleet/sandbox/command');\n")).toEqual([]);
  });

  it("refuses the jenkins client's private members in the adapter", async () => {
    const code = 'export class C {\n  client = { _get: (x: string) => x };\n  read() {\n    return this.client._get("/computer/x/jenkins-agent.jnlp");\n  }\n}\n';
    expect((await problems('provisioner/src/jenkins/example.ts', code)).join('\n')).toContain("the jenkins client's private members are not its API");
  });
});
