/**
 * cookieValue scans a Cookie request header (RFC 6265 `name=value; …`) for
 * cookie `name` without building a map; with `accept`, the first value it
 * accepts wins (a client may send the same name twice). Pure text: shared by
 * the sticky cookie and the `hashKey: cookie:NAME` strategy.
 */
export function cookieValue(header: string | undefined, name: string, accept?: (value: string) => boolean): string | undefined {
  if (!header || !name) return undefined;
  let pos = 0;
  const len = header.length;
  while (pos < len) {
    let end = header.indexOf(';', pos);
    if (end < 0) end = len;
    const eq = header.indexOf('=', pos);
    if (eq > pos && eq < end && header.slice(pos, eq).trim() === name) {
      const value = header.slice(eq + 1, end).trim();
      if (!accept || accept(value)) return value;
    }
    pos = end + 1;
  }
  return undefined;
}
