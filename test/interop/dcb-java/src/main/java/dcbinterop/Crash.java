package dcbinterop;

import com.google.protobuf.ByteString;
import io.axoniq.axonserver.connector.AxonServerConnection;
import io.axoniq.axonserver.connector.AxonServerConnectionFactory;
import io.axoniq.axonserver.connector.ResultStream;
import io.axoniq.axonserver.connector.event.DcbEventChannel;
import io.axoniq.axonserver.connector.impl.ServerAddress;
import io.axoniq.axonserver.grpc.event.dcb.AppendEventsResponse;
import io.axoniq.axonserver.grpc.event.dcb.ConsistencyCondition;
import io.axoniq.axonserver.grpc.event.dcb.Criterion;
import io.axoniq.axonserver.grpc.event.dcb.Event;
import io.axoniq.axonserver.grpc.event.dcb.SourceEventsRequest;
import io.axoniq.axonserver.grpc.event.dcb.SourceEventsResponse;
import io.axoniq.axonserver.grpc.event.dcb.Tag;
import io.axoniq.axonserver.grpc.event.dcb.TaggedEvent;
import io.axoniq.axonserver.grpc.event.dcb.TagsAndNamesCriterion;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * soma killed with SIGKILL while this client appends. Mode {@code write}: conditional appends of one event each,
 * every one from the marker the previous one returned, printing {@code ACK <sequence> <n>} as each is
 * acknowledged, until an append fails (soma is gone): then {@code WRITE-ENDED}. Mode {@code verify} (against soma
 * restarted on the same data folder, {@code ACKED} = the acknowledged "sequence:n" pairs): every acknowledged
 * event is there with its payload, and the consistency check still sees them.
 */
public final class Crash {
    private static final int PORT = Integer.parseInt(System.getenv("SOMA_PORT"));
    private static final String TOKEN = System.getenv().getOrDefault("SOMA_TOKEN", "");
    private static final String RUN = System.getenv("CRASH_RUN");

    public static void main(String[] args) throws Exception {
        AxonServerConnectionFactory factory = AxonServerConnectionFactory.forClient("dcb-crash")
                .routingServers(new ServerAddress("127.0.0.1", PORT))
                .token(TOKEN)
                .build();
        AxonServerConnection connection = factory.connect("default");
        DcbEventChannel channel = connection.dcbEventChannel();
        if (args.length > 0 && args[0].equals("verify")) {
            try {
                System.out.println("RESULT verify PASS " + verify(channel));
            } catch (Throwable error) {
                System.out.println("RESULT verify FAIL " + error);
            }
        } else {
            write(channel);
        }
        System.out.flush();
        Runtime.getRuntime().halt(0);
    }

    private static Tag tag(String key, String value) {
        return Tag.newBuilder().setKey(ByteString.copyFromUtf8(key)).setValue(ByteString.copyFromUtf8(value)).build();
    }

    private static Criterion criterion() {
        return Criterion.newBuilder()
                .setTagsAndNames(TagsAndNamesCriterion.newBuilder().addName("Written").addTag(tag("run", RUN)))
                .build();
    }

    private static String payload(long n) {
        return "{\"n\":" + n + ",\"run\":\"" + RUN + "\"}";
    }

    private static TaggedEvent written(long n) {
        Event event = Event.newBuilder()
                .setIdentifier(UUID.randomUUID().toString())
                .setTimestamp(System.currentTimeMillis())
                .setName("Written")
                .setVersion("1")
                .setPayload(ByteString.copyFromUtf8(payload(n)))
                .build();
        return TaggedEvent.newBuilder().setEvent(event).addTag(tag("run", RUN)).build();
    }

    private static void write(DcbEventChannel channel) {
        long marker = 0;
        for (long n = 0; n < 100_000; n++) {
            ConsistencyCondition condition = ConsistencyCondition.newBuilder()
                    .setConsistencyMarker(marker).addCriterion(criterion()).build();
            try {
                AppendEventsResponse response = channel.append(List.of(written(n)), condition).get(5, TimeUnit.SECONDS);
                marker = response.getConsistencyMarker();
                System.out.println("ACK " + response.getSequenceOfTheFirstEvent() + " " + n);
            } catch (Exception error) {
                System.out.println("WRITE-ENDED after " + n + ": " + error);
                return;
            }
        }
        System.out.println("WRITE-ENDED without a failure");
    }

    private static String verify(DcbEventChannel channel) throws Exception {
        Map<Long, Long> acked = new HashMap<>();
        for (String pair : System.getenv("ACKED").split(",")) {
            String[] parts = pair.split(":");
            acked.put(Long.parseLong(parts[0]), Long.parseLong(parts[1]));
        }
        ResultStream<SourceEventsResponse> stream = channel.source(
                SourceEventsRequest.newBuilder().addCriterion(criterion()).build());
        Map<Long, String> stored = new HashMap<>();
        List<Long> order = new ArrayList<>();
        long marker = -1;
        while (true) {
            SourceEventsResponse response = stream.nextIfAvailable(10, TimeUnit.SECONDS);
            if (response == null) break;
            if (response.hasEvent()) {
                long sequence = response.getEvent().getSequence();
                stored.put(sequence, response.getEvent().getEvent().getPayload().toStringUtf8());
                order.add(sequence);
            } else {
                marker = response.getConsistencyMarker();
            }
        }
        if (stream.getError().isPresent()) throw new IllegalStateException("source failed", stream.getError().get());
        for (Map.Entry<Long, Long> entry : acked.entrySet()) {
            String payload = stored.get(entry.getKey());
            if (!payload(entry.getValue()).equals(payload)) {
                throw new AssertionError("acknowledged event " + entry.getKey() + " is " + payload);
            }
        }
        // At most the one append in flight at the kill may be stored without its acknowledgement.
        if (stored.size() > acked.size() + 1) throw new AssertionError(stored.size() + " stored, " + acked.size() + " acked");
        long first = order.get(0);
        ConsistencyCondition stale = ConsistencyCondition.newBuilder()
                .setConsistencyMarker(first).addCriterion(criterion()).build();
        try {
            channel.append(List.of(written(-1)), stale).get(10, TimeUnit.SECONDS);
            throw new AssertionError("a marker from before the crash was accepted");
        } catch (ExecutionException expected) {
            Status status = Status.fromThrowable(expected.getCause());
            if (status.getCode() != Status.Code.FAILED_PRECONDITION) throw new AssertionError("status " + status);
        }
        ConsistencyCondition fresh = ConsistencyCondition.newBuilder()
                .setConsistencyMarker(marker).addCriterion(criterion()).build();
        channel.append(List.of(written(-2)), fresh).get(10, TimeUnit.SECONDS);
        return acked.size() + " acknowledged, " + stored.size() + " stored, sequences " + order.get(0) + ".."
                + order.get(order.size() - 1);
    }
}
