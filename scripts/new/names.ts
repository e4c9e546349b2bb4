/**
 * The spellings of a scaffolded name (`Farewell` → `farewell`, `FAREWELL`, `Farewells`, …) and its validation.
 *
 * @module
 */
import { ScaffoldError } from "./workspace.ts";

/** Every spelling the templates use. */
export interface Names {
  /** `GiftCard`: types, messages, the aggregate. */
  readonly pascal: string;
  /** `giftCard`: values, functions, proto fields in TypeScript. */
  readonly camel: string;
  /** `gift_card`: files, folders, proto fields. */
  readonly snake: string;
  /** `gift-card`: processor names. */
  readonly kebab: string;
  /** `GIFT_CARD`: error codes. */
  readonly upper: string;
  /** `GiftCards`: RPC names that list. */
  readonly pluralPascal: string;
  /** `gift_cards`: collection names. */
  readonly pluralSnake: string;
  /** `gift card`: prose. */
  readonly words: string;
}

/**
 * Names the scaffolder refuses: they shadow TypeScript globals, dendrite's own concepts or folders of the
 * application, which would make the generated code ambiguous.
 */
export const RESERVED = new Set([
  "Aggregate",
  "Api",
  "Array",
  "Boolean",
  "Command",
  "Date",
  "Dendrite",
  "Document",
  "Error",
  "Event",
  "Example",
  "Function",
  "Gen",
  "Map",
  "Message",
  "Number",
  "Object",
  "Processor",
  "Projection",
  "Promise",
  "Query",
  "Record",
  "Security",
  "Service",
  "Set",
  "Soma",
  "String",
  "Symbol",
  "Test",
]);

const PASCAL = /^[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]+)*$/;

/** The plural of an English noun, good enough for generated names (`Box` → `Boxes`, `City` → `Cities`). */
export function plural(word: string): string {
  if (/(s|x|z|ch|sh)$/.test(word)) return `${word}es`;
  if (/[^aeiou]y$/.test(word)) return `${word.slice(0, -1)}ies`;
  return `${word}s`;
}

/** Validates a PascalCase name and returns its spellings; a clear {@link ScaffoldError} otherwise. */
export function names(name: string): Names {
  if (!PASCAL.test(name) || name.length > 40) {
    throw new ScaffoldError(
      `"${name}" is not a PascalCase name: use letters and digits, starting with a capital and with a lower-case ` +
        `letter after each capital, at most 40 characters (e.g. "Farewell", "GiftCard")`,
    );
  }
  if (RESERVED.has(name)) {
    throw new ScaffoldError(
      `"${name}" is reserved (it would shadow a built-in or a dendrite concept); pick another`,
    );
  }
  const parts = name.match(/[A-Z][a-z0-9]*/g)!;
  const lower = parts.map((part) => part.toLowerCase());
  const pluralPascal = plural(name);
  const pluralParts = pluralPascal.match(/[A-Z][a-z0-9]*/g)!.map((part) => part.toLowerCase());
  return {
    pascal: name,
    camel: lower[0] + parts.slice(1).join(""),
    snake: lower.join("_"),
    kebab: lower.join("-"),
    upper: lower.join("_").toUpperCase(),
    pluralPascal,
    pluralSnake: pluralParts.join("_"),
    words: lower.join(" "),
  };
}
