import { basename, extname } from 'node:path';

/** A file name from the webview (it may contain model names): no folders, no control characters, right extension. */
export function safeExportName(suggested: string, kind: string): string {
  let name = basename(suggested.replace(/\\/g, '/'))
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is replaced
    .replace(/[\u0000-\u001f\u007f<>:"|?*]/g, '_')
    .replace(/^\.+/, '')
    .slice(0, 120);
  if (!name) name = 'modeldiff';
  if (extname(name).toLowerCase() !== `.${kind}`) name += `.${kind}`;
  return name;
}
