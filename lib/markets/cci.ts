/**
 * Peruvian CCI (Código de Cuenta Interbancario, 20 digits): entity 3, office 3, account 12, then
 * one check digit over entity+office and one over the account.
 */

/** Check digit of one CCI group: weights 1,2,1,2… from the group's start, products' digits summed. */
export function cciGroupCheckDigit(group: string): number {
  let sum = 0;
  for (let i = 0; i < group.length; i++) {
    let product = Number(group[i]) * (i % 2 === 0 ? 1 : 2);
    if (product > 9) product = Math.floor(product / 10) + (product % 10);
    sum += product;
  }
  return (10 - (sum % 10)) % 10;
}

/** True when `value` is 20 ASCII digits with both CCI check digits right. */
export function isValidCci(value: string): boolean {
  if (!/^\d{20}$/.test(value)) return false;
  return (
    cciGroupCheckDigit(value.slice(0, 6)) === Number(value[18]) &&
    cciGroupCheckDigit(value.slice(6, 18)) === Number(value[19])
  );
}
