/**
 * A migrated, empty PGlite data folder made once per machine and copied for each test API.
 * Creating a PGlite cluster (initdb in WebAssembly) is most of an in-process API's start-up —
 * seconds on a loaded 2-core machine, for each of dozens of route test files — while a copy of
 * the finished folder (~40 MB) opens in well under a second. The copy is what a fresh install
 * holds after its migrations, nothing more: accounts, sites and audit records are written by the
 * API role as it starts, as before. End-to-end stacks (`lantern start`) still create their own.
 *
 * The folder is named by a hash of the migrations and the PGlite version, so a new migration
 * makes a new template; it is built in a folder of its own and renamed into place, so test files
 * starting together never see half of one.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../../config.ts';
import { openDatabase } from '../../store/db.ts';
import { migrate } from '../../store/migrate.ts';

const migrationsDir = path.join(repoRoot, 'store', 'migrations');
const pgliteVersion = JSON.parse(fs.readFileSync(path.join(repoRoot, 'node_modules', '@electric-sql', 'pglite', 'package.json'), 'utf8')).version as string;

function templateDir(): string {
  const hash = createHash('sha256').update(`pglite ${pgliteVersion}\n`);
  for (const file of fs.readdirSync(migrationsDir).sort()) hash.update(`${file}\n`).update(fs.readFileSync(path.join(migrationsDir, file)));
  return path.join(os.tmpdir(), `lantern-pglite-template-${hash.digest('hex').slice(0, 16)}`);
}

let made: Promise<string> | undefined;

async function makeTemplate(): Promise<string> {
  const template = templateDir();
  if (fs.existsSync(template)) return template;
  const building = fs.mkdtempSync(`${template}.building-`);
  const db = await openDatabase({ pgliteDir: building });
  await migrate(db);
  await db.close();
  try {
    fs.renameSync(building, template);
  } catch (error) {
    // Another test file put its template there first: the same migrations, so use that one.
    fs.rmSync(building, { recursive: true, force: true });
    if (!fs.existsSync(template)) throw error;
  }
  return template;
}

/** Fills `pgliteDir` (which must not exist yet) with a copy of the migrated template. */
export async function copyPgliteTemplate(pgliteDir: string): Promise<void> {
  made ??= makeTemplate();
  fs.cpSync(await made, pgliteDir, { recursive: true });
}
