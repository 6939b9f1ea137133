#!/bin/sh
# Prisma CLI insists on a schema-engine binary it cannot download offline.
# generate/validate/format never use it; anything that would must fail loudly (exit 1),
# never succeed silently. Migrations go through scripts/migrate.ts instead.
echo "schema-engine binary is not available; use npm run db:migrate / db:migration:new" >&2
exit 1
