/**
 * How every port contract registers its cases: one Deno test per case, named `<adapter>: <Port> <case>`, each on a
 * fresh fixture that is closed afterwards; a skipped suite says why once.
 *
 * @module
 */

/** Anything a suite opens per case. */
export interface Closable {
  close(): Promise<void>;
}

/** Returns the `test(name, fn)` of one suite. */
export function contractSuite<F extends Closable>(
  port: string,
  adapter: string,
  open: () => Promise<F>,
  options: { readonly skip?: string | false } = {},
): (name: string, fn: (fixture: F) => Promise<void>) => void {
  if (options.skip) console.log(`Skipping the ${port} contract for ${adapter}: ${options.skip}`);
  return (name, fn) =>
    Deno.test({
      name: `${adapter}: ${port} ${name}`,
      ignore: Boolean(options.skip),
      // Network adapters keep connections and timers of their own between cases.
      sanitizeOps: false,
      sanitizeResources: false,
      async fn() {
        const fixture = await open();
        try {
          await fn(fixture);
        } finally {
          await fixture.close();
        }
      },
    });
}
