/**
 * soma WITHOUT an access token (the library allows it on loopback), for the forged-append test: `deno run -A
 * test/security/open_soma.ts DIR` prints `{"port":N}` and serves until killed.
 *
 * @module
 */
import { startSoma } from "../../src/soma/mod.ts";

const soma = await startSoma({ dataDir: Deno.args[0], host: "127.0.0.1", port: 0, httpPort: false });
console.log(JSON.stringify({ port: soma.port }));
