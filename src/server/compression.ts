/**
 * The compressions the API accepts (gzip, brotli), with a body that does not decompress answered as the client's
 * mistake: `InvalidArgument` (HTTP 400 in Connect), never `Internal`. connect-node maps only some of zlib's error
 * codes so; Deno's brotli reports others.
 *
 * @module
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { Compression } from "@connectrpc/connect/protocol";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";

function clientFault(compression: Compression): Compression {
  return {
    name: compression.name,
    compress: (bytes) => compression.compress(bytes),
    async decompress(bytes, readMaxBytes) {
      try {
        return await compression.decompress(bytes, readMaxBytes);
      } catch (error) {
        // Over the size limit stays ResourceExhausted; any other failure is a body that is not this encoding.
        if (error instanceof ConnectError && error.code === Code.ResourceExhausted) throw error;
        throw new ConnectError(
          `The body is not valid ${compression.name} data`,
          Code.InvalidArgument,
          undefined,
          undefined,
          error,
        );
      }
    },
  };
}

/** gzip and br, in the server's order of preference. */
export const ACCEPT_COMPRESSION: readonly Compression[] = [
  clientFault(compressionGzip),
  clientFault(compressionBrotli),
];
