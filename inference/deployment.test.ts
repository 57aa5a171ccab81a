import { describe, expect, it } from 'vitest';
import { canaryPoint, deploymentFor } from './deployment.ts';

/** 400 synthetic Study Instance UIDs in the shape scanners issue (root, then dotted numbers). */
const uids = Array.from({ length: 400 }, (_, i) => `1.2.826.0.1.3680043.10.543.${20260000 + i * 7}.${i % 13}.${1000 + i}`);

describe('which studies a model runs on, and how', () => {
  it('when the card is clinical, shadow or evaluate-only, then every study gets that (evaluate-only: none)', () => {
    const study = { studyInstanceUid: uids[0], siteId: 'main' };
    expect(deploymentFor({ deployment: 'clinical' }, study)).toBe('clinical');
    expect(deploymentFor({ deployment: 'shadow' }, study)).toBe('shadow');
    expect(deploymentFor({ deployment: 'evaluate-only' }, study)).toBeUndefined();
  });

  // A binomial share over 400 studies has sd sqrt(p(1-p)/400) <= 0.025; the tolerance is 3 sd (0.075).
  it.each([0.1, 0.25, 0.5, 0.9])('when a canary has share %s, then that share of 400 synthetic studies (within 0.075, 3 binomial sd) is clinical and the rest shadow', (share) => {
    const clinical = uids.filter((studyInstanceUid) => deploymentFor({ deployment: 'canary', canary: { share } }, { studyInstanceUid }) === 'clinical').length;
    expect(Math.abs(clinical / uids.length - share)).toBeLessThanOrEqual(0.075);
  });

  it('when a canary has share 0 or 1, then no study or every study is clinical', () => {
    const clinicalAt = (share: number) => uids.filter((studyInstanceUid) => deploymentFor({ deployment: 'canary', canary: { share } }, { studyInstanceUid }) === 'clinical').length;
    expect(clinicalAt(0)).toBe(0);
    expect(clinicalAt(1)).toBe(uids.length);
  });

  it('when a canary lists sites, then every study of those sites is clinical whatever its point, and other sites follow the share', () => {
    const card = { deployment: 'canary' as const, canary: { share: 0, sites: ['north-clinic'] } };
    expect(uids.every((studyInstanceUid) => deploymentFor(card, { studyInstanceUid, siteId: 'north-clinic' }) === 'clinical')).toBe(true);
    expect(uids.every((studyInstanceUid) => deploymentFor(card, { studyInstanceUid, siteId: 'main' }) === 'shadow')).toBe(true);
  });

  it('when the same study is asked again (another image, a retry, another process), then it lands on the same side, and shares nest', () => {
    for (const uid of uids.slice(0, 50)) expect(canaryPoint(uid)).toBe(canaryPoint(uid));
    // A study clinical at share 0.2 stays clinical when the share grows to 0.5: raising a canary never takes a study back.
    const at = (share: number) => new Set(uids.filter((studyInstanceUid) => deploymentFor({ deployment: 'canary', canary: { share } }, { studyInstanceUid }) === 'clinical'));
    const small = at(0.2);
    const large = at(0.5);
    expect([...small].every((uid) => large.has(uid))).toBe(true);
    expect(canaryPoint(uids[0])).toBeGreaterThanOrEqual(0);
    expect(canaryPoint(uids[0])).toBeLessThan(1);
  });
});
