package interop;

import interop.Api.Deposit;
import interop.Api.Hold;
import interop.Api.Ping;
import org.axonframework.axonserver.connector.AxonServerException;
import org.axonframework.commandhandling.gateway.CommandGateway;
import org.axonframework.config.Configuration;

import org.reactivestreams.Subscription;
import reactor.core.publisher.BaseSubscriber;
import reactor.core.publisher.Flux;

import java.io.BufferedReader;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static interop.Main.check;
import static interop.Main.eventually;

/**
 * Scenarios where a process dies: a command handler process killed with commands routed to it, and soma killed and
 * restarted under this app. The Deno side does the killing when it reads {@code HOLDING} (from process B) or
 * {@code KILL-SOMA} (from this app); it answers the latter with {@code SOMA-BACK} on our standard input.
 */
final class Resilience {
    static final String SELF = "interop-java";
    static final String OTHER = "interop-handler-b";

    private Resilience() {
    }

    /** Keys 0..31 that soma routes to process B, once B has subscribed (polled: B starts in parallel). */
    static List<String> keysOfB(CommandGateway commands) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 180_000;
        while (true) {
            List<String> keys = new ArrayList<>();
            for (int i = 0; i < 32; i++) {
                String key = "key-" + i;
                String who = commands.sendAndWait(new Ping(key), 10, TimeUnit.SECONDS);
                if (OTHER.equals(who)) keys.add(key);
            }
            if (!keys.isEmpty()) return keys;
            check(System.currentTimeMillis() < deadline, "process B never received a command");
            Thread.sleep(200);
        }
    }

    static String causes(Throwable error) {
        StringBuilder out = new StringBuilder();
        for (Throwable t = error; t != null; t = t.getCause()) {
            out.append(t);
            if (t instanceof AxonServerException axon) out.append(" [code ").append(axon.code()).append(']');
            out.append(" <- ");
        }
        return out.toString().replace('\n', ' ');
    }

    /**
     * Axon Server semantics: a command already sent to a handler whose connection is lost fails with AXONIQ-4001
     * (CONNECTION_TO_HANDLER_LOST); the same command sent again, and every key B had, goes to the survivor.
     */
    static String killedHandler(CommandGateway commands) throws Exception {
        List<String> keys = keysOfB(commands);
        CompletableFuture<String> held = commands.send(new Hold(keys.get(0)));
        String failure;
        try {
            String answer = held.get(30, TimeUnit.SECONDS);
            throw new AssertionError("the held command was answered by " + answer);
        } catch (ExecutionException error) {
            failure = causes(error);
        }
        // Axon Framework 4.13 has no ErrorCode for AXONIQ-4001: it maps it to OTHER (AXONIQ-0001), keeping the message.
        check(failure.contains("AxonServerException: Connection to the command handler was lost"),
              "the held command did not fail with CONNECTION_TO_HANDLER_LOST: " + failure);
        String retried = commands.sendAndWait(new Hold(keys.get(0)), 10, TimeUnit.SECONDS);
        check(SELF.equals(retried), "the retried command went to " + retried);
        Set<String> survivors = new HashSet<>();
        for (String key : keys) survivors.add(commands.sendAndWait(new Ping(key), 10, TimeUnit.SECONDS));
        check(survivors.equals(Set.of(SELF)), "keys of the killed process went to " + survivors);
        return keys.size() + " of 32 keys were on B; held command failed (connection to handler lost), retry and all keys "
                + "went to the survivor";
    }

    /**
     * A streaming query to the Deno handler (DENO_MANY: 1000 pages of 16 KiB) of which this caller takes one and
     * then nothing more: it prints {@code STREAM-PAUSED} and waits for {@code COUNTED} (the Deno side counted what
     * its handler sent meanwhile), then cancels.
     */
    static String slowCaller(org.axonframework.queryhandling.QueryGateway queries, BufferedReader stdin)
            throws Exception {
        Api.ProtoBytes many = Api.ProtoBytes.parse(System.getenv("DENO_MANY"));
        CompletableFuture<Api.ProtoBytes> first = new CompletableFuture<>();
        BaseSubscriber<Api.ProtoBytes> slow = new BaseSubscriber<>() {
            @Override
            protected void hookOnSubscribe(Subscription subscription) {
                request(1);
            }

            @Override
            protected void hookOnNext(Api.ProtoBytes page) {
                first.complete(page);
            }

            @Override
            protected void hookOnError(Throwable error) {
                first.completeExceptionally(error);
            }
        };
        Flux.from(queries.streamingQuery(many.type(), many, Api.ProtoBytes.class)).subscribe(slow);
        Api.ProtoBytes page = first.get(20, TimeUnit.SECONDS);
        System.out.println("STREAM-PAUSED");
        System.out.flush();
        String line = stdin.readLine();
        slow.dispose();
        check("COUNTED".equals(line), "expected COUNTED on stdin, got " + line);
        return "took 1 page of " + page.data().length + " bytes, then paused until the Deno side counted";
    }

    /** Identifiers of every event in the store, in order (reads until the stream stays empty for a second). */
    static List<String> allEventIds(Configuration app) throws InterruptedException {
        List<String> ids = new ArrayList<>();
        try (var stream = app.eventStore().openStream(null)) {
            while (stream.hasNextAvailable(1, TimeUnit.SECONDS)) ids.add(stream.nextAvailable().getIdentifier());
        }
        return ids;
    }

    static void noDuplicates(List<String> handled, String processor) {
        Set<String> unique = new HashSet<>(handled);
        check(unique.size() == handled.size(),
              processor + " handled " + (handled.size() - unique.size()) + " events twice");
    }

    /** soma is killed (-9) and restarted on the same ports and data dir while this app runs. */
    static String somaRestart(Configuration app, String account, Handlers.Balances balances,
                              Handlers.DepositCounter counter, BufferedReader stdin) throws Exception {
        CommandGateway commands = app.commandGateway();
        long balance = commands.sendAndWait(new Deposit(account, 0), 10, TimeUnit.SECONDS);
        eventually(() -> balances.balances.getOrDefault(account, 0L) == balance
                && counter.seen.contains(account + ":" + balance), "both processors at the head");
        List<String> before = allEventIds(app);
        int trackedBefore = balances.handled.size();
        System.out.println("KILL-SOMA");
        System.out.flush();
        String line = stdin.readLine();
        check("SOMA-BACK".equals(line), "expected SOMA-BACK on stdin, got " + line);
        long deadline = System.currentTimeMillis() + 45_000;
        Long after = null;
        int attempts = 0;
        while (after == null) {
            attempts++;
            try {
                after = commands.sendAndWait(new Deposit(account, 2), 5, TimeUnit.SECONDS);
            } catch (RuntimeException error) {
                check(System.currentTimeMillis() < deadline, "no command got through: " + causes(error));
                Thread.sleep(250);
            }
        }
        check(after == balance + 2, "balance after the restart " + after + ", expected " + (balance + 2));
        long expected = after;
        eventually(() -> balances.balances.getOrDefault(account, 0L) == expected, "the tracking processor to resume",
                   45_000);
        eventually(() -> counter.seen.contains(account + ":" + expected), "the pooled processor to resume", 45_000);
        noDuplicates(balances.handled, "the tracking processor");
        noDuplicates(counter.handled, "the pooled processor");
        List<String> now = allEventIds(app);
        check(now.size() > before.size() && now.subList(0, before.size()).equals(before),
              "events before the kill: " + before.size() + ", now " + now.size() + " (prefix differs)");
        return before.size() + " events kept; command through after " + attempts + " attempts; tracking handled "
                + (balances.handled.size() - trackedBefore) + " new events, no duplicates";
    }
}
