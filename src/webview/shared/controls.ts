/** Form controls from @vscode-elements/elements, built with DOM APIs (option labels are set as text). */
import { ce, clear, h } from './dom';

export interface Option {
  value: string;
  label: string;
  description?: string;
}

export interface SelectControl {
  el: HTMLElement;
  get value(): string;
  set value(v: string);
  setOptions(options: Option[], value?: string): void;
}

interface VscSelectLike extends HTMLElement {
  value: string;
}

export function select(id: string, label: string, options: Option[], value: string, onChange: (v: string) => void): SelectControl & { field: HTMLElement } {
  const sel = ce<VscSelectLike>('vscode-single-select', { id, attrs: { 'aria-label': label } });
  let current = value;
  const fill = (opts: Option[], v: string) => {
    clear(sel);
    current = opts.some((o) => o.value === v) ? v : (opts[0]?.value ?? '');
    for (const o of opts) {
      const opt = ce('vscode-option', { attrs: { value: o.value, selected: o.value === current, description: o.description } }, o.label);
      sel.appendChild(opt);
    }
    // the element picks up its options asynchronously; setting value now and after its update keeps them in step
    sel.value = current;
    queueMicrotask(() => {
      if (sel.value !== current) sel.value = current;
    });
  };
  fill(options, value);
  sel.addEventListener('change', () => {
    current = sel.value;
    onChange(current);
  });
  const field = h('label', { class: 'md-field' }, h('span', { class: 'md-field-label' }, label), sel);
  return {
    el: sel,
    field,
    get value() {
      return current;
    },
    set value(v: string) {
      current = v;
      sel.value = v;
    },
    setOptions: (opts, v) => fill(opts, v ?? current),
  };
}

interface VscTextfieldLike extends HTMLElement {
  value: string;
}

export function textfield(id: string, label: string, placeholder: string, value: string, onInput: (v: string) => void, debounceMs = 120): { el: VscTextfieldLike; field: HTMLElement } {
  const tf = ce<VscTextfieldLike>('vscode-textfield', { id, attrs: { placeholder, 'aria-label': label, type: 'search' } });
  tf.value = value;
  let t: ReturnType<typeof setTimeout> | undefined;
  tf.addEventListener('input', () => {
    if (t) clearTimeout(t);
    t = setTimeout(() => onInput(tf.value), debounceMs);
  });
  const field = h('label', { class: 'md-field' }, h('span', { class: 'md-field-label' }, label), tf);
  return { el: tf, field };
}
