/** Directives every modeldiff page (panel, custom editor, HTML report) ends its CSP with: it fetches, frames, spawns and
 *  posts nothing. Pure constant, shared by the extension host, the report writer and the tests. */
export const NO_NETWORK_DIRECTIVES: readonly string[] = [
  "connect-src 'none'",
  "frame-src 'none'",
  "worker-src 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
];
