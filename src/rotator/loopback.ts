// Which hosts no one can stand between rotor and: the transport defaults and plan's weak-tls flag
// treat them apart (a local server without a certificate is fine; a remote one is not).

/** Loopback names and addresses (localhost, 127.0.0.0/8, ::1) and Unix socket paths. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h.startsWith('/') || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || /^::ffff:127(\.\d{1,3}){3}$/.test(h);
}
