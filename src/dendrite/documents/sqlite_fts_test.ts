import { assertEquals, assertRejects } from "../../../test/assert.ts";
import { Sqlite } from "../sqlite/database.ts";
import { SqliteDocumentStore } from "./sqlite.ts";
import { INDEX_BATCH } from "./sqlite_fts.ts";

type Note = { text: string };

function open() {
  const sql = new Sqlite(":memory:");
  const store = new SqliteDocumentStore({ sqlite: sql });
  return { sql, store, notes: store.collection<Note>("notes", { textFields: ["text"] }) };
}

Deno.test("SQLite search sees a unit of work's documents once it commits", async () => {
  const { sql, store, notes } = open();
  await store.unitOfWork(async () => {
    await notes.put("a", { text: "alpha" });
    await notes.put("b", { text: "beta" });
    await notes.put("a", { text: "gamma" }); // replaced within the same unit
    assertEquals((await notes.get("a"))?.text, "gamma");
  });
  assertEquals((await notes.search("alpha")).length, 0);
  assertEquals((await notes.search("gamma")).map((f) => f.id), ["a"]);
  assertEquals((await notes.search("beta")).map((f) => f.id), ["b"]);
  const rows = sql.get<{ n: number }>("SELECT COUNT(*) AS n FROM documents_text")!.n;
  assertEquals(rows, 2);
  sql.close();
});

Deno.test("SQLite search keeps no index entry of a rolled-back unit or a deleted document", async () => {
  const { sql, store, notes } = open();
  await notes.put("kept", { text: "kept words" });
  await assertRejects(() =>
    store.unitOfWork(async () => {
      await notes.put("lost", { text: "lost words" });
      await notes.put("kept", { text: "changed words" });
      throw new Error("batch failed");
    })
  );
  assertEquals((await notes.search("words")).map((f) => f.id), ["kept"]);
  assertEquals((await notes.search("changed")).length, 0);
  await store.unitOfWork(async () => {
    await notes.put("temp", { text: "temporary" });
    await notes.delete("temp");
    await notes.delete("kept");
  });
  assertEquals(await notes.search("temporary"), []);
  assertEquals(await notes.search("kept"), []);
  assertEquals(sql.get<{ n: number }>("SELECT COUNT(*) AS n FROM documents_text")!.n, 0);
  sql.close();
});

Deno.test("SQLite search keeps no index entry of a write rolled back to its savepoint inside a unit", async () => {
  const { sql, store, notes } = open();
  await store.unitOfWork(async () => {
    await notes.put("keep", { text: "kept text" });
    const unserializable = { text: "never stored", size: 1n } as unknown as Note;
    await assertRejects(() =>
      notes.putMany([{ id: "lost", document: { text: "lost text" } }, {
        id: "bad",
        document: unserializable,
      }])
    );
  });
  assertEquals(await notes.get("lost"), undefined);
  assertEquals((await notes.search("text")).map((f) => f.id), ["keep"]);
  assertEquals(sql.get<{ n: number }>("SELECT COUNT(*) AS n FROM documents_text")!.n, 1);
  sql.close();
});

Deno.test("SQLite document store moves a database from the old full-copy index to the contentless one", async () => {
  const sql = new Sqlite(":memory:");
  // The layout of earlier versions: the index kept a copy of each text and its collection.
  sql.db.exec(`
    CREATE TABLE documents (collection TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL, UNIQUE (collection, id));
    CREATE VIRTUAL TABLE documents_fts USING fts5 (text, collection UNINDEXED);
    INSERT INTO documents (collection, id, body) VALUES
      ('notes', 'a', '{"text":"old alpha"}'), ('notes', 'b', '{"text":"old beta"}'), ('tags', 't', '{"name":"x"}');
    INSERT INTO documents_fts (rowid, text, collection) VALUES (1, 'old alpha', 'notes'), (2, 'old beta', 'notes');
  `);
  const store = new SqliteDocumentStore({ sqlite: sql });
  assertEquals(sql.get("SELECT 1 AS found FROM sqlite_master WHERE name = 'documents_fts'"), undefined);
  const notes = store.collection<Note>("notes", { textFields: ["text"] });
  assertEquals((await notes.search("old")).map((f) => f.id).sort(), ["a", "b"]);
  assertEquals((await notes.search("alpha")).map((f) => f.id), ["a"]);
  // Indexed once: a second store on the same database does not add the texts again.
  new SqliteDocumentStore({ sqlite: sql }).collection<Note>("notes", { textFields: ["text"] });
  assertEquals(sql.get<{ n: number }>("SELECT COUNT(*) AS n FROM documents_text")!.n, 2);
  assertEquals(sql.get<{ n: number }>("SELECT COUNT(*) AS n FROM documents_reindex")!.n, 0);
  sql.close();
});

const count = (sql: Sqlite, table: string) => sql.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`)!.n;

Deno.test("SQLite small writes wait in a queue for the full-text index, and a search applies them first", async () => {
  const { sql, store, notes } = open();
  await notes.put("a", { text: "first words" });
  await store.unitOfWork(() => notes.putMany([{ id: "b", document: { text: "second words" } }]));
  assertEquals(count(sql, "documents_text"), 0);
  assertEquals(count(sql, "documents_text_pending"), 2);
  assertEquals((await notes.search("words")).map((f) => f.id).sort(), ["a", "b"]);
  assertEquals(count(sql, "documents_text"), 2);
  assertEquals(count(sql, "documents_text_pending"), 0);
  sql.close();
});

Deno.test("SQLite writes go into the full-text index together once INDEX_BATCH have gathered", async () => {
  const { sql, store, notes } = open();
  const put = (from: number, n: number) =>
    store.unitOfWork(() =>
      notes.putMany(
        Array.from({ length: n }, (_, i) => ({ id: `n${from + i}`, document: { text: `note ${from + i}` } })),
      )
    );
  await put(0, INDEX_BATCH - 1);
  assertEquals(count(sql, "documents_text"), 0);
  await put(INDEX_BATCH - 1, 1);
  assertEquals(count(sql, "documents_text"), INDEX_BATCH);
  assertEquals(count(sql, "documents_text_pending"), 0);
  // A unit as large as a replay's goes straight into the index.
  await put(INDEX_BATCH, 2 * INDEX_BATCH);
  assertEquals(count(sql, "documents_text"), 3 * INDEX_BATCH);
  assertEquals(count(sql, "documents_text_pending"), 0);
  assertEquals((await notes.search(`"note ${2 * INDEX_BATCH}"`)).map((f) => f.id), [`n${2 * INDEX_BATCH}`]);
  sql.close();
});

Deno.test("SQLite queued index changes survive closing the database and are searchable after reopening", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/query.sqlite`;
    const first = new SqliteDocumentStore({ path });
    const notes = first.collection<Note>("notes", { textFields: ["text"] });
    await notes.put("kept", { text: "durable words" });
    await notes.put("gone", { text: "deleted words" });
    assertEquals((await notes.search("words")).length, 2); // indexed
    await notes.put("kept", { text: "changed words" }); // queued: replace the entry
    await notes.delete("gone"); // queued: remove the entry
    await notes.put("new", { text: "fresh words" }); // queued: a new entry
    first.close();

    const second = new SqliteDocumentStore({ path });
    const again = second.collection<Note>("notes", { textFields: ["text"] });
    assertEquals((await again.search("words")).map((f) => f.id).sort(), ["kept", "new"]);
    assertEquals(await again.search("durable"), []);
    assertEquals(await again.search("deleted"), []);
    second.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SQLite search during another caller's unit of work sees committed documents, not the unit's", async () => {
  const { sql, store, notes } = open();
  await notes.put("before", { text: "committed words" });
  const inUnit = Promise.withResolvers<void>();
  const release = Promise.withResolvers<void>();
  const unit = store.unitOfWork(async () => {
    await notes.put("during", { text: "uncommitted words" });
    inUnit.resolve();
    await release.promise;
  });
  await inUnit.promise;
  assertEquals((await notes.search("words")).map((f) => f.id), ["before"]);
  release.resolve();
  await unit;
  assertEquals((await notes.search("words")).map((f) => f.id).sort(), ["before", "during"]);
  assertEquals(count(sql, "documents_text"), 2);
  sql.close();
});

Deno.test("SQLite index entry of a deleted document is not given to a new document that reuses its rowid", async () => {
  const { sql, notes } = open();
  await notes.put("old", { text: "old words" });
  assertEquals((await notes.search("old")).length, 1);
  await notes.delete("old"); // the highest rowid: SQLite may hand it out again
  await notes.put("new", { text: "new words" });
  assertEquals(await notes.search("old"), []);
  assertEquals((await notes.search("words")).map((f) => f.id), ["new"]);
  assertEquals(count(sql, "documents_text"), 1);
  sql.close();
});

Deno.test("SQLite queue applied by a search inside a unit that then rolls back is applied again later", async () => {
  const { sql, store, notes } = open();
  await notes.put("queued", { text: "queued words" });
  await assertRejects(() =>
    store.unitOfWork(async () => {
      assertEquals((await notes.search("words")).map((f) => f.id), ["queued"]); // applies the queue in the unit
      throw new Error("batch failed");
    })
  );
  assertEquals(count(sql, "documents_text"), 0);
  assertEquals(count(sql, "documents_text_pending"), 1);
  assertEquals((await notes.search("words")).map((f) => f.id), ["queued"]);
  assertEquals(count(sql, "documents_text"), 1);
  sql.close();
});
