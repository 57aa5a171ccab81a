import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dcmtk } from '../../test/support/dcmtk.ts';
import { buildPart10 } from '../../test/support/dicom-builder.ts';
import { sharedData } from '../../test/support/shared-data.ts';
import { pduGuard } from './pdu-guard.ts';
import { splitPart10 } from './part10.ts';
import { startDimseServer, type DimseServer, type ReceivedInstance } from './server.ts';
import { STATUS } from './status.ts';

/**
 * The bounded SCP on its own, with handlers that record what reaches them, against dcmtk's
 * echoscu/storescu and raw sockets playing a hostile peer.
 */

const MAX_OBJECT_BYTES = 600_000;
const MAX_ASSOCIATIONS = 2;
const received: ReceivedInstance[] = [];
let server: DimseServer;
let dir: string;

const explicitCt = path.join(sharedData, 'dicom/cornerstone-wadoloader/testImages/CTImage.dcm_LittleEndianExplicitTransferSyntax_1.2.840.10008.1.2.1.dcm');

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-dimse-'));
  server = await startDimseServer<string>({
    host: '127.0.0.1', port: 0, aeTitle: 'LANTERN', maxPduLength: 16384, maxAssociations: MAX_ASSOCIATIONS, idleTimeoutMs: 1000,
    maxObjectBytes: MAX_OBJECT_BYTES, storageTransferSyntaxes: ['1.2.840.10008.1.2.1', '1.2.840.10008.1.2'],
    handlers: {
      authorize: async (peer) => (peer.callingAeTitle === 'MODALITY' && peer.address.endsWith('127.0.0.1') ? 'modality-user' : undefined),
      store: async (instance) => {
        if (instance.sopInstanceUid.endsWith('.666')) throw new Error('the store is down');
        received.push(instance);
        return { status: STATUS.success };
      },
      find: async () => ({ matches: [] }),
    },
  });
});

afterAll(async () => {
  await server?.close(1000);
  fs.rmSync(dir, { recursive: true, force: true });
});

const echo = (callingAe = 'MODALITY', calledAe = 'LANTERN') => dcmtk('echoscu', ['-aet', callingAe, '-aec', calledAe, '127.0.0.1', String(server.port)]);

/** A raw connection, resolved when the SCP closes it. */
function rawConnection(): { socket: net.Socket; closed: Promise<void> } {
  const socket = net.connect(server.port, '127.0.0.1');
  socket.on('error', () => undefined);
  return { socket, closed: new Promise((resolve) => socket.once('close', () => resolve())) };
}

describe('bounded DIMSE SCP (dcmjs-dimse wrapped)', () => {
  it('when a listed AE echoes, then C-ECHO succeeds; an unknown calling AE or a wrong called AE is rejected with its PS3.8 reason', async () => {
    expect((await echo()).code).toBe(0);
    const stranger = await echo('STRANGER');
    expect(stranger.code).not.toBe(0);
    expect(stranger.output).toMatch(/Rejected Permanent, Source: Service User[\s\S]*Calling AE Title Not Recognized/);
    const misdialled = await echo('MODALITY', 'SOMEONE');
    expect(misdialled.output).toMatch(/Called AE Title Not Recognized/);
  });

  it('when storescu sends a data set, then the handler gets a Part 10 file whose data set is byte for byte the file\'s', async () => {
    received.length = 0;
    const run = await dcmtk('storescu', ['-aet', 'MODALITY', '-aec', 'LANTERN', '127.0.0.1', String(server.port), explicitCt]);
    expect(run.code).toBe(0);
    expect(received).toHaveLength(1);
    const sent = splitPart10(fs.readFileSync(explicitCt));
    const got = splitPart10(received[0].file);
    expect(got).toMatchObject({ sopClassUid: sent.sopClassUid, sopInstanceUid: sent.sopInstanceUid, transferSyntaxUid: '1.2.840.10008.1.2.1' });
    expect(Buffer.compare(Buffer.from(got.dataSet), Buffer.from(sent.dataSet))).toBe(0);
  });

  it('when a data set is over the byte bound, then storescu gets 0xA700 and the handler never sees it', async () => {
    received.length = 0;
    const big = path.join(dir, 'big.dcm');
    fs.writeFileSync(big, buildPart10('1.2.840.10008.1.2.1', '1.2.840.10008.5.1.4.1.1.7', '1.2.826.0.1.3680043.10.1.77', [
      { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.7' },
      { tag: 0x00080018, vr: 'UI', value: '1.2.826.0.1.3680043.10.1.77' },
      { tag: 0x7fe00010, vr: 'OB', value: new Uint8Array(MAX_OBJECT_BYTES + 1) },
    ]));
    const run = await dcmtk('storescu', ['-v', '-aet', 'MODALITY', '-aec', 'LANTERN', '127.0.0.1', String(server.port), big]);
    expect(run.output).toMatch(/Received Store Response \(Refused: OutOfResources\)/);
    expect(received).toHaveLength(0);
    expect((await echo()).code).toBe(0);
  });

  it('when a data set runs past twice the bound, then the association is aborted rather than read to its end', async () => {
    received.length = 0;
    const huge = path.join(dir, 'huge.dcm');
    fs.writeFileSync(huge, buildPart10('1.2.840.10008.1.2.1', '1.2.840.10008.5.1.4.1.1.7', '1.2.826.0.1.3680043.10.1.78', [
      { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.7' },
      { tag: 0x00080018, vr: 'UI', value: '1.2.826.0.1.3680043.10.1.78' },
      { tag: 0x7fe00010, vr: 'OB', value: new Uint8Array(MAX_OBJECT_BYTES * 4) },
    ]));
    const run = await dcmtk('storescu', ['-v', '-aet', 'MODALITY', '-aec', 'LANTERN', '127.0.0.1', String(server.port), huge]);
    expect(run.code).not.toBe(0);
    expect(run.output).not.toMatch(/Received Store Response/);
    expect(received).toHaveLength(0);
    expect((await echo()).code).toBe(0);
  });

  it('when the handler throws, then the C-STORE is answered 0x0110 (processing failure) and the association goes on', async () => {
    const failing = path.join(dir, 'failing.dcm');
    fs.writeFileSync(failing, buildPart10('1.2.840.10008.1.2.1', '1.2.840.10008.5.1.4.1.1.7', '1.2.826.0.1.3680043.10.1.666', [
      { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.7' },
      { tag: 0x00080018, vr: 'UI', value: '1.2.826.0.1.3680043.10.1.666' },
    ]));
    received.length = 0;
    const run = await dcmtk('storescu', ['-v', '--no-halt', '-aet', 'MODALITY', '-aec', 'LANTERN', '127.0.0.1', String(server.port), failing, explicitCt]);
    const answers = run.output.split('\n').filter((line) => line.includes('Received Store Response'));
    expect(answers).toHaveLength(2);
    expect(answers[0]).toMatch(/0x0?110|ProcessingFailure/i);
    expect(answers[1]).toMatch(/Success/);
    expect(received).toHaveLength(1);
  });

  it('when a peer declares a 4 GiB PDU, then its connection is dropped at once and the SCP goes on answering', async () => {
    const { socket, closed } = rawConnection();
    // A-ASSOCIATE-RQ type 0x01, declared length 0xFFFFFFF0, then a trickle of bytes that must never be kept.
    socket.write(Buffer.from([0x01, 0x00, 0xff, 0xff, 0xff, 0xf0, 0x00, 0x01]));
    socket.write(Buffer.alloc(1000));
    await closed;
    expect((await echo()).code).toBe(0);
  });

  it('when a connection says nothing, then it is closed after the idle timeout', async () => {
    const { closed } = rawConnection();
    await closed;
    // The server's side of the socket closes on its own turn of the event loop.
    while (server.associations() > 0) await new Promise((resolve) => setTimeout(resolve, 10));
  });

  it('when more associations than the limit are open, then the next is rejected as transient (local limit exceeded) and later ones succeed', async () => {
    const idle = Array.from({ length: MAX_ASSOCIATIONS }, rawConnection);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const refused = await echo();
    expect(refused.output).toMatch(/Rejected Transient[\s\S]*Local Limit Exceeded/);
    await Promise.all(idle.map((c) => c.closed));
    expect((await echo()).code).toBe(0);
  });
});

describe('pduGuard', () => {
  const guard = (storing = false) => {
    const trips: string[] = [];
    const counter = { pending: 0 };
    const feed = pduGuard({ maxPduLength: 100, maxNonStoreBytes: 250, storing: () => storing, counter, onViolation: (why) => trips.push(why) });
    return { feed, trips, counter };
  };
  const pdu = (type: number, length: number) => Buffer.concat([Buffer.from([type, 0, length >>> 24, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff]), Buffer.alloc(length)]);

  it('when headers arrive split across chunks, then lengths are still read right and nothing within bounds trips', () => {
    const { feed, trips } = guard();
    const stream = Buffer.concat([pdu(0x04, 100), pdu(0x05, 4), pdu(0x04, 50)]);
    for (let i = 0; i < stream.length; i += 3) feed(stream.subarray(i, i + 3));
    expect(trips).toEqual([]);
  });

  it('when a P-DATA PDU is longer than announced, or commands and queries pile past their bound, then it trips once', () => {
    const long = guard();
    long.feed(pdu(0x04, 101));
    expect(long.trips).toHaveLength(1);
    const piling = guard();
    piling.feed(Buffer.concat([pdu(0x04, 100), pdu(0x04, 100), pdu(0x04, 100), pdu(0x04, 100)]));
    expect(piling.trips).toEqual(['a command or query of more than 250 bytes']);
    const storing = guard(true);
    storing.feed(Buffer.concat([pdu(0x04, 100), pdu(0x04, 100), pdu(0x04, 100)]));
    expect(storing.trips).toEqual([]);
  });
});
