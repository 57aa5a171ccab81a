import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config.ts';
import { startBanner } from '../../roles/banner.ts';

/** The DIMSE SCP's settings as an operator writes them (LANTERN_DIMSE_*), checked at start. */
describe('LANTERN_DIMSE_* settings', () => {
  it('when LANTERN_DIMSE_PORT is unset, then there is no SCP', () => {
    expect(loadConfig({ LANTERN_DIMSE_PEERS: 'CT1=ct-room' }).dimse).toBeUndefined();
  });

  it('when port and peers are set, then the SCP listens on loopback as LANTERN with the bounds\' defaults, each peer mapped to its user (and address)', () => {
    expect(loadConfig({ LANTERN_DIMSE_PORT: '11112', LANTERN_DIMSE_PEERS: 'CT1=ct-room, ORTHANC=pacs-bot@127.0.0.1' }).dimse).toEqual({
      host: '127.0.0.1', port: 11112, aeTitle: 'LANTERN', maxPduLength: 65536, maxAssociations: 4, idleTimeoutSeconds: 60,
      peers: [{ aeTitle: 'CT1', username: 'ct-room' }, { aeTitle: 'ORTHANC', username: 'pacs-bot', address: '127.0.0.1' }],
    });
  });

  it('when no peer is listed, an entry is malformed or an AE title too long, then the start is refused naming the setting', () => {
    expect(() => loadConfig({ LANTERN_DIMSE_PORT: '11112' })).toThrow(/LANTERN_DIMSE_PEERS/);
    expect(() => loadConfig({ LANTERN_DIMSE_PORT: '11112', LANTERN_DIMSE_PEERS: 'CT1' })).toThrow(/not AE=user/);
    expect(() => loadConfig({ LANTERN_DIMSE_PORT: '11112', LANTERN_DIMSE_PEERS: 'A_VERY_LONG_AE_TITLE=u' })).toThrow(/not AE=user/);
    expect(() => loadConfig({ LANTERN_DIMSE_PORT: '11112', LANTERN_DIMSE_PEERS: 'CT1=u', LANTERN_DIMSE_MAX_PDU: '100' })).toThrow(/LANTERN_DIMSE_MAX_PDU/);
  });

  it('when the SCP listens beyond loopback, then every peer must name the address it calls from (an AE title alone is anyone\'s to claim)', () => {
    expect(() => loadConfig({ LANTERN_DIMSE_PORT: '11112', LANTERN_DIMSE_HOST: '0.0.0.0', LANTERN_DIMSE_PEERS: 'CT1=ct-room@10.1.2.3,CT2=ct-room-2' }))
      .toThrow(/give CT2 the address/);
    expect(loadConfig({ LANTERN_DIMSE_PORT: '11112', LANTERN_DIMSE_HOST: '0.0.0.0', LANTERN_DIMSE_PEERS: 'CT1=ct-room@10.1.2.3' }).dimse?.host).toBe('0.0.0.0');
  });

  it('when lantern start runs the SCP, then its banner says where and as which AE title', () => {
    const banner = startBanner({ apiUrl: 'http://127.0.0.1:8080', workers: 1, failedWorkers: 0, dimse: { host: '127.0.0.1', port: 11112, aeTitle: 'LANTERN' } });
    expect(banner).toContain('DIMSE SCP LANTERN@127.0.0.1:11112');
    expect(startBanner({ apiUrl: 'http://127.0.0.1:8080', workers: 1, failedWorkers: 0 })).not.toContain('DIMSE');
  });
});
