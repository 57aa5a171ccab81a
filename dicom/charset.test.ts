import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sharedData } from '../test/support/shared-data.ts';
import { textDecoderFor } from './charset.ts';
import { parseDicom } from './parse.ts';

/** A real file's Patient's Name (0010,0010) as its bytes, with its Specific Character Set. */
function patientNameOf(file: string): { characterSet: string | undefined; bytes: Uint8Array } {
  const { dataSet } = parseDicom(new Uint8Array(fs.readFileSync(path.join(sharedData, 'dicom/fo-dicom/files/charset', file))));
  const name = dataSet.elements.x00100010;
  return { characterSet: dataSet.string('x00080005'), bytes: dataSet.byteArray.subarray(name.dataOffset, name.dataOffset + name.length) };
}

describe('text in a Specific Character Set', () => {
  it.each([
    // pydicom 3.0.2 reads them so; dcm2json cannot (glibc's iconv has no ISO 2022 IR 87).
    ['chrH32.dcm', 'ISO 2022 IR 13\\ISO 2022 IR 87', 'ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう'],
    ['chrH31.dcm', '\\ISO 2022 IR 87', 'Yamada^Tarou=山田^太郎=やまだ^たろう'],
    ['chrI2.dcm', '\\ISO 2022 IR 149', 'Hong^Gildong=洪^吉洞=홍^길동'],
    ['chrX2.dcm', 'GB18030', 'Wang^XiaoDong=王^小东='],
  ])('when a real file\'s name is in %s (%s), then it reads as %s', (file, characterSet, expected) => {
    const name = patientNameOf(file);
    expect(name.characterSet).toBe(characterSet);
    expect(textDecoderFor(name.characterSet)(name.bytes)).toBe(expected);
  });

  it('when half-width katakana (G1) comes between kanji designated once (G0), then the kanji after it are still kanji', () => {
    // ESC $ B designates JIS X 0208 to G0: 山 (3B 33), then ｱ in G1 (B1), then 田 (45 44) with no new escape; ESC ( B back to ASCII.
    const bytes = new Uint8Array([0x1b, 0x24, 0x42, 0x3b, 0x33, 0xb1, 0x45, 0x44, 0x1b, 0x28, 0x42]);
    expect(textDecoderFor('ISO 2022 IR 13\\ISO 2022 IR 87')(bytes)).toBe('山ｱ田');
  });
});
