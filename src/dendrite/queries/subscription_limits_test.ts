import { create } from "@bufbuild/protobuf";
import { assert, assertEquals, assertThrows } from "../../../test/assert.ts";
import * as account from "../../gen/test/v1/account_pb.ts";
import { ChannelOverflowError } from "../core/channel.ts";
import { LocalQueryBus } from "./query_bus.ts";
import { SubscriptionLimiter, SubscriptionLimitError } from "./subscription_limits.ts";

Deno.test("SubscriptionLimiter refuses beyond the per-client and the total limit; releases are idempotent", () => {
  const limiter = new SubscriptionLimiter({ maxTotal: 3, maxPerClient: 2 });
  const a1 = limiter.acquire("a");
  limiter.acquire("a");
  const perClient = assertThrows(() => limiter.acquire("a"), "from this client");
  assert(perClient instanceof SubscriptionLimitError && perClient.limit === "client");
  assertEquals(perClient.code, "AXONIQ-1900");
  limiter.acquire("b");
  const total = assertThrows(() => limiter.acquire("c"), "in all");
  assert(total instanceof SubscriptionLimitError && total.limit === "total");
  a1();
  a1();
  assertEquals([limiter.total, limiter.count("a")], [2, 1]);
  limiter.acquire("c");
  assertThrows(() => new SubscriptionLimiter({ maxTotal: 0, maxPerClient: 1 }), "maxTotal");
});

Deno.test("LocalQueryBus drops a subscriber a buffer behind (onEnd once), the others keep receiving", async () => {
  const bus = new LocalQueryBus();
  await bus.subscribe(account.BalanceQuerySchema, () => Promise.resolve(create(account.BalanceSchema)));
  let ended = 0;
  const slow = await bus.subscriptionQuery(create(account.BalanceQuerySchema), {
    bufferSize: 2,
    onEnd: () => ended++,
  });
  const fast = await bus.subscriptionQuery(create(account.BalanceQuerySchema), { bufferSize: 2 });
  const fastUpdates = fast.updates[Symbol.asyncIterator]();
  for (let i = 0; i < 5; i++) {
    bus.emitUpdate(
      { query: account.BalanceQuerySchema },
      create(account.BalanceSchema, { balance: BigInt(i) }),
    );
    const next = await fastUpdates.next();
    assertEquals(next.done ? undefined : (next.value as account.Balance).balance, BigInt(i));
  }
  assertEquals(ended, 1, "the slow subscriber was dropped at its first overflow");
  const received: bigint[] = [];
  const error = await (async () => {
    try {
      for await (const update of slow.updates) received.push((update as account.Balance).balance);
    } catch (caught) {
      return caught;
    }
  })();
  assert(error instanceof ChannelOverflowError, String(error));
  assertEquals(received, [0n, 1n]);
  slow.close();
  fast.close();
  assertEquals(ended, 1);
});
