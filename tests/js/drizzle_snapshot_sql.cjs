// The SQL drizzle-kit itself writes for a snapshot (from nothing), via drizzle-kit/api.
// usage: node drizzle_snapshot_sql.cjs sqlite|postgresql SNAPSHOT.json  -> JSON array on stdout
const api = require('drizzle-kit/api');
const fs = require('fs');

const [, , dialect, path] = process.argv;
const cur = JSON.parse(fs.readFileSync(path, 'utf8'));
const origin = '00000000-0000-0000-0000-000000000000';
const meta = { schemas: {}, tables: {}, columns: {} };

(async () => {
  let statements;
  if (dialect === 'sqlite') {
    const prev = { version: '6', dialect: 'sqlite', id: origin, prevId: '', tables: {}, views: {},
      enums: {}, _meta: meta, internal: { indexes: {} } };
    statements = await api.generateSQLiteMigration(prev, cur);
  } else {
    const prev = { id: origin, prevId: '', version: '7', dialect: 'postgresql', tables: {}, enums: {},
      schemas: {}, sequences: {}, roles: {}, policies: {}, views: {}, _meta: meta };
    statements = await api.generateMigration(prev, cur);
  }
  process.stdout.write(JSON.stringify(statements));
})().catch((error) => { console.error(error); process.exit(1); });
