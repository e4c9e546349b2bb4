import { createHash } from "node:crypto";
import { assert, assertEquals } from "../../test/assert.ts";
import { CommandRouter, type RoutedCommand } from "./commands.ts";
import { Payload } from "./payload.ts";

/** A router with in-process endpoints named by their load factors; `owner(key)` says which one handled a command. */
function router(loadFactors: Record<string, number>) {
  const r = new CommandRouter();
  for (const [streamId, factor] of Object.entries(loadFactors)) {
    r.addEndpoint({
      streamId,
      clientId: streamId,
      component: "test",
      local: true,
      deliver(command: RoutedCommand) {
        const payload = Payload.ofSerialized({ type: streamId, revision: "", data: new Uint8Array() });
        r.respond(streamId, command.id, { ok: true, id: command.id, metadata: {}, payload });
      },
    }, Infinity);
    r.subscribe(streamId, "Route", factor);
  }
  const owner = async (routingKey: string): Promise<string> => {
    const id = crypto.randomUUID();
    const payload = Payload.ofSerialized({ type: "Route", revision: "", data: new Uint8Array() });
    const command = { id, name: "Route", routingKey, priority: 0, timestamp: 0, payload, metadata: {} };
    const outcome = await r.dispatch({ ...command, clientId: "dispatcher", component: "d" }, {
      timeoutMs: 5_000,
    });
    if (!outcome.ok) throw new Error(outcome.error.message);
    return outcome.payload!.type;
  };
  return { router: r, owner };
}

/** The documented ring, from its description: points `md5(streamId + " #" + i)`, a key goes to the next point. */
function ringOwner(loadFactors: Record<string, number>, routingKey: string): string {
  const md5 = (text: string) => createHash("md5").update(text).digest("hex");
  const points = Object.entries(loadFactors)
    .flatMap(([id, factor]) =>
      Array.from({ length: factor }, (_, i): [string, string] => [md5(`${id} #${i}`), id])
    )
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const hash = md5(routingKey);
  return (points.find(([point]) => point >= hash) ?? points[0])[1];
}

const keys = Array.from({ length: 2_000 }, (_, i) => `key-${i}`);

Deno.test("CommandRouter routes each routing key to the endpoint the documented md5 ring gives", async () => {
  const factors = { "a.1": 100, "b.2": 100, "c.3": 100 };
  const { owner } = router(factors);
  const routed = await Promise.all(keys.slice(0, 300).map(owner));
  assertEquals(routed, keys.slice(0, 300).map((key) => ringOwner(factors, key)));
  assertEquals(new Set(routed).size, 3, "every endpoint gets keys");
});

Deno.test("CommandRouter splits the keys by load factor: three times the points, about three times the keys", async () => {
  const { owner } = router({ light: 100, heavy: 300 });
  const counts = { light: 0, heavy: 0 };
  for (const who of await Promise.all(keys.map(owner))) counts[who as keyof typeof counts]++;
  const share = counts.heavy / keys.length;
  assert(share > 0.65 && share < 0.85, `heavy took ${counts.heavy} of ${keys.length}, expected about 75%`);
});

Deno.test("CommandRouter: load factor 0 counts as the default (100), not as no points", async () => {
  const zero = router({ a: 0, b: 100 });
  const hundred = { a: 100, b: 100 };
  const routed = await Promise.all(keys.slice(0, 200).map(zero.owner));
  assertEquals(routed, keys.slice(0, 200).map((key) => ringOwner(hundred, key)));
});
