/**
 * The configuration properties the program reads, with defaults and validation. Other names may be set too
 * (for the application's own use); names are lower-case dotted words.
 *
 * @module
 */

/** A property the program knows. */
export interface KnownProperty {
  readonly defaultValue: string;
  readonly description: string;
  /** An error message when `value` is not acceptable, else undefined. */
  validate(value: string): string | undefined;
}

function integerBetween(min: number, max: number) {
  return (value: string) =>
    /^[0-9]+$/.test(value) && Number(value) >= min && Number(value) <= max
      ? undefined
      : `must be a whole number from ${min} to ${max}`;
}

/** The JWT lifetime in seconds. */
export const JWT_LIFETIME_SECONDS = "jwt.lifetime.seconds";

/** Every property the program reads. */
export const KNOWN_PROPERTIES: Readonly<Record<string, KnownProperty>> = {
  [JWT_LIFETIME_SECONDS]: {
    defaultValue: "900",
    description: "How long a JWT from Login is valid, in seconds",
    validate: integerBetween(1, 86_400),
  },
};

const NAME = /^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$/;

/** Why a property assignment is refused, or undefined when it is fine. An empty value restores the default. */
export function propertyProblem(name: string, value: string): string | undefined {
  if (name.length > 200 || !NAME.test(name)) return `Property name "${name.slice(0, 200)}" is not valid`;
  if (value.length > 4_096) return `The value of "${name}" is too long`;
  const known = KNOWN_PROPERTIES[name];
  if (value === "" || !known) return undefined;
  const problem = known.validate(value);
  return problem ? `Property "${name}" ${problem}` : undefined;
}
