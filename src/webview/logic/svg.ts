/** SVG text for exporting the network graph (escaping: src/shared/text.ts). Pure. */
import { escapeHtml } from '../../shared/text';

/** Strips characters XML 1.0 does not allow at all (they would make the file unreadable). */
export function xmlSafe(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '\ufffd');
}

export interface SvgNode {
  id: number;
  label: string;
  x: number;
  y: number;
  color: string;
}

export interface SvgEdge {
  from: number;
  to: number;
  label: string;
  color: string;
  width: number;
  dashed: boolean;
}

export interface SvgStyle {
  background: string;
  foreground: string;
  fontFamily: string;
  fontSize: number;
  nodeRadius: number;
}

const attr = (v: string | number) => `"${escapeHtml(xmlSafe(String(v)))}"`;
const text = (s: string) => escapeHtml(xmlSafe(s));

export function networkSvg(nodes: SvgNode[], edges: SvgEdge[], style: SvgStyle, title = ''): string {
  const pad = style.nodeRadius + 160;
  const xs = nodes.map((n) => n.x);
  const ys = nodes.map((n) => n.y);
  const minX = Math.min(0, ...xs) - pad;
  const minY = Math.min(0, ...ys) - pad;
  const w = Math.max(0, ...xs) + pad - minX;
  const h = Math.max(0, ...ys) + pad - minY;
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox=${attr(`${minX} ${minY} ${w} ${h}`)} width=${attr(Math.round(w))} height=${attr(Math.round(h))} font-family=${attr(style.fontFamily)} font-size=${attr(style.fontSize)}>`,
  );
  if (title) out.push(`<title>${text(title)}</title>`);
  out.push(`<rect x=${attr(minX)} y=${attr(minY)} width=${attr(w)} height=${attr(h)} fill=${attr(style.background)}/>`);
  for (const e of edges) {
    const a = byId.get(e.from);
    const b = byId.get(e.to);
    if (!a || !b) continue;
    out.push(
      `<line x1=${attr(a.x)} y1=${attr(a.y)} x2=${attr(b.x)} y2=${attr(b.y)} stroke=${attr(e.color)} stroke-width=${attr(e.width)}${e.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
    );
    if (e.label)
      out.push(
        `<text x=${attr((a.x + b.x) / 2)} y=${attr((a.y + b.y) / 2)} fill=${attr(style.foreground)} text-anchor="middle">${text(e.label)}</text>`,
      );
  }
  for (const n of nodes) {
    out.push(`<circle cx=${attr(n.x)} cy=${attr(n.y)} r=${attr(style.nodeRadius)} fill=${attr(n.color)}/>`);
    out.push(
      `<text x=${attr(n.x)} y=${attr(n.y + style.nodeRadius + style.fontSize + 2)} fill=${attr(style.foreground)} text-anchor="middle">${text(n.label)}</text>`,
    );
  }
  out.push('</svg>');
  return out.join('\n');
}
