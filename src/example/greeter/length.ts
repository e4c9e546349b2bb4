/**
 * How the greeter counts the length of a greeting: in Unicode code points (what people call characters for
 * nearly all text: one per letter, one per emoji such as 😀), not in UTF-16 units (JavaScript's `length`, two per
 * emoji) and not in grapheme clusters (a family emoji 👨‍👩‍👧 is five code points). Code points are chosen because
 * they bound the stored size (at most 4 bytes each in UTF-8) and every runtime counts them the same way, while
 * grapheme rules change with Unicode versions, so a browser and the server could disagree. The aggregate and
 * the UI both use {@link characterCount}. No runtime imports: the browser bundle includes it.
 *
 * @module
 */

/** The longest greeting accepted, in characters (code points, see the module description). */
export const MAX_GREETING_LENGTH = 1_000;

/**
 * The number of characters (Unicode code points) in `text`.
 *
 * @example
 * ```ts
 * import { characterCount } from "./length.ts";
 * console.log(characterCount("😀".repeat(600)), "😀".repeat(600).length); // 600 1200
 * ```
 */
export function characterCount(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}
