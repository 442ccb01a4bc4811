// Apply a drizzle migrations folder with drizzle-orm's own migrator (used by the interop tests).
//   node drizzle_migrate.cjs sqlite   <database file> <migrations folder>   (sql.js, pure wasm)
//   node drizzle_migrate.cjs postgres <postgresql url> <migrations folder>  (postgres-js)
// Modules are found through NODE_PATH (the test installs them into a cache dir under /tmp).
"use strict";
const fs = require("fs");

async function sqlite(file, folder) {
  const initSqlJs = require("sql.js");
  const { drizzle } = require("drizzle-orm/sql-js");
  const { migrate } = require("drizzle-orm/sql-js/migrator");
  const SQL = await initSqlJs();
  const db = new SQL.Database(fs.existsSync(file) ? fs.readFileSync(file) : undefined);
  await migrate(drizzle(db), { migrationsFolder: folder });
  fs.writeFileSync(file, Buffer.from(db.export()));
}

async function postgres(url, folder) {
  const pg = require("postgres");
  const { drizzle } = require("drizzle-orm/postgres-js");
  const { migrate } = require("drizzle-orm/postgres-js/migrator");
  const client = pg(url, { max: 1, onnotice: () => {} });
  try {
    await migrate(drizzle(client), { migrationsFolder: folder });
  } finally {
    await client.end();
  }
}

const [dialect, target, folder] = process.argv.slice(2);
(dialect === "sqlite" ? sqlite : postgres)(target, folder).catch((err) => {
  console.error(err && err.stack ? err.stack : String(err));
  process.exit(1);
});
