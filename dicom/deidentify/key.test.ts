import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createDeidentifyContext } from './context.ts';
import { openDeidentifyKey } from './key.ts';

describe('the installation\'s de-identification key', () => {
  const dirs: string[] = [];
  const fresh = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-deid-key-'));
    dirs.push(dir);
    return path.join(dir, 'research', 'deidentify.key');
  };
  afterEach(() => dirs.splice(0).forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

  it('when first opened, then 32 random bytes are kept 0600 in a 0700 folder, and every later opening gives the same pseudonyms', () => {
    const file = fresh();
    const key = openDeidentifyKey(file);
    expect(key).toHaveLength(32);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    const again = createDeidentifyContext({ key: openDeidentifyKey(file) });
    const first = createDeidentifyContext({ key });
    expect(again.uid('1.2.3.4')).toBe(first.uid('1.2.3.4'));
    expect(again.patient('PID-1', 'Doe^Jane')).toEqual(first.patient('PID-1', 'Doe^Jane'));
    expect(again.reader('dr.wu')).toBe(first.reader('dr.wu'));
    expect(createDeidentifyContext({ key: openDeidentifyKey(fresh()) }).uid('1.2.3.4')).not.toBe(first.uid('1.2.3.4'));
  });

  it('when the key file can be read by others or is too short, then it is refused', () => {
    const file = fresh();
    openDeidentifyKey(file);
    fs.chmodSync(file, 0o644);
    expect(() => openDeidentifyKey(file)).toThrow(/chmod 600/);
    fs.writeFileSync(file, Buffer.alloc(16), { mode: 0o600 });
    fs.chmodSync(file, 0o600);
    expect(() => openDeidentifyKey(file)).toThrow(/at least 32/);
  });
});
