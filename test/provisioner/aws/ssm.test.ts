import {
  DeleteParameterCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  DescribeParametersCommand,
  ListCommandInvocationsCommand,
  PutParameterCommand,
  SendCommandCommand,
  SSMClient,
  SSMServiceException,
  type CommandInvocation,
  type SendCommandCommandInput,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { scriptLines, SsmParameters, SsmRunCommand } from '../../../provisioner/src/aws/ssm.ts';
import { RemoteError } from '../../../provisioner/src/errors.ts';

const ssm = mockClient(SSMClient);
afterAll(() => ssm.restore());

beforeEach(() => {
  for (const name of ['AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_EC2', 'AWS_ENDPOINT_URL_SSM']) vi.stubEnv(name, '');
  ssm.reset();
});

function awsError(name: string, message: string, status = 400) {
  return new SSMServiceException({ name, message, $fault: 'client', $metadata: { httpStatusCode: status, attempts: 1 } });
}

const ids = (n: number, from = 0) => Array.from({ length: n }, (_, k) => `i-${(from + k).toString(16).padStart(17, '0')}`);
const secret = 'd6f1c2e0b5a94c3f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a392817';

describe('SsmParameters', () => {
  it('stores a secret as an overwritable SecureString, with the KMS key when one is given', async () => {
    ssm.on(PutParameterCommand).resolves({ Version: 1 });
    const parameters = new SsmParameters('us-east-1');
    await parameters.putSecret('/jenkins-fleet/bank-ci/agents/i-0123456789abcdef0/secret', secret);
    await parameters.putSecret('/jenkins-fleet/bank-ci/agents/i-0123456789abcdef1/secret', secret, 'alias/jenkins-fleet');
    const inputs = ssm.commandCalls(PutParameterCommand).map((c) => c.args[0].input);
    expect(inputs).toEqual([
      { Name: '/jenkins-fleet/bank-ci/agents/i-0123456789abcdef0/secret', Value: secret, Type: 'SecureString', Overwrite: true },
      { Name: '/jenkins-fleet/bank-ci/agents/i-0123456789abcdef1/secret', Value: secret, Type: 'SecureString', Overwrite: true, KeyId: 'alias/jenkins-fleet' },
    ]);
  });

  it('never repeats the secret in an error, even when SSM quotes it back', async () => {
    ssm.on(PutParameterCommand).rejects(
      awsError('ValidationException', `1 validation error detected: Value '${secret}' at 'value' failed to satisfy constraint`),
    );
    const error = await new SsmParameters('us-east-1').putSecret('/jenkins-fleet/bank-ci/agents/i-0123456789abcdef0/secret', secret).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    const text = `${(error as Error).message} ${JSON.stringify((error as Error).cause)} ${String((error as Error).stack)}`;
    expect(text).not.toContain(secret);
    expect((error as Error).message).toBe(
      "storing the secret parameter /jenkins-fleet/bank-ci/agents/i-0123456789abcdef0/secret: SSM at https://ssm.us-east-1.amazonaws.com answered 400 ValidationException: 1 validation error detected: Value '***' at 'value' failed to satisfy constraint",
    );
  });

  it('deletes a parameter and takes a missing one as already deleted', async () => {
    ssm.on(DeleteParameterCommand).rejectsOnce(awsError('ParameterNotFound', 'Parameter not found')).resolves({});
    const parameters = new SsmParameters('us-east-1');
    await parameters.deleteSecret('/jenkins-fleet/bank-ci/agents/i-0123456789abcdef0/secret');
    await parameters.deleteSecret('/jenkins-fleet/bank-ci/agents/i-0123456789abcdef1/secret');
    expect(ssm.commandCalls(DeleteParameterCommand)).toHaveLength(2);
  });

  it('fails on any other deletion error', async () => {
    ssm.on(DeleteParameterCommand).rejects(awsError('AccessDeniedException', 'not authorized to perform: ssm:DeleteParameter'));
    await expect(new SsmParameters('us-east-1').deleteSecret('/x/y')).rejects.toThrow('deleting the secret parameter /x/y: SSM at https://ssm.us-east-1.amazonaws.com answered 400 AccessDeniedException');
  });

  it('lists names under a prefix recursively through every page, 50 a page, never reading values', async () => {
    ssm
      .on(DescribeParametersCommand)
      .resolvesOnce({ Parameters: [{ Name: '/jenkins-fleet/bank-ci/agents/i-0000000000000001/secret' }], NextToken: 't2' })
      .resolvesOnce({ Parameters: [{ Name: '/jenkins-fleet/bank-ci/agents/i-0000000000000002/secret' }] });
    const names = await new SsmParameters('us-east-1').listNames('/jenkins-fleet/bank-ci/agents/');
    expect(names).toEqual(['/jenkins-fleet/bank-ci/agents/i-0000000000000001/secret', '/jenkins-fleet/bank-ci/agents/i-0000000000000002/secret']);
    const inputs = ssm.commandCalls(DescribeParametersCommand).map((c) => c.args[0].input);
    const filter = [{ Key: 'Path', Option: 'Recursive', Values: ['/jenkins-fleet/bank-ci/agents'] }];
    expect(inputs).toEqual([
      { ParameterFilters: filter, MaxResults: 50, NextToken: undefined },
      { ParameterFilters: filter, MaxResults: 50, NextToken: 't2' },
    ]);
  });
});

describe('SsmRunCommand.managedOnline', () => {
  it('asks by the fleet\'s tag and Online, never by ids, follows pages, and keeps only the ids asked about', async () => {
    const all = ids(120);
    ssm.on(DescribeInstanceInformationCommand).callsFake((input: { NextToken?: string }) => {
      if (!input.NextToken) return { InstanceInformationList: all.slice(0, 50).map((id) => ({ InstanceId: id, PingStatus: 'Online' })), NextToken: 'more' };
      return { InstanceInformationList: [...all.slice(50, 60).map((id) => ({ InstanceId: id, PingStatus: 'Online' })), { InstanceId: 'i-0fffffffffffffff0', PingStatus: 'Online' }] };
    });
    const online = await new SsmRunCommand('us-east-1').managedOnline('bank-ci', all);
    expect([...online].sort()).toEqual(all.slice(0, 60).sort());
    const inputs = ssm.commandCalls(DescribeInstanceInformationCommand).map((c) => c.args[0].input);
    expect(inputs).toEqual([
      { Filters: [{ Key: 'tag:jenkins-fleet:fleet', Values: ['bank-ci'] }, { Key: 'PingStatus', Values: ['Online'] }], MaxResults: 50 },
      { Filters: [{ Key: 'tag:jenkins-fleet:fleet', Values: ['bank-ci'] }, { Key: 'PingStatus', Values: ['Online'] }], MaxResults: 50, NextToken: 'more' },
    ]);
    expect(inputs.some((i) => i.Filters?.some((f) => f.Key === 'InstanceIds'))).toBe(false);
  });
});

function invocation(instanceId: string, status: string, extra: Partial<CommandInvocation> = {}): CommandInvocation {
  return { InstanceId: instanceId, Status: status as CommandInvocation['Status'], StatusDetails: status, ...extra };
}

describe('SsmRunCommand.runScript', () => {
  const script = '#!/bin/bash\nset -euo pipefail\necho "bootstrapping $AWS_SSM_INSTANCE_ID"\n';

  it('sends AWS-RunShellScript to at most 50 instances per call, the script as its lines', async () => {
    const all = ids(120);
    let n = 0;
    ssm.on(SendCommandCommand).callsFake(() => ({ Command: { CommandId: `cmd-${++n}` } }));
    ssm.on(ListCommandInvocationsCommand).callsFake((input: { CommandId: string }) => {
      const k = Number(input.CommandId.slice(4)) - 1;
      return { CommandInvocations: all.slice(k * 50, k * 50 + 50).map((id) => invocation(id, 'Success', { CommandPlugins: [{ Name: 'aws:runShellScript', ResponseCode: 0, Output: 'ok\n' }] })) };
    });
    const results = await new SsmRunCommand('us-east-1', { pollIntervalMs: 1 }).runScript(all, script, { fleet: 'bank-ci', comment: 'jenkins-fleet bootstrap bank-ci awsDeploy', timeoutSeconds: 900 });

    const sends = ssm.commandCalls(SendCommandCommand).map((c) => c.args[0].input as SendCommandCommandInput);
    expect(sends.map((s) => s.InstanceIds?.length)).toEqual([50, 50, 20]);
    expect(sends[0]).toEqual({
      DocumentName: 'AWS-RunShellScript',
      InstanceIds: all.slice(0, 50),
      Parameters: { commands: ['#!/bin/bash', 'set -euo pipefail', 'echo "bootstrapping $AWS_SSM_INSTANCE_ID"'], executionTimeout: ['900'] },
      TimeoutSeconds: 900,
      Comment: 'jenkins-fleet bootstrap bank-ci awsDeploy',
      // Every host runs, however many fail (SSM's default MaxErrors 0 would cancel the rest).
      MaxConcurrency: '50',
      MaxErrors: '100%',
    });
    expect(results).toHaveLength(120);
    expect(results.every((r) => r.status === 'Success' && r.exitCode === 0 && r.stdout === 'ok\n')).toBe(true);
    expect(results.map((r) => r.instanceId)).toEqual(all);
  });

  it('keeps the agent\'s own way of joining lines: the lines joined by newlines give the script back', () => {
    expect(scriptLines(script).join('\n') + '\n').toBe(script);
    expect(scriptLines('echo one\r\necho two')).toEqual(['echo one', 'echo two']);
  });

  it('polls each command once per round, paging, until every invocation has ended', async () => {
    const all = ids(3);
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-1' } });
    const rounds = [
      // Round 1: not listed yet (eventual consistency).
      [{ CommandInvocations: [] }],
      // Round 2: two pages, still running.
      [
        { CommandInvocations: [invocation(all[0]!, 'InProgress'), invocation(all[1]!, 'Pending')], NextToken: 'p2' },
        { CommandInvocations: [invocation(all[2]!, 'Delayed')] },
      ],
      // Round 3: two ended, one still running.
      [
        {
          CommandInvocations: [
            invocation(all[0]!, 'Success', { CommandPlugins: [{ ResponseCode: 0, Output: 'done\n' }] }),
            invocation(all[1]!, 'Failed', { CommandPlugins: [{ ResponseCode: 3, Output: `head\n----------ERROR-------\nE: Unable to locate package terraform` }] }),
          ],
          NextToken: 'p2',
        },
        { CommandInvocations: [invocation(all[2]!, 'InProgress')] },
      ],
      // Round 4: the last one timed out.
      [{ CommandInvocations: [invocation(all[2]!, 'TimedOut', { StatusDetails: 'ExecutionTimedOut', CommandPlugins: [{ ResponseCode: -1, Output: '' }] })] }],
    ];
    let round = -1;
    let page = 0;
    ssm.on(ListCommandInvocationsCommand).callsFake((input: { NextToken?: string }) => {
      if (!input.NextToken) {
        round++;
        page = 0;
      } else page++;
      return rounds[round]![page];
    });
    const longStderr = `${'x'.repeat(6000)}\nE: Unable to locate package terraform`;
    ssm.on(GetCommandInvocationCommand, { InstanceId: all[1] }).resolves({ StandardOutputContent: 'head\n', StandardErrorContent: longStderr, ResponseCode: 3 });
    ssm.on(GetCommandInvocationCommand, { InstanceId: all[2] }).resolves({ StandardOutputContent: 'installing java', StandardErrorContent: '', ResponseCode: -1 });

    const results = await new SsmRunCommand('us-east-1', { pollIntervalMs: 1 }).runScript(all, script, { fleet: 'bank-ci', comment: 'bootstrap', timeoutSeconds: 600 });
    const lists = ssm.commandCalls(ListCommandInvocationsCommand).map((c) => c.args[0].input);
    expect(lists).toHaveLength(6);
    expect(lists.every((i) => i.CommandId === 'cmd-1' && i.Details === true)).toBe(true);
    expect(results[0]).toEqual({ instanceId: all[0], status: 'Success', exitCode: 0, stdout: 'done\n', stderr: '' });
    expect(results[1]!.status).toBe('Failed');
    expect(results[1]!.exitCode).toBe(3);
    expect(results[1]!.stderr).toHaveLength(4000);
    expect(results[1]!.stderr.endsWith('E: Unable to locate package terraform')).toBe(true);
    expect(results[2]).toEqual({ instanceId: all[2], status: 'TimedOut', stdout: 'installing java', stderr: '' });
    // Full output only for the invocations that did not succeed.
    expect(ssm.commandCalls(GetCommandInvocationCommand).map((c) => c.args[0].input.InstanceId).sort()).toEqual([all[1], all[2]].sort());
  });

  it('reports an instance whose agent dropped as Undeliverable and runs on the others', async () => {
    const all = ids(3);
    const dead = all[1]!;
    ssm.on(SendCommandCommand).callsFake((input: SendCommandCommandInput) => {
      if (input.InstanceIds?.includes(dead)) throw awsError('InvalidInstanceId', 'Instances not in a valid state for account');
      return { Command: { CommandId: 'cmd-ok' } };
    });
    ssm.on(DescribeInstanceInformationCommand).resolves({
      InstanceInformationList: [
        { InstanceId: all[0], PingStatus: 'Online' },
        { InstanceId: dead, PingStatus: 'ConnectionLost' },
        { InstanceId: all[2], PingStatus: 'Online' },
      ],
    });
    ssm.on(ListCommandInvocationsCommand).resolves({
      CommandInvocations: [all[0]!, all[2]!].map((id) => invocation(id, 'Success', { CommandPlugins: [{ ResponseCode: 0, Output: '' }] })),
    });
    const results = await new SsmRunCommand('us-east-1', { pollIntervalMs: 1 }).runScript(all, script, { fleet: 'bank-ci', comment: 'bootstrap', timeoutSeconds: 600 });
    expect(results.map((r) => [r.instanceId, r.status])).toEqual([
      [all[0], 'Success'],
      [dead, 'Undeliverable'],
      [all[2], 'Success'],
    ]);
    expect(results[1]!.stderr).toBe('the SSM agent is not online');
    expect(ssm.commandCalls(SendCommandCommand).map((c) => c.args[0].input.InstanceIds)).toEqual([all, [all[0], all[2]]]);
  });

  it('finds the one refused instance by itself when SSM calls them all online', async () => {
    const all = ids(2);
    ssm.on(SendCommandCommand).callsFake((input: SendCommandCommandInput) => {
      if (input.InstanceIds?.includes(all[0]!)) throw awsError('InvalidInstanceId', 'Instances not in a valid state');
      return { Command: { CommandId: 'cmd-2' } };
    });
    ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: all.map((id) => ({ InstanceId: id, PingStatus: 'Online' })) });
    ssm.on(ListCommandInvocationsCommand).resolves({ CommandInvocations: [invocation(all[1]!, 'Success', { CommandPlugins: [{ ResponseCode: 0 }] })] });
    const results = await new SsmRunCommand('us-east-1', { pollIntervalMs: 1 }).runScript(all, script, { fleet: 'bank-ci', comment: 'bootstrap', timeoutSeconds: 60 });
    expect(results.map((r) => r.status)).toEqual(['Undeliverable', 'Success']);
  });

  it('takes Undeliverable and the other final details SSM reports for an invocation', async () => {
    const all = ids(2);
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-3' } });
    ssm.on(ListCommandInvocationsCommand).resolves({
      CommandInvocations: [
        invocation(all[0]!, 'Failed', { StatusDetails: 'Undeliverable', CommandPlugins: [{ ResponseCode: -1 }] }),
        invocation(all[1]!, 'Failed', { StatusDetails: 'AccessDenied' }),
      ],
    });
    const results = await new SsmRunCommand('us-east-1', { pollIntervalMs: 1 }).runScript(all, script, { fleet: 'bank-ci', comment: 'bootstrap', timeoutSeconds: 60 });
    expect(results).toEqual([
      { instanceId: all[0], status: 'Undeliverable', stdout: '', stderr: '' },
      { instanceId: all[1], status: 'AccessDenied', stdout: '', stderr: '' },
    ]);
  });

  it('gives up polling at the deadline and says so per instance', async () => {
    const all = ids(1);
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-4' } });
    ssm.on(ListCommandInvocationsCommand).resolves({ CommandInvocations: [invocation(all[0]!, 'InProgress')] });
    const results = await new SsmRunCommand('us-east-1', { pollIntervalMs: 5, maxWaitMs: 40 }).runScript(all, script, { fleet: 'bank-ci', comment: 'bootstrap', timeoutSeconds: 60 });
    expect(results).toEqual([{ instanceId: all[0], status: 'TimedOut', stdout: '', stderr: 'SSM reported no end of the command within 0 s' }]);
  });

  it('fails as a whole only for errors that are not about one instance', async () => {
    ssm.on(SendCommandCommand).rejects(awsError('AccessDeniedException', 'User is not authorized to perform: ssm:SendCommand'));
    await expect(new SsmRunCommand('us-east-1').runScript(ids(2), script, { fleet: 'bank-ci', comment: 'bootstrap', timeoutSeconds: 60 })).rejects.toThrow(
      'sending "bootstrap" to i-00000000000000000, i-00000000000000001: SSM at https://ssm.us-east-1.amazonaws.com answered 400 AccessDeniedException',
    );
  });
});
