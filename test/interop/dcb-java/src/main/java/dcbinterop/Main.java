package dcbinterop;

import com.google.protobuf.ByteString;
import io.axoniq.axonserver.connector.AxonServerConnection;
import io.axoniq.axonserver.connector.AxonServerConnectionFactory;
import io.axoniq.axonserver.connector.ResultStream;
import io.axoniq.axonserver.connector.event.DcbEventChannel;
import io.axoniq.axonserver.grpc.event.dcb.AddSnapshotRequest;
import io.axoniq.axonserver.grpc.event.dcb.AppendEventsResponse;
import io.axoniq.axonserver.grpc.event.dcb.ConsistencyCondition;
import io.axoniq.axonserver.grpc.event.dcb.Criterion;
import io.axoniq.axonserver.grpc.event.dcb.Event;
import io.axoniq.axonserver.grpc.event.dcb.GetLastSnapshotRequest;
import io.axoniq.axonserver.grpc.event.dcb.GetLastSnapshotResponse;
import io.axoniq.axonserver.grpc.event.dcb.Snapshot;
import io.axoniq.axonserver.grpc.event.dcb.SourceEventsRequest;
import io.axoniq.axonserver.grpc.event.dcb.SourceEventsResponse;
import io.axoniq.axonserver.grpc.event.dcb.StreamEventsRequest;
import io.axoniq.axonserver.grpc.event.dcb.StreamEventsResponse;
import io.axoniq.axonserver.grpc.event.dcb.Tag;
import io.axoniq.axonserver.grpc.event.dcb.TaggedEvent;
import io.axoniq.axonserver.grpc.event.dcb.TagsAndNamesCriterion;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Runs DCB scenarios against soma with axonserver-connector-java's DcbEventChannel and SnapshotChannel, printing
 * one RESULT line each, then exits.
 */
public final class Main {
    private static final int PORT = Integer.parseInt(System.getenv("SOMA_PORT"));
    private static final String TOKEN = System.getenv().getOrDefault("SOMA_TOKEN", "");

    interface Scenario {
        String run(AxonServerConnection connection) throws Exception;
    }

    public static void main(String[] args) throws Exception {
        AxonServerConnectionFactory factory = AxonServerConnectionFactory.forClient("dcb-interop")
                .routingServers(new io.axoniq.axonserver.connector.impl.ServerAddress("127.0.0.1", PORT))
                .token(TOKEN)
                .build();
        AxonServerConnection connection = factory.connect("default");
        run("append-and-source", connection, Main::appendAndSource);
        run("conditional-append", connection, Main::conditionalAppend);
        run("concurrent-conditional-appends", connection, Main::concurrentAppends);
        run("stream-live", connection, Main::streamLive);
        run("tags", connection, Main::tags);
        run("snapshots", connection, Main::snapshots);
        connection.disconnect();
        factory.shutdown();
        System.out.println("DONE");
        System.exit(0);
    }

    private static void run(String name, AxonServerConnection connection, Scenario scenario) {
        try {
            String detail = scenario.run(connection);
            System.out.println("RESULT " + name + " PASS " + detail);
        } catch (Throwable error) {
            System.out.println("RESULT " + name + " FAIL " + error);
        }
    }

    private static Tag tag(String key, String value) {
        return Tag.newBuilder().setKey(ByteString.copyFromUtf8(key)).setValue(ByteString.copyFromUtf8(value)).build();
    }

    private static TaggedEvent event(String name, Tag... tags) {
        Event event = Event.newBuilder()
                .setIdentifier(UUID.randomUUID().toString())
                .setTimestamp(System.currentTimeMillis())
                .setName(name)
                .setVersion("1")
                .setPayload(ByteString.copyFromUtf8("{\"name\":\"" + name + "\"}"))
                .build();
        return TaggedEvent.newBuilder().setEvent(event).addAllTag(List.of(tags)).build();
    }

    private static Criterion criterion(String name, Tag... tags) {
        return Criterion.newBuilder()
                .setTagsAndNames(TagsAndNamesCriterion.newBuilder().addName(name).addAllTag(List.of(tags)))
                .build();
    }

    /** The events and the marker of a Source call. */
    private record Sourced(List<Long> sequences, long marker) {}

    private static Sourced source(DcbEventChannel channel, Criterion criterion) throws Exception {
        ResultStream<SourceEventsResponse> stream = channel.source(
                SourceEventsRequest.newBuilder().addCriterion(criterion).build());
        List<Long> sequences = new ArrayList<>();
        long marker = -1;
        while (true) {
            SourceEventsResponse response = stream.nextIfAvailable(10, TimeUnit.SECONDS);
            if (response == null) break;
            if (response.hasEvent()) sequences.add(response.getEvent().getSequence());
            else marker = response.getConsistencyMarker();
        }
        if (stream.getError().isPresent()) throw new IllegalStateException("source failed", stream.getError().get());
        return new Sourced(sequences, marker);
    }

    private static void check(boolean condition, String message) {
        if (!condition) throw new AssertionError(message);
    }

    private static String appendAndSource(AxonServerConnection connection) throws Exception {
        DcbEventChannel channel = connection.dcbEventChannel();
        String course = "c-" + UUID.randomUUID();
        AppendEventsResponse appended = channel.append(
                event("CourseCreated", tag("course", course)),
                event("StudentSubscribed", tag("course", course), tag("student", "ada"))).get(10, TimeUnit.SECONDS);
        check(appended.getTransactionSize() == 2, "transaction size " + appended.getTransactionSize());
        Sourced sourced = source(channel, criterion("StudentSubscribed", tag("course", course)));
        long first = appended.getSequenceOfTheFirstEvent();
        check(sourced.sequences().equals(List.of(first + 1)), "sourced " + sourced.sequences());
        check(sourced.marker() == first + 2, "marker " + sourced.marker());
        return "first=" + first;
    }

    private static String conditionalAppend(AxonServerConnection connection) throws Exception {
        DcbEventChannel channel = connection.dcbEventChannel();
        String course = "c-" + UUID.randomUUID();
        Criterion criterion = criterion("StudentSubscribed", tag("course", course));
        channel.append(event("CourseCreated", tag("course", course))).get(10, TimeUnit.SECONDS);
        Sourced sourced = source(channel, criterion);
        ConsistencyCondition condition = ConsistencyCondition.newBuilder()
                .setConsistencyMarker(sourced.marker()).addCriterion(criterion).build();
        channel.append(List.of(event("StudentSubscribed", tag("course", course), tag("student", "ada"))), condition)
                .get(10, TimeUnit.SECONDS);
        long head = channel.head().get(10, TimeUnit.SECONDS).getSequence();
        try {
            channel.append(List.of(
                    event("StudentSubscribed", tag("course", course), tag("student", "bob")),
                    event("Unrelated", tag("x", "y"))), condition).get(10, TimeUnit.SECONDS);
            throw new AssertionError("the stale condition was accepted");
        } catch (ExecutionException expected) {
            Status status = Status.fromThrowable(expected.getCause());
            check(status.getCode() == Status.Code.FAILED_PRECONDITION, "status " + status);
        }
        long after = channel.head().get(10, TimeUnit.SECONDS).getSequence();
        check(after == head, "head moved from " + head + " to " + after);
        return "rejected with FAILED_PRECONDITION, head " + head;
    }

    private static String concurrentAppends(AxonServerConnection connection) throws Exception {
        DcbEventChannel channel = connection.dcbEventChannel();
        String course = "c-" + UUID.randomUUID();
        Criterion criterion = criterion("StudentSubscribed", tag("course", course));
        Sourced sourced = source(channel, criterion);
        ConsistencyCondition condition = ConsistencyCondition.newBuilder()
                .setConsistencyMarker(sourced.marker()).addCriterion(criterion).build();
        List<CompletableFuture<AppendEventsResponse>> futures = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            futures.add(channel.append(
                    List.of(event("StudentSubscribed", tag("course", course), tag("student", "s" + i))), condition));
        }
        int won = 0;
        int lost = 0;
        for (CompletableFuture<AppendEventsResponse> future : futures) {
            try {
                future.get(20, TimeUnit.SECONDS);
                won++;
            } catch (ExecutionException e) {
                lost++;
            }
        }
        check(won == 1 && lost == 19, "won " + won + ", lost " + lost);
        check(source(channel, criterion).sequences().size() == 1, "stored more than one");
        return "1 of 20 won";
    }

    private static String streamLive(AxonServerConnection connection) throws Exception {
        DcbEventChannel channel = connection.dcbEventChannel();
        String course = "c-" + UUID.randomUUID();
        long head = channel.head().get(10, TimeUnit.SECONDS).getSequence();
        ResultStream<StreamEventsResponse> stream = channel.stream(StreamEventsRequest.newBuilder()
                .setFromSequence(head).addCriterion(criterion("StudentSubscribed", tag("course", course))).build());
        channel.append(event("StudentSubscribed", tag("course", "other"), tag("student", "x"))).get(10, TimeUnit.SECONDS);
        AppendEventsResponse appended = channel.append(
                event("StudentSubscribed", tag("course", course), tag("student", "ada"))).get(10, TimeUnit.SECONDS);
        StreamEventsResponse received = stream.nextIfAvailable(10, TimeUnit.SECONDS);
        stream.close();
        check(received != null, "nothing streamed");
        check(received.getEvent().getSequence() == appended.getSequenceOfTheFirstEvent(),
              "streamed " + received.getEvent().getSequence());
        return "live event " + received.getEvent().getSequence();
    }

    private static String tags(AxonServerConnection connection) throws Exception {
        DcbEventChannel channel = connection.dcbEventChannel();
        String course = "c-" + UUID.randomUUID();
        long sequence = channel.append(event("CourseCreated", tag("course", course))).get(10, TimeUnit.SECONDS)
                .getSequenceOfTheFirstEvent();
        channel.addTags(sequence, List.of(tag("featured", course))).get(10, TimeUnit.SECONDS);
        check(channel.tagsFor(sequence).get(10, TimeUnit.SECONDS).getTagCount() == 2, "tags after add");
        check(source(channel, criterion("CourseCreated", tag("featured", course))).sequences().equals(List.of(sequence)),
              "source by the added tag");
        channel.removeTags(sequence, List.of(tag("course", course))).get(10, TimeUnit.SECONDS);
        check(channel.tagsFor(sequence).get(10, TimeUnit.SECONDS).getTagCount() == 1, "tags after remove");
        check(source(channel, criterion("CourseCreated", tag("course", course))).sequences().isEmpty(),
              "source by the removed tag");
        return "add/remove/get";
    }

    private static String snapshots(AxonServerConnection connection) throws Exception {
        var channel = connection.snapshotChannel();
        ByteString key = ByteString.copyFromUtf8("course-" + UUID.randomUUID());
        for (long sequence : new long[] {3, 8}) {
            channel.addSnapshot(AddSnapshotRequest.newBuilder().setKey(key).setSequence(sequence)
                    .setSnapshot(Snapshot.newBuilder().setName("CourseState").setVersion("1")
                            .setPayload(ByteString.copyFromUtf8("{\"seats\":" + sequence + "}")))
                    .build()).get(10, TimeUnit.SECONDS);
        }
        GetLastSnapshotResponse last = channel.getLastSnapshot(GetLastSnapshotRequest.newBuilder().setKey(key).build())
                .get(10, TimeUnit.SECONDS);
        check(last.getSequence() == 8 && last.getSnapshot().getName().equals("CourseState"), "last " + last);
        return "last at 8";
    }
}
