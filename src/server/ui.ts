/**
 * The web UI: `web/index.html`, `web/styles.css` and `web/app.tsx` bundled with esbuild (npm, pinned in
 * deno.json) into memory when the program starts, then served with ETags and gzip.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

/** One file of the UI, ready to send. */
export interface Asset {
  readonly contentType: string;
  readonly body: Uint8Array;
  readonly gzip: Uint8Array;
  readonly etag: string;
}

/** The UI's files by URL path (`/` is index.html). */
export type UiAssets = ReadonlyMap<string, Asset>;

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const WEB = join(ROOT, "web");

async function asset(contentType: string, body: Uint8Array): Promise<Asset> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array(body)));
  const etag = `"${Array.from(digest.subarray(0, 12), (b) => b.toString(16).padStart(2, "0")).join("")}"`;
  return { contentType, body, gzip: gzipSync(body), etag };
}

/** Bundles `web/app.tsx` (minified, for browsers) and returns its JavaScript. */
export async function bundleApp(): Promise<Uint8Array> {
  try {
    const result = await esbuild.build({
      entryPoints: [join(WEB, "app.tsx")],
      absWorkingDir: ROOT,
      bundle: true,
      write: false,
      minify: true,
      format: "esm",
      platform: "browser",
      target: ["es2022"],
      jsx: "automatic",
      jsxImportSource: "preact",
      legalComments: "none",
      logLevel: "silent",
    });
    return result.outputFiles[0].contents;
  } finally {
    await esbuild.stop();
  }
}

let built: Promise<UiAssets> | undefined;

/**
 * Builds the UI once per process (later calls share the result).
 *
 * @example
 * ```ts ignore
 * const assets = await buildUi();
 * console.log([...assets.keys()]); // ["/", "/app.js", "/styles.css"]
 * ```
 */
export function buildUi(): Promise<UiAssets> {
  built ??= (async () => {
    const [html, css, js] = await Promise.all([
      Deno.readFile(join(WEB, "index.html")),
      Deno.readFile(join(WEB, "styles.css")),
      bundleApp(),
    ]);
    return new Map([
      ["/", await asset("text/html; charset=utf-8", html)],
      ["/app.js", await asset("text/javascript; charset=utf-8", js)],
      ["/styles.css", await asset("text/css; charset=utf-8", css)],
    ]);
  })();
  built.catch(() => (built = undefined));
  return built;
}
