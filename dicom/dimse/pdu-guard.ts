/**
 * Reads the PDU framing (PS3.8 9.3: type, reserved, 32-bit length) of every byte a peer sends,
 * ahead of dcmjs-dimse, which would buffer a PDU of any declared length — 4 GiB for the asking
 * — by concatenating each chunk onto the last. A PDU longer than the bound, or a command or
 * C-FIND identifier growing past `maxNonStoreBytes`, trips the guard once: the caller drops
 * the connection before dcmjs-dimse ever sees a complete oversized PDU.
 */

const P_DATA_TF = 0x04;
/** A-ASSOCIATE-RQ with a hundred presentation contexts is ~40 KiB; release and abort PDUs are a few bytes. */
const MAX_OTHER_PDU_LENGTH = 256 * 1024;

export interface PduGuardOptions {
  /** The longest P-DATA-TF variable field accepted: the max PDU length Lantern announces. */
  maxPduLength: number;
  /** P-DATA bytes that are not a C-STORE data set, allowed between two requests handed over. */
  maxNonStoreBytes: number;
  /** Whether the data now arriving is a C-STORE data set (bounded by the capture, not here). */
  storing(): boolean;
  /** Reset to 0 by the server each time a request is handed over. */
  counter: { pending: number };
  onViolation(why: string): void;
}

export function pduGuard(options: PduGuardOptions): (chunk: Buffer) => void {
  const header = Buffer.alloc(6);
  let have = 0;
  let remaining = 0;
  let tripped = false;
  const trip = (why: string) => {
    tripped = true;
    options.onViolation(why);
  };
  return (chunk) => {
    let offset = 0;
    while (!tripped && offset < chunk.length) {
      if (remaining > 0) {
        const skip = Math.min(remaining, chunk.length - offset);
        remaining -= skip;
        offset += skip;
        continue;
      }
      const take = Math.min(6 - have, chunk.length - offset);
      chunk.copy(header, have, offset, offset + take);
      have += take;
      offset += take;
      if (have < 6) return;
      have = 0;
      const type = header[0];
      const length = header.readUInt32BE(2);
      const max = type === P_DATA_TF ? options.maxPduLength : MAX_OTHER_PDU_LENGTH;
      if (length > max) return trip(`PDU type ${type} declares ${length} bytes; at most ${max}`);
      remaining = length;
      if (type === P_DATA_TF && !options.storing()) {
        options.counter.pending += length;
        if (options.counter.pending > options.maxNonStoreBytes) return trip(`a command or query of more than ${options.maxNonStoreBytes} bytes`);
      }
    }
  };
}
