/** CSS files are bundled as text (scripts/build.mjs: loader '.css': 'text') and adopted as constructed stylesheets. */
declare module '*.css' {
  const text: string;
  export default text;
}

/** Provided by VS Code (or the test harness) to the webview page; callable once. */
declare function acquireVsCodeApi(): {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): unknown;
};
