import { loadConfigOrExit } from '../lib/main';
import { createDb } from '../lib/db';
import { migrate } from '../lib/migrate';
import { grantPrincipals } from '../access/postgres-grants';
import { seedCatalog } from '../lib/seed';

/** `npm run db:setup`: applies pending migrations and seeds the demo catalog. Idempotent. */
const config = loadConfigOrExit();
// Migrations may rewrite big tables: no statement limit here, only the connect timeout.
const db = createDb(config.database.url, {
  max: 2,
  applicationName: 'checkout-db-setup',
  timeouts: { ...config.database.timeouts, queryMs: 0 },
});
try {
  const { applied, alreadyApplied } = await migrate(db);
  const missingRoles = await grantPrincipals(db);
  const seeded = await seedCatalog(db);
  console.log(
    `database  migrated (${applied.length} applied, ${alreadyApplied} already there), ${seeded} catalog row(s) seeded`,
  );
  if (missingRoles.length > 0)
    console.log(
      `database  no role ${missingRoles.join(', ')} yet: a superuser creates them (docs/access.md); their grants follow on the next db:setup`,
    );
} finally {
  await db.end();
}
