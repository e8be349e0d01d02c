// The error model: every failure has a kind, and the kind decides how the CLI tells it.
import { describe, expect, it } from 'vitest';
import { ChecksFailed, describeError, errorKind, RemoteError, RemoteFailures, UserError } from '../../provisioner/src/errors.ts';

describe('the error model', () => {
  it('tells a user error as one line per problem, without a stack unless --debug', () => {
    const err = new UserError(['fleet.yaml:3: pools[0].count: expected a number, found "many"', 'fleet.yaml:9: pools[1].instanceTyp: is not a known key (a typo?)']);
    expect(errorKind(err)).toBe('user');
    expect(describeError(err, false)).toEqual([
      'error: fleet.yaml:3: pools[0].count: expected a number, found "many"',
      'error: fleet.yaml:9: pools[1].instanceTyp: is not a known key (a typo?)',
    ]);
    expect(describeError(err, true).join('\n')).toMatch(/\n\s+at /);
  });

  it('tells a remote error as what was being done, to what, and what it said; --debug adds its cause', () => {
    const err = new RemoteError('creating node awsDeploy-i-0abc', 'Jenkins at https://ci.example.com/', 'answered 403 Forbidden', { cause: new Error('HTTP 403') });
    expect(errorKind(err)).toBe('remote');
    expect(describeError(err, false)).toEqual(['error: creating node awsDeploy-i-0abc: Jenkins at https://ci.example.com/ answered 403 Forbidden']);
    expect(describeError(err, true).join('\n')).toContain('caused by: Error: HTTP 403');
  });

  it('tells an apply\'s failures together, each on its own line', () => {
    const err = new RemoteFailures('2 agent step(s) failed', ['a-i-1 (pool a): bootstrap: exit 1', 'a-i-2 (pool a): online: not online before the timeout']);
    expect(errorKind(err)).toBe('remote');
    expect(describeError(err, false)).toEqual(['error: 2 agent step(s) failed:\n  a-i-1 (pool a): bootstrap: exit 1\n  a-i-2 (pool a): online: not online before the timeout']);
  });

  it('counts a check that found problems in the user\'s files as the user\'s', () => {
    expect(errorKind(new ChecksFailed('doctor found 2 problems'))).toBe('user');
  });

  it('counts a failed system call (a port in use, a file not writable) as the user\'s, not a bug', () => {
    const err = Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:8080'), { code: 'EADDRINUSE', syscall: 'listen' });
    expect(errorKind(err)).toBe('user');
    expect(describeError(err, false)).toEqual(['error: listen EADDRINUSE: address already in use 127.0.0.1:8080']);
  });

  it('tells anything else as an internal error: a bug, said to be one, with its stack', () => {
    let err: unknown;
    try {
      (undefined as unknown as { pools: unknown[] }).pools.map(String);
    } catch (caught) {
      err = caught;
    }
    expect(errorKind(err)).toBe('internal');
    const lines = describeError(err, false);
    expect(lines[0]).toMatch(/^error: internal error: TypeError: Cannot read properties of undefined/);
    expect(lines[1]).toContain('This is a bug in the provisioner');
    expect(lines.slice(2).join('\n')).toMatch(/\n\s+at .*errors\.test\.ts/);
  });
});
