/**
 * Where AI results SRs are pushed is read once at start (config.ts LANTERN_RESULTS_DESTINATION):
 * a setting Lantern cannot use stops the start with a message naming it, instead of failing
 * every push later. The pushes themselves are tested against real Orthancs in ai-results-sr.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';

const destination = (env: Record<string, string>) => loadConfig(env).resultsDestination;

describe('LANTERN_RESULTS_DESTINATION', () => {
  it('when unset, then nothing is pushed', () => {
    expect(destination({})).toBeUndefined();
  });

  it('when it names a DICOMweb base URL, with or without a token, then STOW-RS goes there', () => {
    expect(destination({ LANTERN_RESULTS_DESTINATION: 'dicomweb:https://pacs.example.org/dicom-web' })).toEqual({ kind: 'dicomweb', url: 'https://pacs.example.org/dicom-web' });
    expect(destination({ LANTERN_RESULTS_DESTINATION: 'dicomweb:http://127.0.0.1:8042/dicom-web', LANTERN_RESULTS_DESTINATION_TOKEN: 't' }))
      .toEqual({ kind: 'dicomweb', url: 'http://127.0.0.1:8042/dicom-web', token: 't' });
  });

  it('when it names a DIMSE peer, then C-STORE goes there from the calling AE title', () => {
    expect(destination({ LANTERN_RESULTS_DESTINATION: 'dimse:PACS@10.0.0.5:104' })).toEqual({ kind: 'dimse', calledAe: 'PACS', host: '10.0.0.5', port: 104, callingAe: 'LANTERN' });
    expect(destination({ LANTERN_RESULTS_DESTINATION: 'dimse:PACS@pacs.local:11112', LANTERN_RESULTS_CALLING_AE: 'LANTERN_AI' }))
      .toMatchObject({ host: 'pacs.local', port: 11112, callingAe: 'LANTERN_AI' });
  });

  it.each([
    ['a bearer token over plain http beyond loopback', { LANTERN_RESULTS_DESTINATION: 'dicomweb:http://pacs.example.org/dicom-web', LANTERN_RESULTS_DESTINATION_TOKEN: 't' }, /TOKEN is sent only over https/],
    ['no scheme', { LANTERN_RESULTS_DESTINATION: 'pacs.example.org' }, /must be dicomweb:<base URL> or dimse:<AE>@<host>:<port>/],
    ['a DICOMweb URL that is not one', { LANTERN_RESULTS_DESTINATION: 'dicomweb:not a url' }, /is not a URL/],
    ['a port out of range', { LANTERN_RESULTS_DESTINATION: 'dimse:PACS@10.0.0.5:70000' }, /port 70000 is not 1–65535/],
    ['an AE title past 16 characters', { LANTERN_RESULTS_DESTINATION: 'dimse:THIS_AE_TITLE_IS_LONG@10.0.0.5:104' }, /must be dicomweb/],
    ['a calling AE title past 16 characters', { LANTERN_RESULTS_DESTINATION: 'dimse:PACS@10.0.0.5:104', LANTERN_RESULTS_CALLING_AE: 'A_CALLING_AE_TOO_LONG' }, /at most 16 characters/],
  ])('when it has %s, then the start is refused with the reason', (_what, env, message) => {
    expect(() => destination(env)).toThrow(message);
  });
});
