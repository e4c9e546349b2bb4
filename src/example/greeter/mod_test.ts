import { join } from "node:path";
import {
  Sqlite,
  SqliteDeadLetterQueue,
  SqliteDocumentStore,
  SqliteTokenStore,
} from "../../dendrite/sqlite/mod.ts";
import { startSoma } from "../../soma/mod.ts";
import { assertEquals } from "../../../test/assert.ts";
import { exampleRegistry } from "../wiring.ts";
import { GREETER_PROJECTION, startGreeter } from "./mod.ts";

Deno.test("startGreeter() lists its processor on the ports' processor host (soma's dashboard) and removes it at stop", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dendrite-greeter-" });
  const registry = exampleRegistry();
  const soma = await startSoma({ dataDir: dir, port: 0, httpPort: false, heartbeatIntervalMs: 0, registry });
  const sqlite = new Sqlite(join(dir, "query.sqlite"));
  try {
    const names = async () => (await soma.processors()).map((view) => view.name);
    assertEquals((await names()).includes(GREETER_PROJECTION), false);
    const greeter = await startGreeter({
      commandBus: soma.commandBus,
      queryBus: soma.queryBus,
      eventStore: soma.eventStore,
      registry,
      tokenStore: new SqliteTokenStore({ sqlite }),
      documentStore: new SqliteDocumentStore({ sqlite }),
      deadLetters: new SqliteDeadLetterQueue({ sqlite }),
      processors: soma,
    }, { command: true, projection: true });
    assertEquals((await names()).includes(GREETER_PROJECTION), true, "listed without an extra call");
    await greeter.stop();
    assertEquals((await names()).includes(GREETER_PROJECTION), false, "unlisted at stop");
  } finally {
    sqlite.close();
    await soma.close();
    await Deno.remove(dir, { recursive: true });
  }
});
