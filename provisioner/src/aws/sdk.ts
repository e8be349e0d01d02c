// The AWS SDK's clients and commands, loaded with require() from node_modules (the CLI's build
// leaves them out of its bundle: scripts/build.mjs). They are CommonJS bundles: imported from an ES
// module, Node would first scan each for its export names, and tsx's loader, which ran the CLI before
// it was built, sent every module of the SDK through its hooks (~0.35 s of CPU at each start). Bundled
// into the CLI, the clients would not load faster (3.4 MB: every command's schema comes along).
// Types still come from `import type`, which costs nothing at run time.
import { createRequire } from 'node:module';
import type * as DynamoDbSdk from '@aws-sdk/client-dynamodb';
import type * as Ec2Sdk from '@aws-sdk/client-ec2';
import type * as SqsSdk from '@aws-sdk/client-sqs';
import type * as SsmSdk from '@aws-sdk/client-ssm';

const require = createRequire(import.meta.url);

export const ec2Sdk = require('@aws-sdk/client-ec2') as typeof Ec2Sdk;
export const ssmSdk = require('@aws-sdk/client-ssm') as typeof SsmSdk;

let dynamoDb: typeof DynamoDbSdk | undefined;

/** DynamoDB's, for the run lock: loaded the first time a lock is taken, so that plan and status never load it. */
export function dynamoDbSdk(): typeof DynamoDbSdk {
  return (dynamoDb ??= require('@aws-sdk/client-dynamodb') as typeof DynamoDbSdk);
}

let sqs: typeof SqsSdk | undefined;

/** SQS's, for the interruption notices: loaded the first time `watch` reads the queue, never by the other commands. */
export function sqsSdk(): typeof SqsSdk {
  return (sqs ??= require('@aws-sdk/client-sqs') as typeof SqsSdk);
}
