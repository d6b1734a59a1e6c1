import { cciGroupCheckDigit, isValidCci } from '../../lib/markets/cci';
import {
  makeCci,
  randomDigits,
  referenceCciGroupDigit,
  seededRandom,
  singleDigitChanges,
} from './support/check-digits';

describe('Peruvian CCI check digits (cashy-reference §8.2)', () => {
  describe('published vectors (§8.3)', () => {
    it('accepts 00219300153895206813 (published "with verifying digits")', () => {
      expect(cciGroupCheckDigit('002193')).toBe(1);
      expect(cciGroupCheckDigit('001538952068')).toBe(3);
      expect(isValidCci('00219300153895206813')).toBe(true);
    });

    it("rejects Cashy's own appendix example 00219400254640654321 (it fails the check digits)", () => {
      expect(isValidCci('00219400254640654321')).toBe(false);
    });

    it('accepts the reference BanBif example 03810110700064503226', () => {
      expect(isValidCci('03810110700064503226')).toBe(true);
    });

    it('treats 00000000000000000000 as checksum-valid (both groups sum to 0)', () => {
      expect(isValidCci('00000000000000000000')).toBe(true);
    });

    it('computes each group digit separately, with weights restarting at 1 for each group', () => {
      // Weights 1,2,1,2,1,2 over "038101" give 0+6+8+2+0+2 = 18 -> check 2.
      expect(cciGroupCheckDigit('038101')).toBe(2);
      // "107000645032": 1+0+7+0+0+0+6+8+5+0+3+4 = 34 -> 6.
      expect(cciGroupCheckDigit('107000645032')).toBe(6);
    });
  });

  describe('shape', () => {
    it.each([
      ['19 digits', '0021930015389520681'],
      ['21 digits', '002193001538952068130'],
      ['18 digits ending in 00 (D24 legacy form, not accepted by Cashy)', '002193001538952000'],
      ['18 digits', '002193001538952068'],
      ['an 18-digit CLABE', '032180000118359719'],
      ['empty', ''],
    ])('rejects a wrong length (%s)', (_label, value) => {
      expect(isValidCci(value)).toBe(false);
    });

    it.each([
      ['a letter', '0021930015389520681A'],
      ['dashes', '002-193-001538952068-13'],
      ['spaces', '002 193 001538952068 13'],
      ['a leading space', ' 00219300153895206813'],
      ['a trailing newline', '00219300153895206813\n'],
      ['full-width digits', '００２１９３００１５３８９５２０６８１３'],
      ['Arabic-Indic digits', '٠٠٢١٩٣٠٠١٥٣٨٩٥٢٠٦٨١٣'],
    ])('rejects non-ASCII-digit input (%s)', (_label, value) => {
      expect(isValidCci(value)).toBe(false);
    });
  });

  describe('property: derived from the algorithm', () => {
    const random = seededRandom(0xcc1);
    const samples = Array.from({ length: 400 }, () => makeCci(randomDigits(random, 18)));
    samples.push(
      makeCci('0'.repeat(18)),
      makeCci('9'.repeat(18)),
      makeCci('038101107000645032'),
      makeCci('555555555555555555'),
    );

    it('the library group digit equals the reference algorithm', () => {
      const mismatches = samples.filter(
        (s) =>
          cciGroupCheckDigit(s.slice(0, 6)) !== referenceCciGroupDigit(s.slice(0, 6)) ||
          cciGroupCheckDigit(s.slice(6, 18)) !== referenceCciGroupDigit(s.slice(6, 18)),
      );
      expect(mismatches).toEqual([]);
    });

    it('accepts every CCI built with the algorithm', () => {
      expect(samples.filter((s) => !isValidCci(s))).toEqual([]);
    });

    it('covers every value of both check digits', () => {
      expect(new Set(samples.map((s) => s[18])).size).toBe(10);
      expect(new Set(samples.map((s) => s[19])).size).toBe(10);
    });

    it('rejects every single-digit change at every position (all 9 alternatives)', () => {
      const accepted: string[] = [];
      let checked = 0;
      for (const valid of samples) {
        for (const { changed } of singleDigitChanges(valid)) {
          checked++;
          if (isValidCci(changed)) accepted.push(`${valid} -> ${changed}`);
        }
      }
      expect(checked).toBe(samples.length * 20 * 9);
      expect(accepted).toEqual([]);
    });

    it('rejects the two check digits swapped when they differ', () => {
      const swapped = samples
        .filter((s) => s[18] !== s[19])
        .map((s) => s.slice(0, 18) + s[19] + s[18])
        .filter((s) => isValidCci(s));
      expect(swapped).toEqual([]);
    });
  });
});
