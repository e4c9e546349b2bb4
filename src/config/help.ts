/**
 * The `--help` text: every flag and environment variable of the program, with its default.
 *
 * @module
 */

/** The `--help` text. */
export const HELP = `Usage: deno run -A src/main.ts [options]

Runs the application: its command handlers, projections and API (UI, gRPC, grpc-web, Connect).

Options (each overrides its environment variable):
  --role=ROLES        Comma-separated roles: soma, command, projection, api, or all (default: all)
  --port=PORT         HTTP port of the UI and API: Connect, grpc-web, /healthz (PORT, default 8080)
  --grpc-port=PORT    port of the API for gRPC clients, with reflection (GRPC_PORT, default 8081; 0 when PORT is 0)
  --data-dir=DIR      Directory of the SQLite files (DATA_DIR, default ./data)
  --log-level=LEVEL   debug, info, warn or error (LOG_LEVEL, default info)
  -h, --help          Print this help

Environment:
  PORT, GRPC_PORT, DATA_DIR, LOG_LEVEL   as above
  AXON_PORT                   gRPC port of the embedded Axon-API server (default 8124)
  AXON_HTTP_PORT              status port of the embedded Axon-API server (default 8024)
  AXON_HOST                   interface of the embedded Axon-API server (default 127.0.0.1; 0.0.0.0 lets other
                              machines join, with the token)
  AXON_SERVER                 host:port of an Axon-API server to use instead of the embedded one
  AXON_TOKEN                  access token of the Axon-API server (default: DIR/secure/soma-token, which soma
                              generates on first start and requires on its gRPC port and status actions)
  SOMA_MAX_CONNECTIONS        soma: open connections per listener (default 500)
  SOMA_MAX_STREAMS            soma: concurrent streams per HTTP/2 connection (default 1000)
  SOMA_HEADER_TIMEOUT_MS      soma: HTTP/1.1 header block and TLS handshake deadline (default 10000)
  SOMA_IDLE_TIMEOUT_MS        soma: close connections without open streams after this (default 60000)
  SOMA_KEEPALIVE_TIME_MS, SOMA_KEEPALIVE_TIMEOUT_MS  soma: gRPC ping interval and answer deadline (10000, 5000)
  AXON_TLS_CA_FILE            PEM CA file: connect to AXON_SERVER over TLS, verifying it
  ELASTICSEARCH_URL           Elasticsearch for query models and tokens instead of SQLite
  ELASTICSEARCH_INDEX_PREFIX  prefix of the Elasticsearch indices (default dendrite-)
  TLS_CERT_FILE, TLS_KEY_FILE PEM certificate chain and key: serve HTTPS (HTTP/2 and HTTP/1.1) and gRPC over
                              TLS on the embedded Axon-API server
  DENDRITE_ADMIN_PASSWORD     password of user "admin" (default: generated into DIR/secure/admin-password)
  IDEMPOTENCY_WINDOW_SECONDS  how long a command's idempotency key is remembered (default 86400)
  DENDRITE_ROOT_KEY_MODULE    root key module to load instead of the compiled-in one (tests, tools)
  PROCESSOR_OWNER             claim owner id of the projection processor (default: role, host name and data
                              directory, so a restart takes its own segments back at once; must differ between
                              live processes)
  PROJECTION_THREAD           run the projection on a thread of its own beside the embedded soma (default true;
                              never with TLS_CERT_FILE; false saves ~55 MB of memory; docs/query-side.md)
  PROCESSOR_CLAIM_TIMEOUT_MS  a processor claim not extended for this long is taken over (default 10000)
  PROCESSOR_MAX_ATTEMPTS      handler attempts before a poison event is dead-lettered (default 10; an
                              unavailable store never counts as an attempt)
  ELASTICSEARCH_REQUEST_TIMEOUT_MS  Elasticsearch request timeout (default 30000)
  SUBSCRIPTIONS_MAX           live Greetings streams in all (default 200; more get RESOURCE_EXHAUSTED)
  SUBSCRIPTIONS_PER_CLIENT    live Greetings streams per client address (default 20)
  SUBSCRIPTION_BUFFER         updates a stream may fall behind before it is dropped (default 1024)
  API_* limits below apply to GRPC_PORT; PORT runs on Deno.serve with the runtime's own limits
  API_HEADER_TIMEOUT_MS       close a connection that takes longer to send a request head (default 10000)
  API_IDLE_TIMEOUT_MS         close an HTTP/2 connection without open streams after this (default 60000)
  API_MAX_CONNECTIONS         connections the HTTP port holds at most (default 4096)
  API_MAX_STREAMS             concurrent streams per HTTP/2 connection (default 1000)
  API_KEEPALIVE_TIME_MS       send an HTTP/2 PING this long after the previous answer (default 60000)
  API_KEEPALIVE_TIMEOUT_MS    close an HTTP/2 connection that does not answer a PING this soon (default 20000)
  METRICS_TOKEN               bearer token for GET /metrics on the API port (default: loopback clients only;
                              soma's /metrics needs soma's token)
`;
