/**
 * The greeter aggregate: recording is on at first; a greeting is refused (EX001) while recording is off;
 * Record and Stop emit an event only when they change the state.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import { defineAggregate, DomainError } from "../../dendrite/mod.ts";
import * as domain from "../../gen/example/v1/domain_pb.ts";
import { GreetingSchema } from "../../gen/example/v1/greeter_pb.ts";
import { characterCount, MAX_GREETING_LENGTH } from "./length.ts";

/** Domain error codes of the greeter. */
export const GreeterErrors = {
  /** A greeting was refused because the greeter is not recording. */
  NOT_RECORDING: "EX001",
  /** A greeting was empty or too long. */
  INVALID_GREETING: "EX002",
} as const;

export { MAX_GREETING_LENGTH } from "./length.ts";

/** The greeter aggregate. */
export const Greeter = defineAggregate({
  type: "example.v1.Greeter",
  commands: [domain.GreetCommandSchema, domain.RecordCommandSchema, domain.StopCommandSchema],
  events: [domain.GreetedEventSchema, domain.RecordingStartedEventSchema, domain.RecordingStoppedEventSchema],
  initialState: () => create(domain.GreeterStateSchema, { recording: true, greetingCount: 0n }),
  aggregateId: (command) => command.greeterId,
  // A snapshot every 10 events bounds a load to one snapshot plus at most 9 events (see the query bench).
  snapshot: { schema: domain.GreeterStateSchema, every: 10 },

  decide(command, state) {
    switch (command.$typeName) {
      case "example.v1.GreetCommand": {
        const message = command.message.trim();
        const length = characterCount(message);
        if (length === 0 || length > MAX_GREETING_LENGTH) {
          return new DomainError(
            GreeterErrors.INVALID_GREETING,
            `A greeting must have 1 to ${MAX_GREETING_LENGTH} characters; this one has ${length}`,
            { kind: "invalid-argument" },
          );
        }
        if (!state.recording) {
          return new DomainError(
            GreeterErrors.NOT_RECORDING,
            `Greeter "${command.greeterId}" is not recording`,
          );
        }
        return create(domain.GreetedEventSchema, { greeterId: command.greeterId, message });
      }
      case "example.v1.RecordCommand":
        return state.recording
          ? []
          : create(domain.RecordingStartedEventSchema, { greeterId: command.greeterId });
      case "example.v1.StopCommand":
        return state.recording
          ? create(domain.RecordingStoppedEventSchema, { greeterId: command.greeterId })
          : [];
    }
  },

  evolve(state, event) {
    switch (event.$typeName) {
      case "example.v1.GreetedEvent":
        return create(domain.GreeterStateSchema, { ...state, greetingCount: state.greetingCount + 1n });
      case "example.v1.RecordingStartedEvent":
        return create(domain.GreeterStateSchema, { ...state, recording: true });
      case "example.v1.RecordingStoppedEvent":
        return create(domain.GreeterStateSchema, { ...state, recording: false });
    }
  },

  // One entry per command: a command added to `commands` without its result does not compile.
  results: {
    "example.v1.GreetCommand": (_command, _state, events) => {
      const greeted = events[0];
      return create(GreetingSchema, {
        id: greeted.id,
        message: greeted.payload.$typeName === "example.v1.GreetedEvent" ? greeted.payload.message : "",
        greetedAt: BigInt(greeted.timestamp),
      });
    },
    "example.v1.RecordCommand": (_command, state) =>
      create(domain.RecordingStateSchema, { recording: state.recording }),
    "example.v1.StopCommand": (_command, state) =>
      create(domain.RecordingStateSchema, { recording: state.recording }),
  },
});
