import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database } from './db.ts';

const migrationsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

/** Arbitrary constant: several API processes starting together take turns migrating. */
const MIGRATION_LOCK = 7_301_001;

/**
 * Applies every `migrations/NNN_name.sql` not yet recorded, in order, each in its own
 * transaction. Safe to run concurrently from several processes.
 */
export async function migrate(db: Database): Promise<string[]> {
  const files = fs.readdirSync(migrationsDir).filter((f) => /^\d{3}_.+\.sql$/.test(f)).sort();
  const applied: string[] = [];
  for (const file of files) {
    const done = await db.transaction(async (tx) => {
      await tx.query('select pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await tx.query('create table if not exists schema_migrations (name text primary key, applied_at timestamptz not null default now())');
      const seen = await tx.query('select 1 from schema_migrations where name = $1', [file]);
      if (seen.rows.length > 0) return false;
      for (const statement of splitStatements(fs.readFileSync(path.join(migrationsDir, file), 'utf8'))) {
        await tx.query(statement);
      }
      await tx.query('insert into schema_migrations (name) values ($1)', [file]);
      return true;
    });
    if (done) applied.push(file);
  }
  return applied;
}

/** Extended-protocol queries take one statement each; migrations contain no `;` inside literals. */
function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
    .filter(Boolean);
}
