/**
 * The TokenStore contract, run against every adapter (in-memory, SQLite, Elasticsearch when ELASTICSEARCH_URL is set).
 *
 * @module
 */
import { assertEquals, assertRejects } from "../assert.ts";
import { ClaimError, type TokenStore } from "../../src/dendrite/mod.ts";

/** A controllable clock, so claim expiry is tested without waiting. */
export class TestClock {
  time = 1_000_000;
  now = () => this.time;
}

export interface TokenStoreFixture {
  readonly store: TokenStore;
  close(): Promise<void>;
}

/** Registers the suite as Deno tests named `<adapter>: TokenStore …`. */
export function tokenStoreContract(
  adapter: string,
  open: (clock: TestClock) => Promise<TokenStoreFixture>,
  options: { skip?: string | false } = {},
): void {
  if (options.skip) console.log(`Skipping the TokenStore contract for ${adapter}: ${options.skip}`);
  const test = (
    name: string,
    fn: (store: TokenStore, clock: TestClock, processor: string) => Promise<void>,
  ) =>
    Deno.test({
      name: `${adapter}: TokenStore ${name}`,
      ignore: Boolean(options.skip),
      async fn() {
        const clock = new TestClock();
        const fixture = await open(clock);
        try {
          await fn(fixture.store, clock, `processor-${crypto.randomUUID()}`);
        } finally {
          await fixture.close();
        }
      },
    });

  test("initializes segments once", async (store, _clock, p) => {
    await store.initializeSegments(p, 2);
    await store.initializeSegments(p, 4);
    assertEquals(await store.segments(p), [0, 1]);
    assertEquals((await store.entries(p)).map((e) => [e.segment, e.token.index, e.owner]), [
      [0, -1, undefined],
      [1, -1, undefined],
    ]);
  });

  test(
    "claims a free segment and refuses it to another owner until the claim expires",
    async (store, clock, p) => {
      await store.initializeSegments(p, 1, { index: 41 });
      assertEquals(await store.claim(p, 0, "a", 10_000), { index: 41 });
      assertEquals(await store.claim(p, 0, "b", 10_000), undefined);
      assertEquals(await store.claim(p, 0, "a", 10_000), { index: 41 });
      clock.time += 9_999;
      assertEquals(await store.claim(p, 0, "b", 10_000), undefined);
      clock.time += 1;
      assertEquals(await store.claim(p, 0, "b", 10_000), { index: 41 });
      assertEquals((await store.entries(p))[0].owner, "b");
    },
  );

  test("stores tokens only for the owner", async (store, _clock, p) => {
    await store.initializeSegments(p, 1);
    await store.claim(p, 0, "a", 10_000);
    await store.store(p, 0, "a", { index: 7 });
    await assertRejects(() => store.store(p, 0, "b", { index: 9 }), ClaimError);
    await assertRejects(() => store.extend(p, 0, "b"), ClaimError);
    assertEquals((await store.entries(p))[0].token, { index: 7 });
  });

  test("extending a claim keeps it from expiring", async (store, clock, p) => {
    await store.initializeSegments(p, 1);
    await store.claim(p, 0, "a", 10_000);
    clock.time += 8_000;
    await store.extend(p, 0, "a");
    clock.time += 8_000;
    assertEquals(await store.claim(p, 0, "b", 10_000), undefined);
  });

  test("a taken-over claim makes the old owner's store fail", async (store, clock, p) => {
    await store.initializeSegments(p, 1);
    await store.claim(p, 0, "a", 1_000);
    clock.time += 2_000;
    assertEquals(await store.claim(p, 0, "b", 1_000), { index: -1 });
    await assertRejects(() => store.store(p, 0, "a", { index: 3 }), ClaimError);
  });

  test("releases a claim so another owner can take it at once", async (store, _clock, p) => {
    await store.initializeSegments(p, 1);
    await store.claim(p, 0, "a", 10_000);
    await store.store(p, 0, "a", { index: 5 });
    await store.release(p, 0, "b");
    assertEquals(await store.claim(p, 0, "b", 10_000), undefined);
    await store.release(p, 0, "a");
    assertEquals(await store.claim(p, 0, "b", 10_000), { index: 5 });
  });

  test("adds and deletes segments (split and merge)", async (store, _clock, p) => {
    await store.initializeSegments(p, 1);
    await store.initializeSegment(p, 1, { index: 12 });
    await assertRejects(() => store.initializeSegment(p, 1, { index: 12 }));
    assertEquals(await store.segments(p), [0, 1]);
    await assertRejects(() => store.deleteSegment(p, 1, "a"), ClaimError);
    await store.claim(p, 1, "a", 10_000);
    await store.deleteSegment(p, 1, "a");
    assertEquals(await store.segments(p), [0]);
  });

  test("keeps replay and merge details of a token", async (store, _clock, p) => {
    await store.initializeSegments(p, 1);
    await store.claim(p, 0, "a", 10_000);
    await store.store(p, 0, "a", { index: 3, replayUntil: 10, mergedUpper: 8 });
    assertEquals((await store.entries(p))[0].token, { index: 3, replayUntil: 10, mergedUpper: 8 });
  });

  test("resets all segments unless another owner holds one", async (store, _clock, p) => {
    await store.initializeSegments(p, 2);
    await store.claim(p, 1, "a", 10_000);
    await store.store(p, 1, "a", { index: 9 });
    await assertRejects(() => store.reset(p, { index: -1, replayUntil: 9 }, "b"), ClaimError);
    await store.reset(p, { index: -1, replayUntil: 9 }, "a");
    assertEquals((await store.entries(p)).map((e) => e.token), [
      { index: -1, replayUntil: 9 },
      { index: -1, replayUntil: 9 },
    ]);
  });

  test("keeps processors apart", async (store, _clock, p) => {
    await store.initializeSegments(p, 1);
    await store.initializeSegments(`${p}-other`, 3);
    assertEquals(await store.segments(p), [0]);
    assertEquals(await store.segments(`${p}-other`), [0, 1, 2]);
  });
}
