// Counts the SQL statements the application's pool sends while a piece of work runs: how a
// test proves a read is batched (no N+1) or done in one statement.
import type pg from 'pg';

// Transaction control and the settings that enter a tenant (src/db/tenant-session.ts).
const TRANSACTION_CONTROL = /^\s*(BEGIN|COMMIT|ROLLBACK|SET LOCAL)\b/i;
// The worker's heartbeat and job polling share the pool; they are not the request's.
const BACKGROUND = /graphile_worker|worker_heartbeats/;

export interface StatementCounter {
  /**
   * Statements sent during `work`, without transaction control and tenant settings. A message
   * of several statements (simple protocol) counts each: it is split at semicolons, so the
   * counted work must not have semicolons inside its literals.
   */
  count(work: () => Promise<unknown>): Promise<number>;
}

export function countStatements(pool: pg.Pool): StatementCounter {
  let counting = false;
  let statements = 0;
  const wrapped = new WeakSet<object>();
  pool.on('acquire', (client) => {
    if (wrapped.has(client)) return;
    wrapped.add(client);
    const query = client.query.bind(client);
    client.query = ((...args: Parameters<typeof query>) => {
      const text = typeof args[0] === 'string' ? args[0] : ((args[0] as { text?: string }).text ?? '');
      if (counting && !BACKGROUND.test(text)) {
        statements += text.split(';').filter((statement) => statement.trim() && !TRANSACTION_CONTROL.test(statement)).length;
      }
      return query(...args);
    }) as typeof client.query;
  });
  return {
    async count(work) {
      statements = 0;
      counting = true;
      try {
        await work();
      } finally {
        counting = false;
      }
      return statements;
    },
  };
}
