/**
 * Text decoding for Specific Character Set (0008,0005). Covers the single-byte ISO_IR
 * sets, UTF-8, GB18030/GBK, and the common ISO 2022 cases well enough for names and
 * descriptions; full ISO 2022 code-extension switching is not implemented (Japanese is: JIS X 0201
 * katakana in G1 with JIS X 0208 kanji in G0, as chrH32 has).
 */

const SINGLE_TERM_ENCODINGS: Record<string, string> = {
  '': 'latin1',
  ISO_IR_6: 'latin1',
  'ISO_IR 6': 'latin1',
  'ISO_IR 100': 'latin1',
  'ISO_IR 101': 'iso-8859-2',
  'ISO_IR 109': 'iso-8859-3',
  'ISO_IR 110': 'iso-8859-4',
  'ISO_IR 144': 'iso-8859-5',
  'ISO_IR 127': 'iso-8859-6',
  'ISO_IR 126': 'iso-8859-7',
  'ISO_IR 138': 'iso-8859-8',
  'ISO_IR 148': 'iso-8859-9',
  'ISO_IR 166': 'windows-874',
  'ISO_IR 13': 'shift_jis',
  'ISO_IR 192': 'utf-8',
  GB18030: 'gb18030',
  GBK: 'gbk',
};

// In ISO 2022 these sets live in G1 (high bit set), so once the escape sequences are
// stripped the bytes are plain EUC and a stock decoder reads them.
const ISO_2022_G1_ENCODINGS: Record<string, string> = {
  'ISO 2022 IR 100': 'latin1',
  'ISO 2022 IR 58': 'gb18030',
  'ISO 2022 IR 149': 'euc-kr',
  'ISO 2022 IR 192': 'utf-8',
};

// Japanese kanji sets live in G0 and need a stateful decoder that honours the escapes.
const ISO_2022_JP_TERMS = new Set(['ISO 2022 IR 87', 'ISO 2022 IR 159']);
// Half-width katakana (JIS X 0201, ISO 2022 IR 13) lives in G1: bytes A1–DF, which the
// ISO-2022-JP decoder does not know (it has no G1).
const ISO_2022_KATAKANA_TERM = 'ISO 2022 IR 13';
const KATAKANA_G1 = { first: 0xa1, last: 0xdf, codePoint: 0xff61 };

const ESCAPE_SEQUENCE = /\x1b[\x20-\x2f]*[\x30-\x7e]/g;
const TRAILING_PADDING = /[\0 ]+$/;

export type TextDecodeFn = (bytes: Uint8Array) => string;

export function textDecoderFor(specificCharacterSet: string | undefined): TextDecodeFn {
  const terms = (specificCharacterSet ?? '').split('\\').map((t) => t.trim());
  if (terms.some((t) => ISO_2022_JP_TERMS.has(t))) return terms.includes(ISO_2022_KATAKANA_TERM) ? japaneseWithKatakana() : decoderFor('iso-2022-jp', false);
  const g1 = terms.map((t) => ISO_2022_G1_ENCODINGS[t]).find(Boolean);
  if (g1) return decoderFor(g1, true);
  const single = terms.map((t) => SINGLE_TERM_ENCODINGS[t]).find(Boolean);
  return decoderFor(single ?? 'latin1', false);
}

function decoderFor(encoding: string, stripEscapes: boolean): TextDecodeFn {
  const decoder = new TextDecoder(encoding);
  return (bytes) => {
    const text = stripEscapes
      ? decoder.decode(bytes).replace(ESCAPE_SEQUENCE, '')
      : decoder.decode(bytes);
    return text.replace(TRAILING_PADDING, '');
  };
}

/**
 * Japanese with half-width katakana: runs of G1 bytes become their katakana, the bytes between
 * go to the ISO-2022-JP decoder, each run after a katakana one prefixed with the last escape
 * seen, so kanji designated before the katakana stay kanji after it.
 */
function japaneseWithKatakana(): TextDecodeFn {
  const jis = new TextDecoder('iso-2022-jp');
  return (bytes) => {
    let text = '';
    let designation: Uint8Array = new Uint8Array(0);
    for (let start = 0; start < bytes.length;) {
      const katakana = bytes[start] >= 0x80;
      let end = start;
      while (end < bytes.length && (bytes[end] >= 0x80) === katakana) end += 1;
      const run = bytes.subarray(start, end);
      if (katakana) {
        text += String.fromCodePoint(...[...run].map((b) => (b >= KATAKANA_G1.first && b <= KATAKANA_G1.last ? KATAKANA_G1.codePoint + b - KATAKANA_G1.first : 0xfffd)));
      } else {
        text += jis.decode(new Uint8Array([...designation, ...run]));
        designation = lastEscape(run) ?? designation;
      }
      start = end;
    }
    return text.replace(TRAILING_PADDING, '');
  };
}

function lastEscape(bytes: Uint8Array): Uint8Array | undefined {
  const escapes = [...Buffer.from(bytes).toString('latin1').matchAll(ESCAPE_SEQUENCE)];
  const last = escapes.at(-1);
  return last && Buffer.from(last[0], 'latin1');
}
