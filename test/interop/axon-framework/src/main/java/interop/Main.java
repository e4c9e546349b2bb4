package interop;

import interop.Api.BrokenQuery;
import interop.Api.CountTo;
import interop.Api.Deposit;
import interop.Api.GetBalance;
import interop.Api.OpenAccount;
import interop.Api.Overdraw;
import interop.Api.WatchBalance;
import interop.Api.WhoIsThere;
import org.axonframework.axonserver.connector.AxonServerConfiguration;
import org.axonframework.axonserver.connector.AxonServerConnectionManager;
import org.axonframework.axonserver.connector.event.axon.AxonServerEventScheduler;
import org.axonframework.eventhandling.scheduling.ScheduleToken;
import org.axonframework.commandhandling.CommandExecutionException;
import org.axonframework.config.AggregateConfigurer;
import org.axonframework.config.Configuration;
import org.axonframework.config.Configurer;
import org.axonframework.config.DefaultConfigurer;
import org.axonframework.eventhandling.DomainEventMessage;
import org.axonframework.eventhandling.TrackingEventProcessor;
import org.axonframework.eventhandling.TrackingEventProcessorConfiguration;
import org.axonframework.eventhandling.pooled.PooledStreamingEventProcessor;
import org.axonframework.eventsourcing.EventCountSnapshotTriggerDefinition;
import org.axonframework.messaging.responsetypes.ResponseTypes;
import org.axonframework.queryhandling.QueryExecutionException;
import org.axonframework.queryhandling.SubscriptionQueryResult;
import org.axonframework.serialization.json.JacksonSerializer;
import reactor.core.publisher.Flux;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * A plain Axon Framework 4.13 application (DefaultConfigurer + AxonServerConfiguration, no Spring) run against soma.
 * Prints one line per scenario: {@code RESULT <scenario> PASS|FAIL <detail>}, then {@code READY} and serves
 * (handlers stay registered for the Deno side) until its standard input closes.
 */
public final class Main {
    private static final String TOKEN = System.getenv().getOrDefault("SOMA_TOKEN", "");
    private static final String SERVER = "127.0.0.1:" + System.getenv("SOMA_PORT");
    private static final String HTTP = "http://127.0.0.1:" + System.getenv("SOMA_HTTP_PORT");

    private Main() {
    }

    interface Scenario {
        String run() throws Exception;
    }

    static void scenario(String name, Scenario scenario) {
        try {
            System.out.println("RESULT " + name + " PASS " + scenario.run());
        } catch (Throwable error) {
            System.out.println("RESULT " + name + " FAIL " + String.valueOf(error).replace('\n', ' '));
        }
        System.out.flush();
    }

    static void check(boolean condition, String message) {
        if (!condition) throw new AssertionError(message);
    }

    static void eventually(BooleanSupplier condition, String what) throws InterruptedException {
        eventually(condition, what, 15_000);
    }

    static void eventually(BooleanSupplier condition, String what, long timeoutMs) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (!condition.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) throw new AssertionError("timed out waiting for " + what);
            Thread.sleep(20);
        }
    }

    static AxonServerConfiguration axonServer(String component) {
        return AxonServerConfiguration.builder()
                                      .servers(SERVER)
                                      .token(TOKEN)
                                      .componentName(component)
                                      .clientId(component + "-" + UUID.randomUUID())
                                      .suppressDownloadMessage()
                                      .build();
    }

    static Configurer base(String component) {
        return DefaultConfigurer.defaultConfiguration()
                                .registerComponent(AxonServerConfiguration.class, c -> axonServer(component))
                                .configureSerializer(c -> new ProtoSerializer(JacksonSerializer.defaultSerializer()))
                                .configureMessageSerializer(c -> new ProtoSerializer(JacksonSerializer.defaultSerializer()))
                                .configureEventSerializer(c -> JacksonSerializer.defaultSerializer());
    }

    /** One Balances instance serves as event handler and as query handler. */
    static synchronized Handlers.Balances balances(Handlers.Balances[] holder, Configuration c) {
        if (holder[0] == null) holder[0] = new Handlers.Balances(c.queryUpdateEmitter());
        return holder[0];
    }

    /** Process B of the routing scenario: a second handler of Ping and Hold, killed by the Deno side. */
    static void handlerProcess(BufferedReader stdin) throws Exception {
        Configuration b = base(Resilience.OTHER)
                .registerCommandHandler(c -> new Handlers.Router(Resilience.OTHER, true))
                .start();
        System.out.println("HANDLER-READY");
        System.out.flush();
        while (stdin.readLine() != null) {
            // serve until killed or our standard input closes
        }
        b.shutdown();
    }

    public static void main(String[] args) throws Exception {
        BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        if (args.length > 0 && args[0].equals("handler")) {
            handlerProcess(stdin);
            return;
        }
        Handlers.DepositCounter counter = new Handlers.DepositCounter();
        Handlers.Balances[] balances = new Handlers.Balances[1];
        Configurer configurer = base("interop-java")
                .configureAggregate(AggregateConfigurer.defaultConfiguration(Account.class)
                                                       .configureSnapshotTrigger(c -> new EventCountSnapshotTriggerDefinition(
                                                               c.snapshotter(), 3)))
                .registerQueryHandler(c -> new Handlers.Answers("interop-java"))
                .registerCommandHandler(c -> new Handlers.Router(Resilience.SELF, false))
                .eventProcessing(ep -> ep
                        .registerTrackingEventProcessor(
                                "interop-tracking", Configuration::eventStore,
                                c -> TrackingEventProcessorConfiguration.forParallelProcessing(2)
                                                                        .andInitialSegmentsCount(2))
                        .registerPooledStreamingEventProcessor(
                                "interop-pooled", Configuration::eventStore,
                                (c, builder) -> builder.initialSegmentCount(2))
                        .registerEventHandler(c -> balances(balances, c))
                        .registerEventHandler(c -> counter))
                .registerQueryHandler(c -> balances(balances, c));
        Configuration app = configurer.start();
        Configuration other = base("interop-java-b")
                .registerQueryHandler(c -> new Handlers.Answers("interop-java-b"))
                .start();
        try {
            run(app, balances[0], counter, stdin);
            System.out.println("READY");
            System.out.flush();
            while (stdin.readLine() != null) {
                // serve until the Deno side closes our standard input
            }
        } finally {
            other.shutdown();
            app.shutdown();
        }
    }

    static void run(Configuration app, Handlers.Balances balances, Handlers.DepositCounter counter,
                    BufferedReader stdin) {
        var commands = app.commandGateway();
        var queries = app.queryGateway();
        String account = "acc-" + UUID.randomUUID();

        scenario("commands-aggregate", () -> {
            commands.sendAndWait(new OpenAccount(account), 10, TimeUnit.SECONDS);
            long after = 0;
            for (int i = 1; i <= 7; i++) after = commands.sendAndWait(new Deposit(account, 10), 10, TimeUnit.SECONDS);
            check(after == 70, "balance after 7 deposits: " + after);
            return "balance=" + after;
        });
        scenario("snapshots", () -> {
            eventually(() -> {
                var first = app.eventStore().readEvents(account).asStream().findFirst();
                return first.isPresent() && first.get().getPayloadType() == Account.class;
            }, "a snapshot of " + account);
            DomainEventMessage<?> first = app.eventStore().readEvents(account).asStream().findFirst().orElseThrow();
            long next = commands.sendAndWait(new Deposit(account, 1), 10, TimeUnit.SECONDS);
            check(next == 71, "balance after loading from the snapshot: " + next);
            return "snapshot at sequence " + first.getSequenceNumber();
        });
        scenario("tracking-processor", () -> {
            eventually(() -> balances.balances.getOrDefault(account, 0L) == 71, "the tracking projection");
            var processor = app.eventProcessingConfiguration()
                               .eventProcessor("interop-tracking", TrackingEventProcessor.class).orElseThrow();
            eventually(() -> processor.processingStatus().size() == 2, "two tracking segments claimed");
            return "segments=" + processor.processingStatus().keySet();
        });
        scenario("pooled-processor", () -> {
            eventually(() -> counter.seen.contains(account + ":71"), "the pooled processor");
            var processor = app.eventProcessingConfiguration()
                               .eventProcessor("interop-pooled", PooledStreamingEventProcessor.class).orElseThrow();
            eventually(() -> processor.processingStatus().size() == 2, "two pooled segments claimed");
            return "segments=" + processor.processingStatus().keySet();
        });
        scenario("point-to-point-query", () -> {
            Long balance = queries.query(new GetBalance(account), ResponseTypes.instanceOf(Long.class))
                                  .get(10, TimeUnit.SECONDS);
            check(balance == 71, "balance " + balance);
            return "balance=" + balance;
        });
        scenario("scatter-gather-query", () -> {
            Set<String> names = new HashSet<>();
            queries.scatterGather(new WhoIsThere("java"), ResponseTypes.instanceOf(String.class), 5, TimeUnit.SECONDS)
                   .forEach(names::add);
            check(names.equals(Set.of("interop-java", "interop-java-b")), "answers " + names);
            return "answers=" + names;
        });
        scenario("subscription-query", () -> {
            SubscriptionQueryResult<Long, Long> result = queries.subscriptionQuery(
                    new WatchBalance(account), ResponseTypes.instanceOf(Long.class), ResponseTypes.instanceOf(Long.class));
            try {
                Long initial = result.initialResult().block(Duration.ofSeconds(10));
                check(initial != null && initial == 71, "initial " + initial);
                var update = result.updates().next().toFuture();
                commands.sendAndWait(new Deposit(account, 5), 10, TimeUnit.SECONDS);
                Long updated = update.get(10, TimeUnit.SECONDS);
                check(updated == 76, "update " + updated);
                return "initial=" + initial + " update=" + updated;
            } finally {
                result.cancel();
            }
        });
        scenario("streaming-query", () -> {
            List<Integer> all = Flux.from(queries.streamingQuery(new CountTo(200), Integer.class))
                                    .collectList().block(Duration.ofSeconds(15));
            check(all != null && all.size() == 200 && all.get(199) == 200, "all " + (all == null ? null : all.size()));
            List<Integer> first = Flux.from(queries.streamingQuery(new CountTo(100_000), Integer.class))
                                      .take(5).collectList().block(Duration.ofSeconds(15));
            check(List.of(1, 2, 3, 4, 5).equals(first), "first five " + first);
            return "received=" + all.size() + " then took 5 of 100000 and cancelled";
        });
        scenario("exception-details-command", () -> {
            try {
                commands.sendAndWait(new Overdraw(account), 10, TimeUnit.SECONDS);
            } catch (CommandExecutionException error) {
                Object details = error.getDetails().orElse(null);
                check(String.valueOf(details).startsWith("insufficient-funds:"), "details " + error.getDetails());
                return "details=" + details;
            }
            throw new AssertionError("the command did not fail");
        });
        scenario("exception-details-query", () -> {
            try {
                queries.query(new BrokenQuery("x"), ResponseTypes.instanceOf(String.class)).get(10, TimeUnit.SECONDS);
            } catch (ExecutionException error) {
                if (error.getCause() instanceof QueryExecutionException failure) {
                    Object details = failure.getDetails().orElse(null);
                    check("query-detail:x".equals(details), "details " + failure.getDetails());
                    return "details=" + details;
                }
                throw error;
            }
            throw new AssertionError("the query did not fail");
        });
        scenario("query-answered-by-deno", () -> {
            String answer = queries.query("deno.Echo", "hello", ResponseTypes.instanceOf(String.class))
                                   .get(10, TimeUnit.SECONDS);
            check("HELLO from deno".equals(answer), "answer " + answer);
            return "answer=" + answer;
        });
        scenario("streaming-query-answered-by-deno", () -> {
            Api.ProtoBytes search = Api.ProtoBytes.parse(System.getenv("DENO_SEARCH"));
            List<Api.ProtoBytes> all = Flux.from(queries.streamingQuery(search.type(), search, Api.ProtoBytes.class))
                                           .collectList().block(Duration.ofSeconds(20));
            check(all != null && all.size() == 300, "received " + (all == null ? null : all.size()));
            Set<String> distinct = new HashSet<>();
            all.forEach(page -> distinct.add(page.base64()));
            check(distinct.size() == 300 && all.stream().allMatch(p -> p.type().equals("example.v1.GreetingList")),
                  "distinct " + distinct.size() + ", types " + all.get(0).type());
            check(all.get(0).base64().equals(System.getenv("DENO_FIRST"))
                          && all.get(299).base64().equals(System.getenv("DENO_LAST")), "first/last bytes differ");
            List<Api.ProtoBytes> few = Flux.from(queries.streamingQuery(search.type(), search, Api.ProtoBytes.class))
                                           .take(3).collectList().block(Duration.ofSeconds(20));
            check(few != null && few.size() == 3 && few.get(0).base64().equals(System.getenv("DENO_FIRST")),
                  "took " + few);
            return "received 300 protobuf pages in order from the Deno connector; then took 3 and cancelled";
        });
        scenario("streaming-permits-deno-handler", () -> Resilience.slowCaller(queries, stdin));
        scenario("events-from-deno", () -> {
            String expected = System.getenv().getOrDefault("DENO_EVENTS", "");
            List<String> wanted = expected.isEmpty() ? List.of() : List.of(expected.split(","));
            check(!wanted.isEmpty(), "no Deno events announced");
            eventually(() -> balances.foreign.containsAll(wanted), "the Deno events " + wanted + ", have "
                    + balances.foreign);
            return "events=" + new ArrayList<>(balances.foreign).size();
        });
        scenario("processor-control-http", () -> processorControl(app));
        scenario("event-scheduler", () -> {
            AxonServerEventScheduler scheduler = AxonServerEventScheduler.builder()
                    .connectionManager(app.getComponent(AxonServerConnectionManager.class))
                    .eventSerializer(app.eventSerializer())
                    .build();
            scheduler.start();
            try {
                long before = balances.balances.getOrDefault(account, 0L);
                ScheduleToken cancelled = scheduler.schedule(Duration.ofMillis(300), new Api.Deposited(account, 1000, -1));
                scheduler.cancelSchedule(cancelled);
                long at = System.currentTimeMillis();
                scheduler.schedule(Duration.ofMillis(500), new Api.Deposited(account, 1, before + 1));
                eventually(() -> balances.balances.getOrDefault(account, 0L) == before + 1, "the scheduled event");
                long waited = System.currentTimeMillis() - at;
                check(waited >= 450, "published after " + waited + " ms, before it was due");
                // Due earlier, the cancelled event would be stored before the published one.
                try (var stream = app.eventStore().openStream(null)) {
                    while (stream.hasNextAvailable(5, TimeUnit.SECONDS)) {
                        Object payload = stream.nextAvailable().getPayload();
                        if (payload instanceof Api.Deposited d && d.id().equals(account)) {
                            check(d.amount() != 1000, "the cancelled event was published");
                            if (d.balance() == before + 1) break;
                        }
                    }
                }
                return "published after " + waited + " ms; the cancelled one was not";
            } finally {
                scheduler.shutdownDispatching();
            }
        });
        scenario("command-routing-killed-handler", () -> Resilience.killedHandler(commands));
        scenario("soma-restart", () -> Resilience.somaRestart(app, account, balances, counter, stdin));
    }

    static String processorControl(Configuration app) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        var processor = app.eventProcessingConfiguration()
                           .eventProcessor("interop-tracking", TrackingEventProcessor.class).orElseThrow();
        eventually(() -> {
            try {
                HttpResponse<String> list = http.send(request("/v1/processors").GET().build(),
                                                      HttpResponse.BodyHandlers.ofString());
                return list.statusCode() == 200 && list.body().contains("interop-tracking");
            } catch (Exception error) {
                throw new IllegalStateException(error);
            }
        }, "soma's /v1/processors listing interop-tracking");
        HttpResponse<String> pause = http.send(
                request("/v1/processors/interop-tracking/pause").POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
        check(pause.statusCode() == 200, "pause answered " + pause.statusCode() + " " + pause.body());
        eventually(() -> !processor.isRunning(), "the processor to pause");
        HttpResponse<String> start = http.send(
                request("/v1/processors/interop-tracking/start").POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
        check(start.statusCode() == 200, "start answered " + start.statusCode() + " " + start.body());
        eventually(processor::isRunning, "the processor to start again");
        return "paused and started through soma's HTTP API";
    }

    static HttpRequest.Builder request(String path) {
        HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(HTTP + path)).timeout(Duration.ofSeconds(10));
        if (!TOKEN.isEmpty()) builder.header("AxonIQ-Access-Token", TOKEN).header("Authorization", "Bearer " + TOKEN);
        return builder;
    }
}
