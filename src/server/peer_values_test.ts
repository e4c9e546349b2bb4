import { createContextKey } from "@connectrpc/connect";
import { assertEquals } from "../../test/assert.ts";
import { peerAddressKey } from "../dendrite/security/mod.ts";
import { lazyPeerValues } from "./peer_values.ts";

Deno.test("lazyPeerValues reads the peer once, at the first read of its key, and never when it is set first", () => {
  let reads = 0;
  const peer = () => {
    reads++;
    return "10.0.0.7";
  };
  const other = createContextKey<string>("none");
  const values = lazyPeerValues(peer).set(other, "x");
  assertEquals([values.get(other), reads], ["x", 0]);
  assertEquals([values.get(peerAddressKey), values.get(peerAddressKey), reads], ["10.0.0.7", "10.0.0.7", 1]);

  const overridden = lazyPeerValues(peer).set(peerAddressKey, "192.0.2.1");
  assertEquals([overridden.get(peerAddressKey), reads], ["192.0.2.1", 1]);
  const deleted = lazyPeerValues(peer).delete(peerAddressKey);
  assertEquals([deleted.get(peerAddressKey), reads], ["", 1], "deleted: the key's default");
});
