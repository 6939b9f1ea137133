// `npm run tenant:plan -- <tenant slug> <FREE|PRO|ENTERPRISE> [note]`: the operator's way to
// change a tenant's plan (tenants cannot choose their own). Uses DATABASE_URL, or the embedded
// database in DATA_DIR (then with the server stopped: PGlite's folder is single-process).
// Running API instances pick the change up at once (NOTIFY) and at the latest within 5 s.
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/db/index.ts';
import { PLANS, type Plan } from '../src/limits/plans.ts';
import { createLogger } from '../src/logger.ts';
import { setTenantPlan } from '../src/services/plans.ts';

const [slug, plan, ...note] = process.argv.slice(2);
if (!slug || !plan || !PLANS.includes(plan as Plan)) {
  console.error(`usage: npm run tenant:plan -- <tenant slug> <${PLANS.join('|')}> [note]`);
  process.exit(2);
}
const config = loadConfig({ LOG_LEVEL: 'warn', ...process.env });
const db = await openDatabase({ databaseUrl: config.databaseUrl, embeddedDataDir: config.dataDir, logger: createLogger(config.logLevel) });
try {
  const result = await setTenantPlan(db.prisma, slug, plan as Plan, note.join(' ') || undefined);
  console.log(result.from === result.to ? `${slug} is already on ${result.to}.` : `${slug}: ${result.from} → ${result.to}.`);
} catch (error) {
  console.error((error as Error).message);
  process.exitCode = 1;
} finally {
  await db.close();
}
