/**
 * A read-only array of `length` items, each made by `at(i)` when it is read and not kept: for JSON.stringify, for..of,
 * map, filter, indexing. Writes are refused. Used where holding every item at once would not fit in memory (the pairs
 * of a large compare: see engine/resultBuilder.ts).
 */
export function lazyArray<T>(length: number, at: (i: number) => T): T[] {
  const index = (prop: string | symbol): number => {
    if (typeof prop !== 'string') return -1;
    const i = Number(prop);
    return Number.isInteger(i) && i >= 0 && i < length && String(i) === prop ? i : -1;
  };
  const refuse = (): boolean => {
    throw new TypeError('this array is read-only: its items are made when they are read');
  };
  return new Proxy<T[]>([], {
    get(target, prop, receiver) {
      if (prop === 'length') return length;
      const i = index(prop);
      if (i >= 0) return at(i);
      return Reflect.get(target, prop, receiver) as unknown;
    },
    has(target, prop) {
      return index(prop) >= 0 || Reflect.has(target, prop);
    },
    getOwnPropertyDescriptor(target, prop) {
      const i = index(prop);
      if (i >= 0) return { value: at(i), writable: false, enumerable: true, configurable: true };
      return Reflect.getOwnPropertyDescriptor(target, prop);
    },
    ownKeys(target) {
      const keys: (string | symbol)[] = [];
      for (let i = 0; i < length; i++) keys.push(String(i));
      return [...keys, ...Reflect.ownKeys(target)];
    },
    set: refuse,
    defineProperty: refuse,
    deleteProperty: refuse,
  });
}
