/** Masks an account or ID number for logs, keeping the last 4 characters: `****6813`. */
export function maskTail(value: unknown): string {
  if (value === undefined || value === null) return '';
  const text = String(value);
  return text.length <= 4 ? '****' : `****${text.slice(-4)}`;
}
