// One context factory for HTTP and WebSocket requests. The bearer token comes from the
// Authorization header (HTTP, SSE) or from connectionParams (graphql-ws); the context
// holds who the caller is and the services bound to their tenant — never a database client.
import type { YogaInitialContext } from 'graphql-yoga';
import type { Plan } from './limits/plans.ts';
import type { Logger } from './logger.ts';
import type { PubSub } from './pubsub.ts';
import type { Services, TenantServices } from './services/index.ts';
import type { AuthService } from './services/auth.ts';
import type { Viewer } from './services/viewer.ts';

export interface Context {
  requestId: string;
  viewer: Viewer | null;
  /** Why a presented token was not accepted, for a precise UNAUTHENTICATED message. */
  authProblem: string | null;
  auth: AuthService;
  /** Services scoped to the viewer's tenant; null for anonymous callers. */
  tenant: TenantServices | null;
  /** The plan of the viewer's tenant (rate limits); null for anonymous callers. */
  plan: Plan | null;
  pubsub: PubSub;
  logger: Logger;
}

/** The context of a field guarded by any tenant scope (see AuthContexts in the builder). */
export type TenantContext = Context & { viewer: Viewer; tenant: TenantServices };

interface InitialContext extends Partial<YogaInitialContext> {
  connectionParams?: Readonly<Record<string, unknown>>;
}

export function bearerToken(initial: InitialContext): string | null {
  const header = initial.request?.headers.get('authorization');
  if (header) return /^Bearer\s+(\S+)$/i.exec(header)?.[1] ?? null;
  const params = initial.connectionParams;
  const fromParams = params?.authorization ?? params?.Authorization ?? params?.token;
  if (typeof fromParams !== 'string') return null;
  return /^Bearer\s+(\S+)$/i.exec(fromParams)?.[1] ?? fromParams;
}

export function createContextFactory(services: Services, pubsub: PubSub, logger: Logger) {
  return async (initial: InitialContext): Promise<Context> => {
    const requestId = initial.request?.headers.get('x-request-id') ?? crypto.randomUUID();
    const base = { requestId, auth: services.auth, pubsub };
    const token = bearerToken(initial);
    if (!token) return { ...base, viewer: null, authProblem: null, tenant: null, plan: null, logger: logger.child({ requestId }) };
    const result = await services.auth.authenticate(token);
    if ('problem' in result) {
      return { ...base, viewer: null, authProblem: result.problem, tenant: null, plan: null, logger: logger.child({ requestId }) };
    }
    const { viewer } = result;
    return {
      ...base,
      viewer,
      authProblem: null,
      tenant: services.forViewer(viewer, result.user, result.tenant),
      plan: result.tenant.plan,
      logger: logger.child({ requestId, tenantId: viewer.tenantId, userId: viewer.userId }),
    };
  };
}
