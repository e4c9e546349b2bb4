/**
 * In-process handlers as router endpoints: {@link LocalEndpoint} decodes the payload, runs the handler and reports
 * its outcome; {@link LocalCommandEndpoint} and {@link LocalQueryEndpoint} answer their router with it.
 *
 * @module
 */
import type { DescMessage, Message, MessageShape } from "@bufbuild/protobuf";
import {
  AxonErrorCode,
  type CommandHandler,
  type MessageRegistry,
  newMessageId,
  type QueryHandler,
} from "../dendrite/mod.ts";
import { responsesOf } from "../dendrite/queries/query_results.ts";
import { handlingErrorOf } from "./local_errors.ts";
import type { CommandEndpoint, CommandRouter, HandlingError, RoutedCommand } from "./commands.ts";
import { Payload } from "./payload.ts";
import type { QueryRouter } from "./queries.ts";
import type { QueryEndpoint, RoutedQuery } from "./query_types.ts";

/** Who in-process messages say they come from. */
export interface LocalIdentity {
  readonly clientId: string;
  readonly component: string;
}

/** What both in-process endpoints share: identity, the payload's schema, running the handler. */
export abstract class LocalEndpoint<S extends DescMessage, R> {
  readonly streamId: string;
  readonly clientId: string;
  readonly local = true;
  readonly #registry: MessageRegistry;
  readonly #schema: S;
  readonly #location: string;
  readonly #errorCode: string;

  constructor(identity: LocalIdentity, registry: MessageRegistry, schema: S, errorCode: string) {
    this.streamId = `${identity.clientId}.${crypto.randomUUID()}`;
    this.clientId = identity.clientId;
    this.#registry = registry;
    this.#schema = schema;
    this.#location = identity.clientId;
    this.#errorCode = errorCode;
    registry.add(schema, registry.has(schema.typeName) ? registry.revision(schema.typeName) : "");
  }

  /** Runs the handler on the decoded payload (a decoding failure is the handler's failure). */
  protected run(
    message: { readonly id: string; readonly payload: Payload },
    handle: (payload: MessageShape<S>) => Promise<R>,
  ): void {
    (async () => await handle(message.payload.message(this.#registry, this.#schema) as MessageShape<S>))()
      .then(
        (result) => this.succeeded(message.id, result),
        (error) => this.failed(message.id, handlingErrorOf(error, this.#errorCode, this.#location)),
      );
  }

  /** The handler returned `result` for message `id`. */
  protected abstract succeeded(id: string, result: R): void;
  /** The handler failed on message `id`. */
  protected abstract failed(id: string, error: HandlingError): void;
}

/** An in-process command handler on the command router. */
export class LocalCommandEndpoint<S extends DescMessage> extends LocalEndpoint<S, Message | undefined>
  implements CommandEndpoint {
  readonly component: string;
  readonly #router: CommandRouter;
  readonly #handler: CommandHandler<MessageShape<S>>;

  constructor(
    router: CommandRouter,
    identity: LocalIdentity,
    registry: MessageRegistry,
    schema: S,
    handler: CommandHandler<MessageShape<S>>,
  ) {
    super(identity, registry, schema, AxonErrorCode.COMMAND_EXECUTION_ERROR);
    this.component = identity.component;
    this.#router = router;
    this.#handler = handler;
  }

  deliver(command: RoutedCommand): void {
    const { id, metadata, timestamp, routingKey, signal } = command;
    this.run(
      command,
      (payload) => this.#handler({ id, payload, metadata, timestamp, routingKey }, { signal }),
    );
  }

  protected succeeded(id: string, result: Message | undefined): void {
    const payload = result ? Payload.ofMessage(result) : undefined;
    this.#router.respond(this.streamId, id, { ok: true, id: newMessageId(), payload, metadata: {} });
  }

  protected failed(id: string, error: HandlingError): void {
    this.#router.respond(this.streamId, id, { ok: false, id: newMessageId(), error });
  }
}

/** An in-process query handler on the query router: its responses, then completion. */
export class LocalQueryEndpoint<S extends DescMessage>
  extends LocalEndpoint<S, Message | readonly Message[] | undefined>
  implements QueryEndpoint {
  readonly #router: QueryRouter;
  readonly #handler: QueryHandler<MessageShape<S>>;

  constructor(
    router: QueryRouter,
    identity: LocalIdentity,
    registry: MessageRegistry,
    schema: S,
    handler: QueryHandler<MessageShape<S>>,
  ) {
    super(identity, registry, schema, AxonErrorCode.QUERY_EXECUTION_ERROR);
    this.#router = router;
    this.#handler = handler;
  }

  deliver(query: RoutedQuery): void {
    const { id, metadata, timestamp, signal } = query;
    this.run(query, (payload) => this.#handler({ id, payload, metadata, timestamp }, { signal }));
  }

  protected succeeded(id: string, result: Message | readonly Message[] | undefined): void {
    for (const response of responsesOf(result)) {
      this.#router.respond(this.streamId, id, {
        id: newMessageId(),
        payload: Payload.ofMessage(response),
        metadata: {},
      });
    }
    this.#router.complete(this.streamId, id);
  }

  protected failed(id: string, error: HandlingError): void {
    this.#router.respond(this.streamId, id, { id: newMessageId(), metadata: {}, error });
    this.#router.complete(this.streamId, id);
  }
}
