// Counts the SQL statements the application's pool sends while a piece of work runs: how a
// test proves a read is batched (no N+1) or done in one statement.
import type pg from 'pg';

const TRANSACTION_CONTROL = /^\s*(BEGIN|COMMIT|ROLLBACK)\b/i;
// The worker's heartbeat and job polling share the pool; they are not the request's.
const BACKGROUND = /graphile_worker|worker_heartbeats/;

export interface StatementCounter {
  /** Statements sent during `work`, without transaction control (BEGIN…, COMMIT, ROLLBACK). */
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
      if (counting && !BACKGROUND.test(text) && !TRANSACTION_CONTROL.test(text)) statements++;
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
