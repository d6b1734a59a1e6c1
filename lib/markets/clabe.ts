/** Mexican CLABE (18 digits: bank 3, plaza 3, account 11, check digit 1). */

const CLABE_WEIGHTS = [3, 7, 1];

/** The check digit for the first 17 digits of a CLABE. */
export function clabeCheckDigit(first17: string): number {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (Number(first17[i]) * CLABE_WEIGHTS[i % 3]) % 10;
  return (10 - (sum % 10)) % 10;
}

/** True when `value` is 18 ASCII digits whose last digit is the CLABE check digit. */
export function isValidClabe(value: string): boolean {
  return /^\d{18}$/.test(value) && clabeCheckDigit(value) === Number(value[17]);
}
