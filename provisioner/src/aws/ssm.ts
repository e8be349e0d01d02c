// SSM for one region: Parameter Store, where agents' secrets live, and Run Command, which carries
// the bootstrap to the instances. Owns the per-call limits, paging, and the polling of command
// invocations to their end; keeps secret values out of every message it produces.
import type { CommandInvocation, SSMClient } from '@aws-sdk/client-ssm';
import { Tags } from '../model.ts';
import type { CommandResult, CommandStatus, Parameters, RunCommand } from '../ports.ts';
import { awsErrorCode, awsRemoteError, describeIds, inGroupsOf, ssmClient } from './clients.ts';
import { ssmSdk } from './sdk.ts';

const { AddTagsToResourceCommand, DeleteParameterCommand, DescribeInstanceInformationCommand, GetCommandInvocationCommand, DescribeParametersCommand, ListCommandInvocationsCommand, PutParameterCommand, SendCommandCommand } = ssmSdk;

export type RunScriptOptions = { fleet: string; comment: string; timeoutSeconds: number };

/** SendCommand accepts at most 50 InstanceIds. */
export const instancesPerCommand = 50;
/** DescribeInstanceInformation pages hold 5..50 entries; ListCommandInvocations 1..50. */
const pageSize = 50;
/**
 * DescribeParameters pages hold up to 50 names (GetParametersByPath only 10, and it reads values):
 * a 500-agent fleet is listed in 10 calls.
 */
const parametersPerPage = 50;
/** SendCommand's Comment is at most 100 characters. */
const commentLength = 100;
/** SendCommand's TimeoutSeconds (time to deliver) must be at least 30. */
const minimumDeliverySeconds = 30;
/** Standard-tier SecureString values hold at most 4 KiB. */
const secretLength = 4096;
/** How much of each stream a result keeps: the end, where a failing script says why. */
const tailLength = 4000;

/** The agent's separator between stdout and stderr in a plugin's combined Output. */
const agentErrorTitle = '\n----------ERROR-------\n';

export class SsmParameters implements Parameters {
  private readonly ssm: SSMClient;

  constructor(readonly region: string, client?: SSMClient) {
    this.ssm = client ?? ssmClient(region);
  }

  async putSecret(name: string, value: string, kmsKeyId?: string, reader?: string): Promise<void> {
    if (value.length === 0 || value.length > secretLength) {
      throw new Error(`secret for ${name}: expected 1 to ${secretLength} characters, found ${value.length}`);
    }
    const put = (overwrite: boolean) => this.ssm.send(
      new PutParameterCommand({
        Name: name,
        Value: value,
        Type: 'SecureString',
        ...(kmsKeyId ? { KeyId: kmsKeyId } : {}),
        // Parameter Store takes Tags only when it creates the parameter (not with Overwrite).
        ...(overwrite ? { Overwrite: true } : reader ? { Tags: [{ Key: Tags.reader, Value: reader }] } : {}),
      }),
    );
    try {
      if (!reader) {
        await put(true);
        return;
      }
      try {
        await put(false);
      } catch (err) {
        if (awsErrorCode(err) !== 'ParameterAlreadyExists') throw err;
        // A second store (a repair, or a run after a crash): overwrite, then make sure of the tag,
        // which an older parameter may lack.
        await put(true);
        await this.ssm.send(new AddTagsToResourceCommand({ ResourceType: 'Parameter', ResourceId: name, Tags: [{ Key: Tags.reader, Value: reader }] }));
      }
    } catch (err) {
      // Validation messages can quote the request back: never let the value through.
      throw awsRemoteError(`storing the secret parameter ${name}`, 'SSM', this.region, redacted(err, value));
    }
  }

  async deleteSecret(name: string): Promise<void> {
    try {
      await this.ssm.send(new DeleteParameterCommand({ Name: name }));
    } catch (err) {
      if (awsErrorCode(err) === 'ParameterNotFound') return;
      throw awsRemoteError(`deleting the secret parameter ${name}`, 'SSM', this.region, err);
    }
  }

  async listNames(prefix: string): Promise<string[]> {
    // The path is a hierarchy ("/a/b"); a trailing slash is not part of it.
    const path = prefix.length > 1 ? prefix.replace(/\/+$/, '') : prefix;
    const names: string[] = [];
    let nextToken: string | undefined;
    do {
      let page;
      try {
        page = await this.ssm.send(
          new DescribeParametersCommand({
            ParameterFilters: [{ Key: 'Path', Option: 'Recursive', Values: [path] }],
            MaxResults: parametersPerPage,
            NextToken: nextToken,
          }),
        );
      } catch (err) {
        throw awsRemoteError(`listing the parameters under ${path}`, 'SSM', this.region, err);
      }
      for (const parameter of page.Parameters ?? []) if (parameter.Name) names.push(parameter.Name);
      nextToken = page.NextToken || undefined;
    } while (nextToken);
    return names;
  }
}

export interface RunCommandOptions {
  client?: SSMClient;
  /** Pause between polling rounds of running commands. */
  pollIntervalMs?: number;
  /**
   * How long to poll before giving up on an answer; by default the command's delivery and
   * execution timeouts plus a minute (SSM ends every invocation by then on its own).
   */
  maxWaitMs?: number;
}

const terminalStatuses = new Set(['Success', 'Failed', 'TimedOut', 'Cancelled']);
// Finer states SSM reports in StatusDetails that the contract names on their own.
const detailStatuses = new Set<CommandStatus>(['Undeliverable', 'Terminated', 'InvalidPlatform', 'AccessDenied']);

export class SsmRunCommand implements RunCommand {
  private readonly ssm: SSMClient;
  private readonly pollIntervalMs: number;
  private readonly maxWaitMs: number | undefined;

  constructor(readonly region: string, options: RunCommandOptions = {}) {
    this.ssm = options.client ?? ssmClient(region);
    this.pollIntervalMs = options.pollIntervalMs ?? 1_000;
    this.maxWaitMs = options.maxWaitMs;
  }

  async managedOnline(fleet: string, instanceIds: string[]): Promise<Set<string>> {
    // By the fleet's tag, never by ids: SSM answers InvalidInstanceId for an id whose agent has not
    // registered yet, which is every id while instances boot.
    const wanted = new Set(instanceIds);
    const online = new Set<string>();
    let nextToken: string | undefined;
    do {
      let page;
      try {
        page = await this.ssm.send(
          new DescribeInstanceInformationCommand({
            Filters: [{ Key: `tag:${Tags.fleet}`, Values: [fleet] }, { Key: 'PingStatus', Values: ['Online'] }],
            MaxResults: pageSize,
            NextToken: nextToken,
          }),
        );
      } catch (err) {
        throw awsRemoteError(`checking the SSM agents of fleet ${fleet} (${describeIds([...wanted])})`, 'SSM', this.region, err);
      }
      for (const info of page.InstanceInformationList ?? []) {
        if (info.InstanceId && wanted.has(info.InstanceId) && info.PingStatus === 'Online') online.add(info.InstanceId);
      }
      nextToken = page.NextToken || undefined;
    } while (nextToken);
    return online;
  }

  async runScript(instanceIds: string[], script: string, options: RunScriptOptions): Promise<CommandResult[]> {
    const ids = [...new Set(instanceIds)];
    if (!Number.isInteger(options.timeoutSeconds) || options.timeoutSeconds < 1) {
      throw new Error(`runScript timeoutSeconds: expected a whole number of seconds >= 1, found ${options.timeoutSeconds}`);
    }
    const results = new Map<string, CommandResult>();
    const running = new Map<string, Set<string>>(); // command id -> instances not yet finished
    for (const group of inGroupsOf(ids, instancesPerCommand)) {
      for (const sent of await this.send(group, script, options, results)) running.set(sent.commandId, new Set(sent.instanceIds));
    }

    const deliverySeconds = Math.max(minimumDeliverySeconds, options.timeoutSeconds);
    const maxWaitMs = this.maxWaitMs ?? (deliverySeconds + options.timeoutSeconds + 60) * 1000;
    const deadline = Date.now() + maxWaitMs;
    while ([...running.values()].some((waiting) => waiting.size > 0) && Date.now() < deadline) {
      await sleep(this.pollIntervalMs);
      await Promise.all([...running].filter(([, waiting]) => waiting.size > 0).map(([commandId, waiting]) => this.poll(commandId, waiting, results)));
    }
    const waited = Math.round(maxWaitMs / 1000);
    for (const waiting of running.values()) {
      for (const instanceId of waiting) {
        results.set(instanceId, { instanceId, status: 'TimedOut', stdout: '', stderr: `SSM reported no end of the command within ${waited} s` });
      }
    }
    return ids.map((id) => results.get(id) as CommandResult);
  }

  /**
   * Sends the command to `group`. SendCommand fails as a whole when one instance is unknown to SSM
   * (its agent never registered or dropped): those become Undeliverable results and the rest is sent.
   */
  private async send(
    group: string[],
    script: string,
    options: RunScriptOptions,
    results: Map<string, CommandResult>,
  ): Promise<Array<{ commandId: string; instanceIds: string[] }>> {
    if (group.length === 0) return [];
    let reply;
    try {
      reply = await this.ssm.send(
        new SendCommandCommand({
          DocumentName: 'AWS-RunShellScript',
          InstanceIds: group,
          // The agent writes the lines joined with "\n" into one script file and runs it with sh.
          Parameters: { commands: scriptLines(script), executionTimeout: [String(options.timeoutSeconds)] },
          TimeoutSeconds: Math.max(minimumDeliverySeconds, options.timeoutSeconds),
          Comment: options.comment.slice(0, commentLength),
          // Without these SSM runs with MaxErrors 0: the first failing host would cancel the
          // invocations not yet started (Terminated). Every host runs, all at once.
          MaxConcurrency: String(group.length),
          MaxErrors: '100%',
        }),
      );
    } catch (err) {
      if (awsErrorCode(err) !== 'InvalidInstanceId') {
        throw awsRemoteError(`sending "${options.comment}" to ${describeIds(group)}`, 'SSM', this.region, err);
      }
      if (group.length === 1) {
        const instanceId = group[0] as string;
        results.set(instanceId, { instanceId, status: 'Undeliverable', stdout: '', stderr: `SSM refused the command: ${(err as Error).message}` });
        return [];
      }
      const online = await this.managedOnline(options.fleet, group);
      for (const instanceId of group.filter((id) => !online.has(id))) {
        results.set(instanceId, { instanceId, status: 'Undeliverable', stdout: '', stderr: 'the SSM agent is not online' });
      }
      const reachable = group.filter((id) => online.has(id));
      // If SSM still calls every one of them online, find the culprit one instance at a time.
      const retries = reachable.length < group.length ? [reachable] : reachable.map((id) => [id]);
      const sent = [];
      for (const retry of retries) sent.push(...(await this.send(retry, script, options, results)));
      return sent;
    }
    const commandId = reply.Command?.CommandId;
    if (!commandId) {
      throw awsRemoteError(`sending "${options.comment}" to ${describeIds(group)}`, 'SSM', this.region, new Error('the answer named no command id'));
    }
    return [{ commandId, instanceIds: group }];
  }

  /** One polling round of one command: every page of its invocations. */
  private async poll(commandId: string, waiting: Set<string>, results: Map<string, CommandResult>): Promise<void> {
    let nextToken: string | undefined;
    do {
      let page;
      try {
        page = await this.ssm.send(new ListCommandInvocationsCommand({ CommandId: commandId, Details: true, MaxResults: pageSize, NextToken: nextToken }));
      } catch (err) {
        // Right after SendCommand the command may not be listed yet.
        if (awsErrorCode(err) === 'InvalidCommandId') return;
        throw awsRemoteError(`waiting for command ${commandId}`, 'SSM', this.region, err);
      }
      for (const invocation of page.CommandInvocations ?? []) {
        const instanceId = invocation.InstanceId;
        if (!instanceId || !waiting.has(instanceId)) continue;
        const result = await this.finished(commandId, invocation);
        if (result) {
          results.set(instanceId, result);
          waiting.delete(instanceId);
        }
      }
      nextToken = page.NextToken || undefined;
    } while (nextToken);
  }

  /** The invocation's result if it has ended, else undefined. */
  private async finished(commandId: string, invocation: CommandInvocation): Promise<CommandResult | undefined> {
    const instanceId = invocation.InstanceId as string;
    const details = invocation.StatusDetails?.replace(/\s+/g, '') ?? '';
    const detail = detailStatuses.has(details as CommandStatus) ? (details as CommandStatus) : undefined;
    if (!detail && !terminalStatuses.has(invocation.Status ?? '')) return undefined;
    const status = detail ?? (invocation.Status as CommandStatus);
    const plugin = invocation.CommandPlugins?.[0];
    const output = plugin?.Output ?? '';
    const split = output.indexOf(agentErrorTitle);
    const result: CommandResult = {
      instanceId,
      status,
      stdout: tail(split >= 0 ? output.slice(0, split) : output),
      stderr: tail(split >= 0 ? output.slice(split + agentErrorTitle.length) : ''),
    };
    const code = plugin?.ResponseCode;
    if (typeof code === 'number' && code >= 0 && status !== 'Undeliverable') result.exitCode = code;
    // The plugin's Output keeps only the first ~2,400 characters of both streams; a failure's
    // reason is usually at the end, which GetCommandInvocation has (24,000 / 8,000 characters).
    if (status === 'Failed' || status === 'TimedOut') {
      try {
        const full = await this.ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }));
        if (full.StandardOutputContent !== undefined) result.stdout = tail(full.StandardOutputContent);
        if (full.StandardErrorContent !== undefined) result.stderr = tail(full.StandardErrorContent);
        if (typeof full.ResponseCode === 'number' && full.ResponseCode >= 0) result.exitCode = full.ResponseCode;
      } catch {
        // The shorter Output already read stands in.
      }
    }
    return result;
  }
}

/** The script as AWS-RunShellScript's `commands` list, one line per element. */
export function scriptLines(script: string): string[] {
  const lines = script.replace(/\r\n/g, '\n').split('\n');
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function tail(text: string): string {
  return text.length > tailLength ? text.slice(text.length - tailLength) : text;
}

function redacted(err: unknown, secret: string): unknown {
  if (!err || typeof err !== 'object') return err;
  const failure = err as { name?: string; message?: string; code?: string; $metadata?: unknown };
  const message = String(failure.message ?? '');
  if (!message.includes(secret)) return err;
  return { name: failure.name, code: failure.code, $metadata: failure.$metadata, message: message.split(secret).join('***') };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
