/** Attributes the DOM helper refuses to set: event handlers, inline style and URL-bearing attributes. Pure. */
const REFUSED_ATTR = /^(on|style$|href$|src$|srcdoc$|action$|formaction$|xlink:href$)/i;

export function isRefusedAttribute(name: string): boolean {
  return REFUSED_ATTR.test(name.trim());
}
