package interop;

import interop.Api.BrokenQuery;
import interop.Api.CountTo;
import interop.Api.Deposited;
import interop.Api.GetBalance;
import interop.Api.WatchBalance;
import interop.Api.WhoIsThere;
import interop.Api.Hold;
import interop.Api.Ping;
import org.axonframework.commandhandling.CommandHandler;
import org.axonframework.config.ProcessingGroup;
import org.axonframework.eventhandling.EventHandler;
import org.axonframework.eventhandling.EventMessage;
import org.axonframework.queryhandling.QueryExecutionException;
import org.axonframework.queryhandling.QueryHandler;
import org.axonframework.queryhandling.QueryUpdateEmitter;
import org.axonframework.serialization.UnknownSerializedType;

import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.IntStream;

/** Query and event handlers of the interop app. */
public final class Handlers {
    private Handlers() {
    }

    /** Balances, answering queries and subscription updates; on a tracking processor (two segments). */
    @ProcessingGroup("interop-tracking")
    public static class Balances {
        final Map<String, Long> balances = new ConcurrentHashMap<>();
        /** Events of types this JVM does not know (appended by the Deno side): "type|revision|base64". */
        final List<String> foreign = new CopyOnWriteArrayList<>();
        /** Identifiers of every event handled, in order (a duplicate delivery shows up twice). */
        final List<String> handled = new CopyOnWriteArrayList<>();
        private final QueryUpdateEmitter emitter;

        Balances(QueryUpdateEmitter emitter) {
            this.emitter = emitter;
        }

        @EventHandler
        public void on(Deposited event, EventMessage<?> message) {
            handled.add(message.getIdentifier());
            balances.put(event.id(), event.balance());
            emitter.emit(WatchBalance.class, q -> q.id().equals(event.id()), event.balance());
        }

        @EventHandler
        public void on(Object payload, EventMessage<?> message) {
            handled.add(message.getIdentifier());
            if (payload instanceof UnknownSerializedType unknown) {
                byte[] data = unknown.readData(byte[].class);
                String revision = unknown.serializedType().getRevision();
                foreign.add(unknown.serializedType().getName() + "|" + (revision == null ? "" : revision) + "|"
                                    + Base64.getEncoder().encodeToString(data));
            }
        }

        @QueryHandler
        public Long balance(GetBalance query) {
            return balances.getOrDefault(query.id(), -1L);
        }

        @QueryHandler
        public Long watch(WatchBalance query) {
            return balances.getOrDefault(query.id(), 0L);
        }
    }

    /** Counts deposits on a pooled streaming processor (two segments). */
    @ProcessingGroup("interop-pooled")
    public static class DepositCounter {
        final List<String> seen = new CopyOnWriteArrayList<>();
        final List<String> handled = new CopyOnWriteArrayList<>();

        @EventHandler
        public void on(Deposited event, EventMessage<?> message) {
            handled.add(message.getIdentifier());
            seen.add(event.id() + ":" + event.balance());
        }
    }

    /** Queries of component A: streaming, failing, echo for Deno, scatter-gather. */
    public static class Answers {
        /** Pages of {@link #javaPages}. */
        static final int JAVA_PAGES = 50;
        private final String component;

        Answers(String component) {
            this.component = component;
        }

        @QueryHandler
        public String whoIsThere(WhoIsThere query) {
            return component;
        }

        @QueryHandler
        public List<Integer> countTo(CountTo query) {
            List<Integer> out = new ArrayList<>();
            IntStream.rangeClosed(1, query.count()).forEach(out::add);
            return out;
        }

        @QueryHandler
        public String broken(BrokenQuery query) {
            throw new QueryExecutionException("Query refused: " + query.reason(), null, "query-detail:" + query.reason());
        }

        /**
         * A streaming query of the dendrite connector (its payload an {@code example.v1.GreetingsQuery}), answered
         * with {@link #JAVA_PAGES} protobuf pages {@code GreetingList{greetings: [{message: "java-<i>"}]}}: one
         * response each when the caller's response type is Axon's PublisherResponseType, one list otherwise.
         */
        @QueryHandler(queryName = "example.v1.GreetingsQuery")
        public List<Api.ProtoBytes> javaPages(Api.ProtoBytes query) {
            List<Api.ProtoBytes> pages = new ArrayList<>();
            for (int i = 0; i < JAVA_PAGES; i++) pages.add(new Api.ProtoBytes("example.v1.GreetingList", "", page("java-" + i)));
            return pages;
        }

        /** {@code GreetingList} with one greeting, protobuf-encoded by hand (short messages only). */
        static byte[] page(String message) {
            byte[] text = message.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            byte[] out = new byte[text.length + 4];
            out[0] = 0x0a; // GreetingList.greetings, field 1, length-delimited
            out[1] = (byte) (text.length + 2);
            out[2] = 0x0a; // Greeting.message, field 1, length-delimited
            out[3] = (byte) text.length;
            System.arraycopy(text, 0, out, 4, text.length);
            return out;
        }

        @QueryHandler(queryName = "java.Echo")
        public String echo(String text) {
            return text.toUpperCase() + " from java";
        }
    }

    /** Command handlers present in two processes; process B holds {@link Hold} until it is killed. */
    public static class Router {
        private final String component;
        private final boolean holds;

        Router(String component, boolean holds) {
            this.component = component;
            this.holds = holds;
        }

        @CommandHandler
        public String ping(Ping command) {
            return component;
        }

        @CommandHandler
        public String hold(Hold command) throws InterruptedException {
            if (holds) {
                System.out.println("HOLDING");
                System.out.flush();
                Thread.sleep(Long.MAX_VALUE);
            }
            return component;
        }
    }
}
