import { loadConfigOrExit } from '../lib/main';
import { createDb } from '../lib/db';
import { migrate } from '../lib/migrate';
import { seedCatalog } from '../lib/seed';

/** `npm run db:setup`: applies pending migrations and seeds the demo catalog. Idempotent. */
const config = loadConfigOrExit();
const db = createDb(config.database.url, { max: 2, applicationName: 'checkout-db-setup' });
try {
  const { applied, alreadyApplied } = await migrate(db);
  const seeded = await seedCatalog(db);
  console.log(
    `database  migrated (${applied.length} applied, ${alreadyApplied} already there), ${seeded} catalog row(s) seeded`,
  );
} finally {
  await db.end();
}
