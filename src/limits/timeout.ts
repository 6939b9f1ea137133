// A deadline for queries and mutations (HTTP and WebSocket), not for subscriptions, which
// are meant to stay open. When it passes, the client gets REQUEST_TIMEOUT at once and the
// execution's signal is aborted, so graphql-tools' executor resolves no further fields (a
// compiled query, src/compiled-execution.ts, ignores the signal and reads on to its end, its
// answer dropped). Work already running in a resolver is not interrupted: a mutation that
// times out may still complete — the client should read before retrying.
import { GraphQLError, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { LimitCode } from './codes.ts';

export function timeoutError(timeoutMs: number): GraphQLError {
  return new GraphQLError(`The request took longer than ${timeoutMs} ms and was abandoned.`, {
    extensions: { code: LimitCode.REQUEST_TIMEOUT, timeoutMs },
  });
}

export function useRequestTimeout(timeoutMs: number): Plugin {
  if (timeoutMs <= 0) return {};
  return {
    onExecute({ executeFn, setExecuteFn }) {
      setExecuteFn(async (executionArgs) => {
        // graphql-tools' executor (Yoga's) stops resolving fields once `signal` aborts.
        const args = executionArgs as ExecutionArgs & { signal?: AbortSignal };
        const deadline = new AbortController();
        const signal = args.signal ? AbortSignal.any([args.signal, deadline.signal]) : deadline.signal;
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<ExecutionResult>((resolve) => {
          timer = setTimeout(() => {
            const error = timeoutError(timeoutMs);
            deadline.abort(error);
            resolve({ errors: [error] });
          }, timeoutMs);
        });
        const running = Promise.resolve(executeFn({ ...args, signal } as ExecutionArgs));
        // The loser of the race must not become an unhandled rejection.
        running.catch(() => {});
        try {
          return await Promise.race([running, timedOut]);
        } finally {
          clearTimeout(timer);
        }
      });
    },
  };
}
