// The embedded database: PGlite (Postgres compiled to WASM, with pgvector) served over
// a local socket so that everything else talks to it with the ordinary `pg` driver.
//
// PGlite is ONE backend session, multiplexed by pglite-socket. The rules below are the
// ones that measured stable under load (see ENVIRONMENT.md): at most two connections,
// shared by everyone through one pool, and notifications re-broadcast across the pool
// because PGlite delivers NOTIFY to the sending connection instead of the listener.
import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { btree_gin } from '@electric-sql/pglite/contrib/btree_gin';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import pg from 'pg';

/** Two is the floor: graphile-worker keeps one client for LISTEN, queries need the other. */
const EMBEDDED_POOL_SIZE = 2;

export interface EmbeddedPostgres {
  pool: pg.Pool;
  close(): Promise<void>;
}

/** pgvector for embeddings; btree_gin for the (tenant, full-text) index of chunks. */
const extensions = { vector, btree_gin };

/** `dataDir` of `null` keeps the database in memory (tests). */
export async function startEmbeddedPostgres(dataDir: string | null): Promise<EmbeddedPostgres> {
  let db: PGlite;
  if (dataDir) {
    fs.mkdirSync(dataDir, { recursive: true });
    db = await PGlite.create(path.join(dataDir, 'pgdata'), { extensions });
  } else {
    db = await PGlite.create({ extensions });
  }
  const server = new PGLiteSocketServer({
    db,
    host: '127.0.0.1',
    port: 0,
    maxConnections: EMBEDDED_POOL_SIZE,
  });
  await server.start();
  const [host, port] = server.getServerConn().split(':');

  const pool = new pg.Pool({
    host,
    port: Number(port),
    user: 'postgres',
    database: 'postgres',
    max: EMBEDDED_POOL_SIZE,
    // Idle clients are never closed: reconnecting to PGlite is cheap but LISTEN state would be lost.
    idleTimeoutMillis: 0,
  });
  rebroadcastNotifications(pool);

  return {
    pool,
    async close() {
      await pool.end();
      await server.stop();
      await db.close();
    },
  };
}

/**
 * PGlite hands a NOTIFY to the connection that sent it. Re-emit every notification on
 * the other pooled clients so LISTENers (graphile-worker's job pickup) hear it, and once on
 * the pool itself for listeners that hold no connection (the in-process pub/sub).
 */
function rebroadcastNotifications(pool: pg.Pool): void {
  const clients = new Set<pg.PoolClient>();
  const relayed = new WeakSet<object>();
  pool.on('connect', (client) => {
    clients.add(client);
    client.on('notification', (message) => {
      if (relayed.has(message)) return;
      relayed.add(message);
      for (const other of clients) if (other !== client) other.emit('notification', message);
      pool.emit('notification', message);
    });
    client.on('end', () => clients.delete(client));
  });
  pool.on('remove', (client) => clients.delete(client));
}
