// Prisma's tagged-template raw SQL ($queryRaw`…${value}…`): the type the raw-SQL helpers take
// (usage, audit, the ingestion queue), and the same calls on a pg connection, so that they also
// run inside a `withTenant` transaction. Each interpolated value becomes a $n parameter, as Prisma makes it.
import type pg from 'pg';

export interface TaggedSql {
  $executeRaw(query: TemplateStringsArray, ...values: unknown[]): Promise<number>;
  $queryRaw<T = unknown>(query: TemplateStringsArray, ...values: unknown[]): Promise<T>;
}

const text = (strings: TemplateStringsArray) => strings.reduce((sql, part, i) => `${sql}$${i}${part}`);

export function taggedSql(client: pg.PoolClient): TaggedSql {
  return {
    async $executeRaw(strings, ...values) {
      return (await client.query(text(strings), values)).rowCount ?? 0;
    },
    async $queryRaw<T>(strings: TemplateStringsArray, ...values: unknown[]) {
      return (await client.query(text(strings), values)).rows as T;
    },
  };
}
