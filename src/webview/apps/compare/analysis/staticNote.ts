/** The muted line that replaces a control in the static HTML report, where nothing can be computed again. */
import { h } from '../../../shared/dom';

export function staticNote(what: string): HTMLElement {
  return h('p', { class: 'md-muted md-static-note' }, `Computed when the report was written; ${what}`);
}
