import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Files stored by the SHA-256 of their bytes, so the same upload is stored once and a
 * stored file can be checked against its name. API and workers must see the same folder.
 */
export function createBlobStore(dir: string) {
  const pathOf = (sha256: string) => {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
    return path.join(dir, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  };
  return {
    /** Writes atomically (temp file + rename): a crash never leaves a half file under a valid name. */
    async put(bytes: Uint8Array): Promise<string> {
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const target = pathOf(sha256);
      await fs.mkdir(path.dirname(target), { recursive: true });
      try {
        await fs.access(target);
        return sha256;
      } catch {
        const temp = `${target}.${randomUUID()}.tmp`;
        await fs.writeFile(temp, bytes);
        await fs.rename(temp, target);
        return sha256;
      }
    },
    async get(sha256: string): Promise<Uint8Array> {
      return new Uint8Array(await fs.readFile(pathOf(sha256)));
    },
  };
}

export type BlobStore = ReturnType<typeof createBlobStore>;
