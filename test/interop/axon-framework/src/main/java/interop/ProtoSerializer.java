package interop;

import interop.Api.ProtoBytes;
import org.axonframework.serialization.Converter;
import org.axonframework.serialization.SerializedObject;
import org.axonframework.serialization.SerializedType;
import org.axonframework.serialization.Serializer;
import org.axonframework.serialization.SimpleSerializedObject;

/**
 * The message serializer of the interop app: Jackson, except for protobuf payloads of the Deno side (type names
 * {@code example.v1.*}), which travel as {@link ProtoBytes} with their bytes untouched. Response types are
 * Jackson's as in any Axon Framework app (the dendrite connector sends a {@code PublisherResponseType} with its
 * streaming queries).
 */
final class ProtoSerializer implements Serializer {
    private final Serializer json;

    ProtoSerializer(Serializer json) {
        this.json = json;
    }

    static boolean isProto(String type) {
        return type.startsWith("example.v1.");
    }

    @Override
    public <T> SerializedObject<T> serialize(Object object, Class<T> representation) {
        if (object instanceof ProtoBytes proto) {
            return new SimpleSerializedObject<>(getConverter().convert(proto.data(), representation), representation,
                                                proto.type(), proto.revision().isEmpty() ? null : proto.revision());
        }
        return json.serialize(object, representation);
    }

    @Override
    public <T> boolean canSerializeTo(Class<T> representation) {
        return json.canSerializeTo(representation);
    }

    @Override
    @SuppressWarnings("unchecked")
    public <S, T> T deserialize(SerializedObject<S> object) {
        String type = object.getType().getName();
        if (type != null && isProto(type)) {
            String revision = object.getType().getRevision();
            byte[] data = getConverter().convert(object.getData(), object.getContentType(), byte[].class);
            return (T) new ProtoBytes(type, revision == null ? "" : revision, data);
        }
        return json.deserialize(object);
    }

    @Override
    @SuppressWarnings("rawtypes")
    public Class classForType(SerializedType type) {
        return type.getName() != null && isProto(type.getName()) ? ProtoBytes.class : json.classForType(type);
    }

    @Override
    @SuppressWarnings("rawtypes")
    public SerializedType typeForClass(Class type) {
        return json.typeForClass(type);
    }

    @Override
    public Converter getConverter() {
        return json.getConverter();
    }
}
