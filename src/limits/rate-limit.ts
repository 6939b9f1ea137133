// The per-request side of plans: every operation of a signed-in member (query, mutation, or
// subscription start, over HTTP or WebSocket) counts against their plan's requests per minute.
// The check is in memory (see rate-limiter.ts), so it adds no database round trip; the plan
// comes from the tenant row the context already holds (cached with the caller).
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { ErrorCode } from '../errors.ts';
import type { Plan, PlanLimits } from './plans.ts';
import type { RateLimiter } from './rate-limiter.ts';

interface LimitedContext {
  viewer?: { userId: string } | null;
  plan?: Plan | null;
}

export function rateLimitedError(limit: number, retryAfterSeconds: number): GraphQLError {
  return new GraphQLError(
    `Too many requests: your plan allows ${limit} per minute per member; try again in ${retryAfterSeconds} s`,
    {
      extensions: {
        code: ErrorCode.RATE_LIMITED,
        retryAfterSeconds,
        limit: 'requestsPerMinute',
        max: limit,
        // HTTP 429 with Retry-After, whatever the response media type (Yoga strips `http`).
        http: { status: 429, headers: { 'retry-after': String(retryAfterSeconds) } },
      },
    },
  );
}

export function useRateLimit(
  limiter: RateLimiter,
  planLimits: Record<Plan, PlanLimits>,
  onLimited: (plan: Plan) => void = () => {},
): Plugin<LimitedContext> {
  const check = (context: LimitedContext): GraphQLError | null => {
    const { viewer, plan } = context;
    if (!viewer || !plan) return null; // anonymous: signUp/logIn have their own throttle
    const limit = planLimits[plan].requestsPerMinute;
    if (limit === null) return null;
    const decision = limiter.hit(`member:${viewer.userId}`, limit);
    if (decision.allowed) return null;
    onLimited(plan);
    return rateLimitedError(limit, decision.retryAfterSeconds);
  };
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const error = check(args.contextValue);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const error = check(args.contextValue);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
  };
}
