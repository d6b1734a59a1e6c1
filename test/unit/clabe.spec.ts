import { clabeCheckDigit, isValidClabe } from '../../lib/markets/clabe';
import {
  makeClabe,
  randomDigits,
  referenceClabeCheckDigit,
  seededRandom,
  singleDigitChanges,
} from './support/check-digits';

describe('CLABE check digit (cashy-reference §8.1)', () => {
  describe('published vectors (§8.3)', () => {
    it('accepts the classic worked example 032180000118359719 (check digit 9)', () => {
      expect(clabeCheckDigit('03218000011835971')).toBe(9);
      expect(isValidClabe('032180000118359719')).toBe(true);
    });

    it('accepts 002010077777777771', () => {
      expect(clabeCheckDigit('00201007777777777')).toBe(1);
      expect(isValidClabe('002010077777777771')).toBe(true);
    });

    it('rejects 002010077777777779 (wrong check digit; the right one is 1)', () => {
      expect(isValidClabe('002010077777777779')).toBe(false);
    });

    it('accepts 000000000000000000 as checksum-valid (bank 000 does not exist: the checksum alone is not enough)', () => {
      expect(clabeCheckDigit('00000000000000000')).toBe(0);
      expect(isValidClabe('000000000000000000')).toBe(true);
    });
  });

  describe('shape', () => {
    it.each([
      ['17 digits', '03218000011835971'],
      ['19 digits', '0321800001183597190'],
      ['16 digits', '0321800001183597'],
      ['empty', ''],
      ['20-digit CCI', '00219300153895206813'],
    ])('rejects a wrong length (%s)', (_label, value) => {
      expect(isValidClabe(value)).toBe(false);
    });

    it.each([
      ['a letter', '03218000011835971A'],
      ['a letter inside', '0321800001183X9719'],
      ['spaces', '032 180 00011835971'],
      ['a leading space', ' 032180000118359719'],
      ['a trailing newline', '032180000118359719\n'],
      ['dashes', '032-180-0001183597-9'],
      ['a plus sign', '+32180000118359719'],
      ['a decimal point', '03218000011835971.9'],
      ['full-width digits', '０３２１８００００１１８３５９７１９'],
      ['Arabic-Indic digits', '٠٣٢١٨٠٠٠٠١١٨٣٥٩٧١٩'],
    ])('rejects non-ASCII-digit input (%s)', (_label, value) => {
      expect(isValidClabe(value)).toBe(false);
    });
  });

  describe('property: derived from the algorithm', () => {
    const random = seededRandom(0xc1abe);
    const samples = Array.from({ length: 400 }, () => makeClabe(randomDigits(random, 17)));
    // Edge patterns: all zeros, all nines, and every check digit value 0..9 at least once.
    samples.push(
      makeClabe('0'.repeat(17)),
      makeClabe('9'.repeat(17)),
      makeClabe('12345678901234567'),
    );
    for (let d = 0; d <= 9; d++) {
      let found: string | undefined;
      for (let n = 0; !found; n++) {
        const candidate = makeClabe(String(n).padStart(17, '0'));
        if (candidate.endsWith(String(d))) found = candidate;
      }
      samples.push(found);
    }

    it('the library check digit equals the reference algorithm', () => {
      const mismatches = samples.filter(
        (s) => clabeCheckDigit(s.slice(0, 17)) !== referenceClabeCheckDigit(s.slice(0, 17)),
      );
      expect(mismatches).toEqual([]);
    });

    it('accepts every CLABE built with the algorithm', () => {
      expect(samples.filter((s) => !isValidClabe(s))).toEqual([]);
    });

    it('covers every check digit value', () => {
      expect(new Set(samples.map((s) => s[17])).size).toBe(10);
    });

    it('rejects every single-digit change at every position (all 9 alternatives)', () => {
      const accepted: string[] = [];
      let checked = 0;
      for (const valid of samples) {
        for (const { changed } of singleDigitChanges(valid)) {
          checked++;
          if (isValidClabe(changed)) accepted.push(`${valid} -> ${changed}`);
        }
      }
      expect(checked).toBe(samples.length * 18 * 9);
      expect(accepted).toEqual([]);
    });

    it('rejects a valid CLABE with a digit dropped or added', () => {
      const accepted = samples.filter(
        (s) => isValidClabe(s.slice(1)) || isValidClabe(s + '0') || isValidClabe('0' + s),
      );
      expect(accepted).toEqual([]);
    });
  });
});
