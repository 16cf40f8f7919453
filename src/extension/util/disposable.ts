/** A base for objects that own listeners and resources: `_register` them, `dispose()` drains them once. */
export interface IDisposable {
  dispose(): unknown;
}

export abstract class Disposable implements IDisposable {
  private readonly _disposables: IDisposable[] = [];
  private _isDisposed = false;

  protected get isDisposed(): boolean {
    return this._isDisposed;
  }

  protected _register<T extends IDisposable>(d: T): T {
    if (this._isDisposed) d.dispose();
    else this._disposables.push(d);
    return d;
  }

  dispose(): void {
    if (this._isDisposed) return;
    this._isDisposed = true;
    disposeAll(this._disposables);
  }
}

/** Disposes in reverse order of registration; one failing dispose does not stop the others. */
export function disposeAll(list: IDisposable[]): void {
  while (list.length) {
    try {
      list.pop()!.dispose();
    } catch {
      /* keep draining */
    }
  }
}
