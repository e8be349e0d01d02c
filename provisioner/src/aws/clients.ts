// The AWS SDK clients, one per service and region for the whole process, so that the adaptive
// retry mode's client-side rate limiter sees every call to that service and region; and the
// translation of SDK failures into RemoteErrors that name the endpoint and what AWS said.
import { RemoteError } from '../errors.ts';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { dynamoDbSdk, ec2Sdk, sqsSdk, ssmSdk } from './sdk.ts';

export type AwsService = 'EC2' | 'SSM' | 'DynamoDB' | 'SQS';

/**
 * Throttling (`RequestLimitExceeded`, `ThrottlingException`) is normal under a fleet-wide burst;
 * the SDK's default of 3 attempts gives up too early, 8 with adaptive backoff rides it out.
 */
export const maxAttempts = 8;

/** Per attempt. Without `throwOnRequestTimeout` the SDK only warns when a request overruns. */
export const timeouts = { connectionTimeout: 3_000, requestTimeout: 30_000 } as const;

const ec2Clients = new Map<string, EC2Client>();
const ssmClients = new Map<string, SSMClient>();
const dynamoDbClients = new Map<string, DynamoDBClient>();
const sqsClients = new Map<string, SQSClient>();

// Credentials, and endpoints from AWS_ENDPOINT_URL_EC2 / AWS_ENDPOINT_URL_SSM / AWS_ENDPOINT_URL,
// come from the SDK's own default chains: nothing is passed here so that they keep working.
function clientConfig(region: string) {
  return {
    region,
    retryMode: 'adaptive',
    maxAttempts,
    requestHandler: { ...timeouts, throwOnRequestTimeout: true },
  } as const;
}

export function ec2Client(region: string): EC2Client {
  let client = ec2Clients.get(region);
  if (!client) {
    client = new ec2Sdk.EC2Client(clientConfig(region));
    ec2Clients.set(region, client);
  }
  return client;
}

export function ssmClient(region: string): SSMClient {
  let client = ssmClients.get(region);
  if (!client) {
    client = new ssmSdk.SSMClient(clientConfig(region));
    ssmClients.set(region, client);
  }
  return client;
}

export function dynamoDbClient(region: string): DynamoDBClient {
  let client = dynamoDbClients.get(region);
  if (!client) {
    client = new (dynamoDbSdk().DynamoDBClient)(clientConfig(region));
    dynamoDbClients.set(region, client);
  }
  return client;
}

export function sqsClient(region: string): SQSClient {
  let client = sqsClients.get(region);
  if (!client) {
    // The queue URL names its region's endpoint, which the client is made for; left on, the SDK
    // would send every call to the URL's host instead of AWS_ENDPOINT_URL_SQS (and warn each time).
    client = new (sqsSdk().SQSClient)({ ...clientConfig(region), useQueueUrlAsEndpoint: false });
    sqsClients.set(region, client);
  }
  return client;
}

/**
 * Which endpoint a service's client talks to in `region`, for messages: the configured one (same
 * variables and order as the SDK: AWS_ENDPOINT_URL_<SERVICE> (EC2, SSM, DYNAMODB, SQS), then AWS_ENDPOINT_URL, unless
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS) or AWS's regional endpoint.
 */
export function describeEndpoint(service: AwsService, region: string, env: NodeJS.ProcessEnv = process.env): string {
  const ignore = /^true$/i.test(env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS ?? '');
  const configured = ignore ? undefined : env[`AWS_ENDPOINT_URL_${service.toUpperCase()}`] || env.AWS_ENDPOINT_URL;
  if (configured) return `${service} at ${configured} (${region})`;
  const client = service === 'EC2' ? ec2Client(region) : service === 'SSM' ? ssmClient(region) : service === 'SQS' ? sqsClient(region) : dynamoDbClient(region);
  try {
    const { url } = client.config.endpointProvider({ Region: region, UseFIPS: false, UseDualStack: false });
    return `${service} at ${url.origin}`;
  } catch {
    return `${service} in ${region}`;
  }
}

/** The fields of an SDK v3 service or transport error that the messages use. */
interface SdkFailure {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
}

/** The error code AWS answered with (`InvalidInstanceID.NotFound`), if it answered at all. */
export function awsErrorCode(err: unknown): string | undefined {
  const failure = err as SdkFailure | undefined;
  if (!failure || typeof failure !== 'object' || !failure.$metadata?.httpStatusCode) return undefined;
  return failure.name;
}

const transportCodes: Record<string, string> = {
  ECONNREFUSED: 'refused the connection',
  ECONNRESET: 'reset the connection',
  ENOTFOUND: 'could not be resolved (DNS)',
  EAI_AGAIN: 'could not be resolved (DNS)',
  ETIMEDOUT: `did not answer within ${timeouts.requestTimeout / 1000} s`,
};

/** What the remote said, or why it could not say anything, in a short phrase. */
export function describeFailure(err: unknown): string {
  const failure = (err ?? {}) as SdkFailure;
  const attempts = failure.$metadata?.attempts;
  const after = attempts && attempts > 1 ? ` (after ${attempts} attempts)` : '';
  const status = failure.$metadata?.httpStatusCode;
  const message = oneLine(failure.message ?? String(err));
  if (status) return `answered ${status} ${failure.name ?? 'Error'}: ${message}${after}`;
  const code = failure.code ?? (failure.name === 'TimeoutError' ? 'ETIMEDOUT' : undefined);
  if (code && transportCodes[code]) return `${transportCodes[code]}${after}`;
  if (failure.name === 'CredentialsProviderError') {
    return `could not be called: no AWS credentials found (environment, shared config, or instance role): ${message}`;
  }
  return `failed: ${failure.name && failure.name !== 'Error' ? `${failure.name}: ` : ''}${message}${after}`;
}

export function awsRemoteError(doing: string, service: AwsService, region: string, err: unknown): RemoteError {
  return new RemoteError(doing, describeEndpoint(service, region), describeFailure(err), { cause: err });
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 300 ? `${flat.slice(0, 300)}...` : flat;
}

/** Splits `items` into consecutive groups of at most `size` (the API's per-call limit). */
export function inGroupsOf<T>(items: readonly T[], size: number): T[][] {
  const groups: T[][] = [];
  for (let i = 0; i < items.length; i += size) groups.push(items.slice(i, i + size));
  return groups;
}

/** A few ids for a message: `i-1, i-2, i-3 and 47 more`. */
export function describeIds(ids: readonly string[]): string {
  return ids.length <= 3 ? ids.join(', ') : `${ids.slice(0, 3).join(', ')} and ${ids.length - 3} more`;
}
