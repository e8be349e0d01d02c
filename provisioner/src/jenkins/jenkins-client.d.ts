// The public part of the `jenkins` npm client (v1.1.0, untyped) that the controller adapter uses, as
// read from node_modules/jenkins/lib: each call is one HTTP request through papi's http.request.
declare module 'jenkins' {
  import type { IncomingMessage } from 'node:http';

  export interface JenkinsOptions {
    baseUrl: string;
    /** `false`: no crumb request before each POST (API-token auth is exempt from CSRF). */
    crumbIssuer?: boolean;
    headers?: Record<string, string>;
    /** Whole-request timeout in milliseconds (papi aborts and rejects with a TimeoutError). */
    timeout?: number;
  }

  /** What papi rejects with: `res` is set when the server answered. */
  export interface JenkinsClientError extends Error {
    res?: IncomingMessage & { body?: unknown };
    code?: string;
    notFound?: boolean;
    isTimeout?: boolean;
  }

  class Jenkins {
    constructor(options: JenkinsOptions);
    node: {
      list(options: { tree: string }): Promise<unknown[]>;
      get(options: { name: string; tree?: string }): Promise<Record<string, unknown>>;
      create(options: {
        name: string;
        nodeDescription: string;
        numExecutors: number;
        remoteFS: string;
        labelString: string;
        mode: 'NORMAL' | 'EXCLUSIVE';
        launcher: Record<string, unknown>;
      }): Promise<void>;
      changeOfflineCause(options: { name: string; message: string }): Promise<void>;
      toggleOffline(options: { name: string; message: string }): Promise<void>;
      destroy(options: { name: string }): Promise<void>;
      /** GET computer/NAME/config.xml (the document), or POST it when `xml` is given. */
      config(options: { name: string }): Promise<string>;
      config(options: { name: string; xml: string }): Promise<void>;
    };
  }

  export default Jenkins;
}
