/**
 * Offline schema check of an Envoy v3 bootstrap configuration against the Envoy API protos shipped in the npm
 * package `@grpc/grpc-js-xds` (loaded with protobufjs).
 *
 * What it checks: every field name exists in its message (snake_case or lowerCamelCase), value kinds match the
 * field types (message, repeated, map, enum, scalars, Duration, wrappers, Struct), every `@type` of a
 * `google.protobuf.Any` names a message that exists in the protos, at most one member of a oneof is set, oneofs
 * and message fields that protoc-gen-validate marks as required are set, and no deprecated field is used.
 * What it cannot check: runtime behaviour, and validate rules other than "required" (lengths, ranges).
 *
 * @module
 */
import protobuf from "protobufjs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The fully-qualified name of the Envoy bootstrap message (the root of an envoy.yaml). */
export const BOOTSTRAP_TYPE = "envoy.config.bootstrap.v3.Bootstrap";

const TYPE_URL_PREFIX = "type.googleapis.com/";
const DURATION_PATTERN = /^-?\d+(\.\d{1,9})?s$/;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Directory of an installed npm package, found from the module it resolves to. */
function packageDir(specifier: string, name: string): string {
  let dir = dirname(fileURLToPath(import.meta.resolve(specifier)));
  for (;;) {
    try {
      const pkg: unknown = JSON.parse(Deno.readTextFileSync(join(dir, "package.json")));
      if (isObject(pkg) && pkg.name === name) return dir;
    } catch {
      // no package.json here: keep walking up
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the installed npm package ${name}`);
    dir = parent;
  }
}

/** Loads Envoy protos on demand: the bootstrap file first, then whole packages named by `@type` URLs. */
export class EnvoySchema {
  readonly #root = new protobuf.Root();
  readonly #includeDirs: string[];
  readonly #envoyApiDir: string;

  private constructor(includeDirs: string[], envoyApiDir: string) {
    this.#includeDirs = includeDirs;
    this.#envoyApiDir = envoyApiDir;
    this.#root.resolvePath = (_origin: string, target: string): string => {
      for (const dir of this.#includeDirs) {
        const candidate = join(dir, target);
        try {
          Deno.statSync(candidate);
          return candidate;
        } catch {
          // not in this include dir
        }
      }
      return target;
    };
  }

  /** Creates a schema with the Envoy bootstrap message loaded. */
  static async load(): Promise<EnvoySchema> {
    const deps = join(packageDir("@grpc/grpc-js-xds", "@grpc/grpc-js-xds"), "deps");
    const envoyApi = join(deps, "envoy-api");
    const includeDirs = [
      envoyApi,
      join(deps, "xds"),
      join(deps, "protoc-gen-validate"),
      join(deps, "googleapis"),
      // google/protobuf/descriptor.proto (imported by the annotation protos)
      packageDir("protobufjs", "protobufjs"),
    ];
    const schema = new EnvoySchema(includeDirs, envoyApi);
    await schema.#root.load(["envoy/config/bootstrap/v3/bootstrap.proto"], { keepCase: true });
    return schema;
  }

  /** Loads every .proto file of the package that a type URL points into. Unknown packages load nothing. */
  async loadTypeUrl(typeUrl: string): Promise<void> {
    if (!typeUrl.startsWith(TYPE_URL_PREFIX)) return;
    const parts = typeUrl.slice(TYPE_URL_PREFIX.length).split(".");
    const packageDirPath = join(this.#envoyApiDir, ...parts.slice(0, -1));
    const files: string[] = [];
    try {
      for (const entry of Deno.readDirSync(packageDirPath)) {
        if (entry.isFile && entry.name.endsWith(".proto")) {
          files.push(join(...parts.slice(0, -1), entry.name));
        }
      }
    } catch {
      return;
    }
    await this.#root.load(files.sort(), { keepCase: true });
  }

  /** The message type with this fully-qualified name, or undefined. */
  lookupType(name: string): protobuf.Type | undefined {
    try {
      return this.#root.lookupType(name);
    } catch {
      return undefined;
    }
  }
}

/** Every `@type` value in a parsed YAML/JSON document. */
export function collectTypeUrls(value: unknown, into: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) collectTypeUrls(item, into);
  } else if (isObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      if (key === "@type" && typeof item === "string") into.add(item);
      else collectTypeUrls(item, into);
    }
  }
  return into;
}

function lowerCamel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function findField(type: protobuf.Type, key: string): protobuf.Field | undefined {
  const direct = type.fields[key];
  if (direct) return direct;
  return type.fieldsArray.find((f) => lowerCamel(f.name) === key);
}

const INTEGER_TYPES = new Set([
  "int32",
  "uint32",
  "sint32",
  "fixed32",
  "sfixed32",
  "int64",
  "uint64",
  "sint64",
  "fixed64",
  "sfixed64",
]);

const WRAPPERS: Record<string, string> = {
  "google.protobuf.BoolValue": "bool",
  "google.protobuf.StringValue": "string",
  "google.protobuf.BytesValue": "bytes",
  "google.protobuf.DoubleValue": "double",
  "google.protobuf.FloatValue": "float",
  "google.protobuf.Int32Value": "int32",
  "google.protobuf.UInt32Value": "uint32",
  "google.protobuf.Int64Value": "int64",
  "google.protobuf.UInt64Value": "uint64",
};

class Checker {
  readonly problems: string[] = [];
  constructor(private readonly schema: EnvoySchema) {}

  scalar(kind: string, value: unknown, path: string): void {
    const ok = kind === "string" || kind === "bytes"
      ? typeof value === "string"
      : kind === "bool"
      ? typeof value === "boolean"
      : kind === "double" || kind === "float"
      ? typeof value === "number"
      : INTEGER_TYPES.has(kind)
      ? (typeof value === "number" && Number.isInteger(value)) ||
        (typeof value === "string" && /^-?\d+$/.test(value))
      : false;
    if (!ok) this.problems.push(`${path}: expected ${kind}, got ${JSON.stringify(value)}`);
  }

  value(field: protobuf.Field, value: unknown, path: string): void {
    const resolved = field.resolvedType;
    if (resolved instanceof protobuf.Enum) {
      const known = typeof value === "string"
        ? value in resolved.values
        : typeof value === "number" && Object.values(resolved.values).includes(value);
      if (!known) {
        this.problems.push(`${path}: ${JSON.stringify(value)} is not a value of ${resolved.fullName}`);
      }
    } else if (resolved instanceof protobuf.Type) {
      this.message(resolved, value, path);
    } else {
      this.scalar(field.type, value, path);
    }
  }

  message(type: protobuf.Type, value: unknown, path: string): void {
    const name = type.fullName.replace(/^\./, "");
    if (name === "google.protobuf.Duration") {
      if (!(typeof value === "string" && DURATION_PATTERN.test(value)) && !isObject(value)) {
        this.problems.push(
          `${path}: expected a duration such as "0s" or "1.5s", got ${JSON.stringify(value)}`,
        );
      }
      return;
    }
    if (name === "google.protobuf.Struct") {
      if (!isObject(value)) this.problems.push(`${path}: expected an object`);
      return;
    }
    if (name === "google.protobuf.Value") return;
    if (name === "google.protobuf.ListValue") {
      if (!Array.isArray(value)) this.problems.push(`${path}: expected a list`);
      return;
    }
    const wrapped = WRAPPERS[name];
    if (wrapped !== undefined) {
      this.scalar(wrapped, value, path);
      return;
    }
    if (!isObject(value)) {
      this.problems.push(`${path}: expected a ${name} object, got ${JSON.stringify(value)}`);
      return;
    }
    if (name === "google.protobuf.Any") {
      this.any(value, path);
      return;
    }
    this.fields(type, value, path);
  }

  any(value: Record<string, unknown>, path: string): void {
    const typeUrl = value["@type"];
    if (typeof typeUrl !== "string") {
      this.problems.push(`${path}: google.protobuf.Any without "@type"`);
      return;
    }
    if (!typeUrl.startsWith(TYPE_URL_PREFIX)) {
      this.problems.push(`${path}.@type: ${typeUrl} does not start with ${TYPE_URL_PREFIX}`);
      return;
    }
    const inner = this.schema.lookupType(typeUrl.slice(TYPE_URL_PREFIX.length));
    if (!inner) {
      this.problems.push(`${path}.@type: unknown message ${typeUrl}`);
      return;
    }
    const rest = Object.fromEntries(Object.entries(value).filter(([k]) => k !== "@type"));
    this.message(inner, rest, `${path}<${inner.name}>`);
  }

  fields(type: protobuf.Type, value: Record<string, unknown>, path: string): void {
    const present = new Set<protobuf.Field>();
    for (const [key, item] of Object.entries(value)) {
      const field = findField(type, key);
      const at = `${path}.${key}`;
      if (!field) {
        this.problems.push(`${at}: unknown field of ${type.fullName.replace(/^\./, "")}`);
        continue;
      }
      field.resolve();
      present.add(field);
      if (field.options?.deprecated === true) this.problems.push(`${at}: deprecated field`);
      if (field instanceof protobuf.MapField) {
        if (!isObject(item)) {
          this.problems.push(`${at}: expected a map (object)`);
          continue;
        }
        for (const [k, v] of Object.entries(item)) this.value(field, v, `${at}[${k}]`);
      } else if (field.repeated) {
        if (!Array.isArray(item)) {
          this.problems.push(`${at}: expected a list`);
          continue;
        }
        item.forEach((v, i) => this.value(field, v, `${at}[${i}]`));
      } else {
        this.value(field, item, at);
      }
    }
    for (const oneof of type.oneofsArray) {
      const set = oneof.fieldsArray.filter((f) => present.has(f));
      if (set.length > 1) {
        this.problems.push(
          `${path}: more than one of oneof ${oneof.name}: ${set.map((f) => f.name).join(", ")}`,
        );
      }
      if (set.length === 0 && oneof.options?.["(validate.required)"] === true) {
        this.problems.push(`${path}: one of ${oneof.fieldsArray.map((f) => f.name).join(", ")} is required`);
      }
    }
    for (const field of type.fieldsArray) {
      // A required member of a oneof is only required when that member is the one chosen.
      const required = field.options?.["(validate.rules).message.required"] === true && !field.partOf;
      if (required && !present.has(field)) {
        this.problems.push(`${path}: required field ${field.name} is missing`);
      }
    }
  }
}

/**
 * Checks a parsed envoy.yaml against the Envoy v3 protos. Returns the problems found; an empty list means the
 * document is a schema-valid `envoy.config.bootstrap.v3.Bootstrap`.
 */
export async function validateEnvoyConfig(schema: EnvoySchema, config: unknown): Promise<string[]> {
  for (const typeUrl of collectTypeUrls(config)) await schema.loadTypeUrl(typeUrl);
  const bootstrap = schema.lookupType(BOOTSTRAP_TYPE);
  if (!bootstrap) return [`${BOOTSTRAP_TYPE} not found in the protos`];
  const checker = new Checker(schema);
  checker.message(bootstrap, config as Json, "$");
  return checker.problems;
}
