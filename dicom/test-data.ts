import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Shared real test data lives beside the checkout and is never copied into it. */
export const sharedDataDir = path.resolve(repoRoot, '../shared/data');
