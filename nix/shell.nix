# `nix develop`: the tools to work on the project. Deno runs everything else from source.
{ pkgs }:
pkgs.mkShell {
  packages = [
    pkgs.deno # runtime, tests, fmt, lint, tasks
    pkgs.buf # `deno task gen` (the npm @bufbuild/buf works too)
    pkgs.protobuf # protoc
    pkgs.docker-compose # the compose stack (needs a Docker engine from the host)
    pkgs.grpcurl # poke the API and Axon Server over gRPC
  ];
  shellHook = ''
    echo "dendrite dev shell: deno task start | deno task test | deno task run-stack [--local]"
  '';
}
