# `nix develop`: the tools to work on the project. Deno runs everything else from source.
# `deno` is the pinned Deno from nix/packages.nix (the version the project is tested with).
{ pkgs, deno }:
pkgs.mkShell {
  packages = [
    deno # runtime, tests, fmt, lint, tasks
    pkgs.buf # `deno task gen` (the npm @bufbuild/buf works too)
    pkgs.protobuf # protoc
    pkgs.docker-compose # the compose stack (needs a Docker engine from the host)
    pkgs.grpcurl # poke the API and Axon Server over gRPC
  ];
  shellHook = ''
    echo "dendrite dev shell: deno task start | deno task test | deno task run-stack [--local]"
  '';
}
