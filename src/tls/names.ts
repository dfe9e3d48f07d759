/**
 * Certificate names and how a client's SNI name matches them (RFC 6125
 * §6.4): exact, case-insensitive DNS names, and a wildcard only as the whole
 * left-most label (`*.example.com` matches `a.example.com`, never
 * `example.com` nor `a.b.example.com`). Pure functions.
 */
import type { X509Certificate } from 'node:crypto';

/** namesOf lists a certificate's DNS names: its SAN DNS entries, else its subject CN (legacy certificates). */
export function namesOf(x509: X509Certificate): string[] {
  const san = x509.subjectAltName;
  if (san) {
    const dns = splitSan(san).filter((e) => e.startsWith('DNS:')).map((e) => e.slice(4).toLowerCase());
    if (dns.length > 0) return dns;
    // A certificate with only IP SANs names no host (the client matches the IP itself).
    const ips = splitSan(san).filter((e) => e.startsWith('IP Address:')).map((e) => e.slice('IP Address:'.length));
    if (ips.length > 0) return ips;
  }
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(x509.subject)?.[1];
  return cn ? [cn.toLowerCase()] : [];
}

/** splitSan splits Node's subjectAltName text ("DNS:a, DNS:b"), quoted entries kept whole. */
function splitSan(san: string): string[] {
  const out: string[] = [];
  const re = /(?:[^,"]|"(?:[^"\\]|\\.)*")+/g;
  for (const m of san.matchAll(re)) out.push(m[0].trim().replace(/"/g, ''));
  return out;
}

/** nameMatches tells whether a certificate name (maybe "*.example.com") covers `host` (RFC 6125). */
export function nameMatches(name: string, host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  const n = name.toLowerCase();
  if (!n.startsWith('*.')) return n === h;
  const suffix = n.slice(1); // ".example.com"
  if (!h.endsWith(suffix)) return false;
  const label = h.slice(0, h.length - suffix.length);
  return label.length > 0 && !label.includes('.');
}

/**
 * pickByName returns the index of the first entry whose names cover
 * `host`, exact names before wildcards (as nginx's server_name does), or
 * -1 when none does.
 */
export function pickByName(entries: ReadonlyArray<{ names: readonly string[] }>, host: string): number {
  const h = host.toLowerCase().replace(/\.$/, '');
  const exact = entries.findIndex((e) => e.names.some((n) => !n.startsWith('*.') && nameMatches(n, h)));
  if (exact !== -1) return exact;
  return entries.findIndex((e) => e.names.some((n) => n.startsWith('*.') && nameMatches(n, h)));
}
