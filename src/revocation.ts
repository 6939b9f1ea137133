// Ends the open subscriptions of callers whose access was revoked — a member deleted or
// deactivated, a tenant deleted — on every instance (the event travels through pub/sub).
// New requests are refused anyway (the caller cache is dropped); this closes the streams that
// were authorized before: each gets one last result with UNAUTHENTICATED, then completes.
import { GraphQLError, type ExecutionResult } from 'graphql';
import { isAsyncIterable, Repeater, type Plugin } from 'graphql-yoga';
import type { Context } from './context.ts';
import { ErrorCode } from './errors.ts';
import type { PubSub } from './pubsub.ts';
import type { Viewer } from './services/viewer.ts';

const REVOKED = Symbol('revoked');

export function useAccessRevocation(): Plugin<Context> {
  return {
    onSubscribe({ args }) {
      const { viewer, pubsub } = args.contextValue;
      if (!viewer) return;
      return {
        onSubscribeResult({ result, setResult }) {
          if (isAsyncIterable(result)) setResult(untilRevoked(result, pubsub, viewer));
        },
      };
    },
  };
}

// A Repeater, not an async generator: returning it (the client unsubscribing) ends it at once,
// while an async generator would first wait for its pending next().
function untilRevoked(source: AsyncIterable<ExecutionResult>, pubsub: PubSub, viewer: Viewer) {
  return new Repeater<ExecutionResult>(async (push, stop) => {
    const revocations = pubsub.subscribe('accessRevoked', viewer.tenantId);
    const revoked = (async () => {
      for await (const { userId } of revocations) if (userId === null || userId === viewer.userId) return REVOKED;
      return undefined;
    })();
    const iterator = source[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = await Promise.race([iterator.next(), revoked, stop]);
        if (next === REVOKED) {
          await push({
            errors: [
              new GraphQLError('Access was revoked (member or tenant deleted or deactivated); sign in again', {
                extensions: { code: ErrorCode.UNAUTHENTICATED },
              }),
            ],
          });
          break;
        }
        if (!next || next.done) break;
        await push(next.value);
      }
    } catch (error) {
      stop(error);
    } finally {
      stop();
      await revocations.return();
      // Not awaited: the source may be an async generator waiting for its next event.
      void iterator.return?.();
    }
  });
}
