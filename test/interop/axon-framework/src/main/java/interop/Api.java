package interop;

import org.axonframework.commandhandling.RoutingKey;
import org.axonframework.modelling.command.TargetAggregateIdentifier;

/** The interop app's messages (serialized as JSON by Jackson). */
public final class Api {
    private Api() {
    }

    public record OpenAccount(@TargetAggregateIdentifier String id) {
    }

    public record Deposit(@TargetAggregateIdentifier String id, long amount) {
    }

    /** Always refused, with exception details. */
    public record Overdraw(@TargetAggregateIdentifier String id) {
    }

    public record AccountOpened(String id) {
    }

    public record Deposited(String id, long amount, long balance) {
    }

    public record GetBalance(String id) {
    }

    public record WatchBalance(String id) {
    }

    /** Scatter-gather: every component answers with its name. */
    public record WhoIsThere(String asker) {
    }

    /** Streaming: the numbers 1..count. */
    public record CountTo(int count) {
    }

    /** Always fails, with exception details. */
    public record BrokenQuery(String reason) {
    }

    /** Routed by key to one of two handler processes; answered with the handler's component name. */
    public record Ping(@RoutingKey String key) {
    }

    /** Like Ping, but process B holds it (never answers) until it is killed. */
    public record Hold(@RoutingKey String key) {
    }

    /** A protobuf message of the Deno side, bytes untouched (see {@link ProtoSerializer}). */
    public record ProtoBytes(String type, String revision, byte[] data) {
        static ProtoBytes parse(String line) {
            String[] parts = line.split("\\|", -1);
            return new ProtoBytes(parts[0], parts[1], java.util.Base64.getDecoder().decode(parts[2]));
        }

        String base64() {
            return java.util.Base64.getEncoder().encodeToString(data);
        }
    }
}
