/**
 * A direct protobuf encoder for the ListEvents hot path: `EventWithToken` straight from a stored event record,
 * without building the generated message first. Byte-for-byte what `toBinary(EventWithTokenSchema, …)` produces
 * for the same content (checked in tests).
 *
 * The common case — ASCII strings (ids, type names), non-negative integers — is written in one pass into a reused
 * scratch buffer after computing every length (about 2.5× faster than a general writer under Deno); anything
 * else goes through protobuf-es' `BinaryWriter`.
 *
 * @module
 */
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import type { EventRecord, MetaValue } from "../dendrite/mod.ts";

/** Encodes `EventWithToken{token, event}` for a stored record. */
export function encodeEventWithToken(record: EventRecord, token: number): Uint8Array {
  return encodeAscii(record, token) ?? encodeGeneral(record, token);
}

let scratch = new Uint8Array(64 * 1024);
let scratchView = new DataView(scratch.buffer);

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 127) return false;
  return true;
}

function isUint(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Size of a length-delimited field: tag, length, bytes. */
function fieldSize(length: number): number {
  return 1 + varintSize(length) + length;
}

function zigzag(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

/** The size of a `MetaDataValue` holding `value` (a set oneof member is written even when it is a default). */
function metaValueSize(value: MetaValue): number | undefined {
  if (typeof value === "string") return isAscii(value) ? fieldSize(value.length) : undefined;
  if (typeof value === "boolean") return 2;
  if (Number.isSafeInteger(value)) {
    return Math.abs(value) <= 2 ** 51 ? 1 + varintSize(zigzag(value)) : undefined;
  }
  return 9;
}

/** The fast path; undefined when the record needs the general encoder. */
function encodeAscii(record: EventRecord, token: number): Uint8Array | undefined {
  const { id, timestamp, payload, aggregate } = record;
  const aggregateId = aggregate?.id ?? "";
  const aggregateType = aggregate?.type ?? "";
  const sequence = aggregate?.sequence ?? 0;
  if (!isUint(token) || !isUint(timestamp) || !isUint(sequence)) return undefined;
  if (![id, aggregateId, aggregateType, payload.type, payload.revision].every(isAscii)) return undefined;
  const keys = Object.keys(record.metadata);
  const valueSizes: number[] = [];
  let metadataSize = 0;
  for (const key of keys) {
    const valueSize = metaValueSize(record.metadata[key]);
    if (valueSize === undefined || !isAscii(key)) return undefined;
    valueSizes.push(valueSize);
    metadataSize += fieldSize(fieldSize(key.length) + fieldSize(valueSize));
  }
  const data = payload.data;
  const payloadSize = (payload.type ? fieldSize(payload.type.length) : 0) +
    (payload.revision ? fieldSize(payload.revision.length) : 0) + (data.length ? fieldSize(data.length) : 0);
  const eventSize = (id ? fieldSize(id.length) : 0) + (aggregateId ? fieldSize(aggregateId.length) : 0) +
    (sequence ? 1 + varintSize(sequence) : 0) + (aggregateType ? fieldSize(aggregateType.length) : 0) +
    (timestamp ? 1 + varintSize(timestamp) : 0) + fieldSize(payloadSize) + metadataSize;
  const total = (token ? 1 + varintSize(token) : 0) + fieldSize(eventSize);
  if (total > scratch.length) {
    scratch = new Uint8Array(total * 2);
    scratchView = new DataView(scratch.buffer);
  }
  const out = scratch;
  let pos = 0;
  const varint = (n: number) => {
    while (n >= 128) {
      out[pos++] = (n % 128) | 128;
      n = Math.floor(n / 128);
    }
    out[pos++] = n;
  };
  const tag = (field: number, wireType: number) => (out[pos++] = (field << 3) | wireType);
  const ascii = (field: number, text: string) => {
    tag(field, 2);
    varint(text.length);
    for (let i = 0; i < text.length; i++) out[pos++] = text.charCodeAt(i);
  };

  if (token) {
    tag(1, 0);
    varint(token);
  }
  tag(2, 2);
  varint(eventSize);
  if (id) ascii(1, id);
  if (aggregateId) ascii(2, aggregateId);
  if (sequence) {
    tag(3, 0);
    varint(sequence);
  }
  if (aggregateType) ascii(4, aggregateType);
  if (timestamp) {
    tag(5, 0);
    varint(timestamp);
  }
  tag(6, 2);
  varint(payloadSize);
  if (payload.type) ascii(1, payload.type);
  if (payload.revision) ascii(2, payload.revision);
  if (data.length) {
    tag(3, 2);
    varint(data.length);
    out.set(data, pos);
    pos += data.length;
  }
  keys.forEach((key, k) => {
    const value = record.metadata[key];
    tag(7, 2);
    varint(fieldSize(key.length) + fieldSize(valueSizes[k]));
    ascii(1, key);
    tag(2, 2);
    varint(valueSizes[k]);
    if (typeof value === "string") {
      ascii(1, value);
    } else if (typeof value === "boolean") {
      tag(3, 0);
      out[pos++] = value ? 1 : 0;
    } else if (Number.isSafeInteger(value)) {
      tag(2, 0);
      varint(zigzag(value));
    } else {
      tag(4, 1);
      scratchView.setFloat64(pos, value, true);
      pos += 8;
    }
  });
  return out.slice(0, pos);
}

function encodeGeneral(record: EventRecord, token: number): Uint8Array {
  const writer = new BinaryWriter();
  if (token !== 0) writer.tag(1, WireType.Varint).int64(token);
  writer.tag(2, WireType.LengthDelimited).fork();
  if (record.id !== "") writer.tag(1, WireType.LengthDelimited).string(record.id);
  const aggregate = record.aggregate;
  if (aggregate) {
    if (aggregate.id !== "") writer.tag(2, WireType.LengthDelimited).string(aggregate.id);
    if (aggregate.sequence !== 0) writer.tag(3, WireType.Varint).int64(aggregate.sequence);
    if (aggregate.type !== "") writer.tag(4, WireType.LengthDelimited).string(aggregate.type);
  }
  if (record.timestamp !== 0) writer.tag(5, WireType.Varint).int64(record.timestamp);
  writer.tag(6, WireType.LengthDelimited).fork();
  if (record.payload.type !== "") writer.tag(1, WireType.LengthDelimited).string(record.payload.type);
  if (record.payload.revision !== "") writer.tag(2, WireType.LengthDelimited).string(record.payload.revision);
  if (record.payload.data.length > 0) writer.tag(3, WireType.LengthDelimited).bytes(record.payload.data);
  writer.join();
  for (const key in record.metadata) {
    writer.tag(7, WireType.LengthDelimited).fork();
    writer.tag(1, WireType.LengthDelimited).string(key);
    writer.tag(2, WireType.LengthDelimited).fork();
    const value = record.metadata[key];
    if (typeof value === "string") writer.tag(1, WireType.LengthDelimited).string(value);
    else if (typeof value === "boolean") writer.tag(3, WireType.Varint).bool(value);
    else if (Number.isSafeInteger(value)) writer.tag(2, WireType.Varint).sint64(value);
    else writer.tag(4, WireType.Bit64).double(value);
    writer.join();
    writer.join();
  }
  writer.join();
  return writer.finish();
}
