import { assert, assertEquals } from "../../test/assert.ts";
import { names, plural } from "./names.ts";
import { ScaffoldError } from "./workspace.ts";

Deno.test("names() spells a PascalCase name every way the templates need", () => {
  assertEquals(names("GiftCard"), {
    pascal: "GiftCard",
    camel: "giftCard",
    snake: "gift_card",
    kebab: "gift-card",
    upper: "GIFT_CARD",
    pluralPascal: "GiftCards",
    pluralSnake: "gift_cards",
    words: "gift card",
  });
  assertEquals([plural("Box"), plural("City"), plural("Day"), plural("Farewell")], [
    "Boxes",
    "Cities",
    "Days",
    "Farewells",
  ]);
});

Deno.test("names() refuses what is not PascalCase, too long or reserved, saying why", () => {
  for (
    const [name, reason] of [
      ["farewell", "is not a PascalCase name"],
      ["HTTPServer", "is not a PascalCase name"],
      ["Gift_Card", "is not a PascalCase name"],
      ["A".padEnd(41, "a"), "is not a PascalCase name"],
      ["Promise", "is reserved"],
    ]
  ) {
    let error: unknown;
    try {
      names(name);
    } catch (caught) {
      error = caught;
    }
    assert(error instanceof ScaffoldError && error.message.includes(reason), `${name}: ${error}`);
  }
});
