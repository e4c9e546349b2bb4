/**
 * The Axon Server protocol's processing instructions and instruction acknowledgements, shared by the connector
 * and soma.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import {
  ErrorMessageSchema,
  type InstructionAck,
  InstructionAckSchema,
  type MetaDataValue,
  MetaDataValueSchema,
  type ProcessingInstruction,
  ProcessingInstructionSchema,
  ProcessingKey,
} from "../../../gen/axon/common_pb.ts";
import { AxonErrorCode } from "../../core/errors.ts";

/** A text processing instruction. */
export function textInstruction(key: ProcessingKey, value: string): ProcessingInstruction {
  return create(ProcessingInstructionSchema, {
    key,
    value: create(MetaDataValueSchema, { data: { case: "textValue", value } }),
  });
}

/** A number processing instruction. */
export function numberInstruction(key: ProcessingKey, value: number): ProcessingInstruction {
  return create(ProcessingInstructionSchema, {
    key,
    value: create(MetaDataValueSchema, { data: { case: "numberValue", value: BigInt(Math.round(value)) } }),
  });
}

/** A boolean processing instruction. */
export function booleanInstruction(key: ProcessingKey, value: boolean): ProcessingInstruction {
  return create(ProcessingInstructionSchema, {
    key,
    value: create(MetaDataValueSchema, { data: { case: "booleanValue", value } }),
  });
}

/** Finds an instruction's value. */
export function instructionValue(
  instructions: readonly ProcessingInstruction[],
  key: ProcessingKey,
): MetaDataValue["data"] | undefined {
  return instructions.find((i) => i.key === key)?.value?.data;
}

/** The routing key instruction as text, if present and non-empty (Java clients may send any scalar). */
export function routingKeyOf(instructions: readonly ProcessingInstruction[]): string | undefined {
  const data = instructionValue(instructions, ProcessingKey.ROUTING_KEY);
  if (data === undefined || data.case === undefined || data.case === "bytesValue") return undefined;
  const text = String(data.value);
  return text === "" ? undefined : text;
}

/** A numeric processing instruction (PRIORITY, TIMEOUT, NR_OF_RESULTS), if present. */
export function numericInstruction(
  instructions: readonly ProcessingInstruction[],
  key: ProcessingKey,
): number | undefined {
  const data = instructionValue(instructions, key);
  if (data?.case === "numberValue") return Number(data.value);
  if (data?.case === "doubleValue") return data.value;
  if (data?.case === "textValue" && data.value !== "" && !Number.isNaN(Number(data.value))) {
    return Number(data.value);
  }
  return undefined;
}

/** `instructions` with `replacement` instead of any instruction of the same key. */
export function replaceInstruction(
  instructions: readonly ProcessingInstruction[],
  replacement: ProcessingInstruction,
): ProcessingInstruction[] {
  return [...instructions.filter((i) => i.key !== replacement.key), replacement];
}

/**
 * The acknowledgement of an instruction: success, or (for an instruction the receiver does not support)
 * `AXONIQ-1002` — which a well-behaved peer treats as "not supported here", not as a failure.
 */
export function instructionAck(
  instructionId: string,
  success: boolean,
  location: string,
  error: { code?: string; message?: string } = {},
): InstructionAck {
  return create(InstructionAckSchema, {
    instructionId,
    success,
    error: success ? undefined : create(ErrorMessageSchema, {
      errorCode: error.code ?? AxonErrorCode.UNSUPPORTED_INSTRUCTION,
      message: error.message ?? "Unsupported instruction",
      location,
    }),
  });
}
