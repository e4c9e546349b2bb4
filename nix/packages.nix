# The program built with Nix: npm dependencies (fixed-output), denort, the compiled binary, the runtime image and
# the run-stack launcher. Called from flake.nix.
{ pkgs, system, src, root-key }:
let
  hashes = import ./hashes.nix;
  version = "0.1.0";
  isLinux = pkgs.stdenv.isLinux;

  # Where the program imports the root public key module from. It must be the path `deno task keys init`
  # writes the generated (git-ignored) module to.
  rootKeyModule = "src/example/security/root_key.generated.ts";

  # Per system: the Rust target (Deno's release archives) and the platform of Deno's npm packages.
  platforms = {
    x86_64-linux = { target = "x86_64-unknown-linux-gnu"; npm = "linux-x64-glibc"; };
    aarch64-linux = { target = "aarch64-unknown-linux-gnu"; npm = "linux-arm64-glibc"; };
    x86_64-darwin = { target = "x86_64-apple-darwin"; npm = "darwin-x64"; };
    aarch64-darwin = { target = "aarch64-apple-darwin"; npm = "darwin-arm64"; };
  };
  target = platforms.${system}.target;
  npmPlatform = platforms.${system}.npm;

  # The Deno the project is tested with (README, .ci/run): 2.9.4 to 2.9.6 abort node:http2 servers when a
  # client closes after concurrent calls, so neither the build nor the binary may use whatever Deno nixpkgs has.
  # Deno's own npm packages carry the release binary; their integrity hashes are in nix/hashes.nix.
  denoVersion = "2.9.3";
  # A prebuilt binary of the pinned Deno release (deno or denort), patched for Nix on Linux.
  prebuilt = { pname, url, hash, zip ? false }: pkgs.stdenv.mkDerivation ({
    inherit pname;
    version = denoVersion;
    src = pkgs.fetchurl { inherit url hash; };
    nativeBuildInputs = (if zip then [ pkgs.unzip ] else [ ]) ++ (if isLinux then [ pkgs.autoPatchelfHook ] else [ ]);
    buildInputs = if isLinux then [ pkgs.stdenv.cc.cc.lib ] else [ ];
    dontConfigure = true;
    dontBuild = true;
    # An npm tarball unpacks to package/ (binary and package.json); a release zip holds the binary alone.
    installPhase = "install -Dm755 ${pname} $out/bin/${pname}";
  } // (if zip then { unpackPhase = "unzip $src"; } else { }));

  deno = prebuilt {
    pname = "deno";
    url = "https://registry.npmjs.org/@deno/${npmPlatform}/-/${npmPlatform}-${denoVersion}.tgz";
    hash = hashes.deno.${system} or hashes.fake;
  };

  # Only deno.json and deno.lock decide the npm dependencies; other edits must not change this derivation.
  lockSrc = builtins.path {
    name = "dendrite-lock";
    path = src;
    filter = path: _type:
      builtins.elem (baseNameOf path) [ "deno.json" "deno.lock" ];
  };

  # node_modules as a fixed-output derivation: it may use the network, and its output hash is pinned.
  npmDeps = pkgs.stdenvNoCC.mkDerivation {
    pname = "dendrite-npm-deps";
    inherit version;
    src = lockSrc;
    nativeBuildInputs = [ deno pkgs.cacert ];
    dontConfigure = true;
    dontFixup = true;
    buildPhase = ''
      runHook preBuild
      export HOME="$TMPDIR" DENO_DIR="$TMPDIR/deno-dir" DENO_NO_UPDATE_CHECK=1
      export SSL_CERT_FILE="${pkgs.cacert}/etc/ssl/certs/ca-bundle.crt"
      deno install --frozen
      # Deno's own bookkeeping files carry timestamps and would make the output hash unstable.
      rm -f node_modules/.deno/.setup-cache.bin node_modules/.deno/.deno.lock node_modules/.deno/.deno.lock.poll
      runHook postBuild
    '';
    installPhase = ''
      runHook preInstall
      mkdir -p "$out"
      cp -r node_modules "$out/node_modules"
      runHook postInstall
    '';
    outputHashMode = "recursive";
    outputHashAlgo = "sha256";
    outputHash = hashes.npmDeps.${system} or hashes.fake;
  };

  denortKey = "${denoVersion}-${target}";

  # Option A (used when nix/hashes.nix pins it): the release's denort-<target>.zip, fixed-output.
  denortFromRelease = prebuilt {
    pname = "denort";
    url = "https://github.com/denoland/deno/releases/download/v${denoVersion}/denort-${target}.zip";
    hash = hashes.denort.${denortKey} or hashes.fake;
    zip = true;
  };

  # Option B, only when nixpkgs' deno is exactly this version: build the `denort` crate (cli/rt in the Deno
  # repository) from the same source and vendored crates. No hash to fill in, but a long Rust build.
  denortFromSource = pkgs.deno.overrideAttrs (_old: {
    pname = "denort";
    buildAndTestSubdir = "cli/rt";
    # nixpkgs' deno installs shell completions and runs `deno --version` here; denort has neither.
    postInstall = "";
    doInstallCheck = false;
    installCheckPhase = "";
  });

  # deno compile needs denort of exactly its own version.
  denort =
    if hashes.denort ? ${denortKey} || pkgs.deno.version != denoVersion then denortFromRelease
    else denortFromSource;

  # The single binary: `deno compile` with denort from Nix (deno compile would otherwise download it).
  program = pkgs.stdenv.mkDerivation {
    pname = "dendrite-starter";
    inherit version src;
    nativeBuildInputs = [ deno ];
    dontConfigure = true;
    # Stripping would cut off the program that deno compile appends to the runtime.
    dontStrip = true;
    buildPhase = ''
      runHook preBuild
      if grep -q ROOT-KEY-PLACEHOLDER "${root-key}"; then
        echo "error: no root key. Run 'deno task keys init', then build with" >&2
        echo "  nix build .#default --override-input root-key path:./${rootKeyModule}" >&2
        exit 1
      fi
      install -Dm644 "${root-key}" "${rootKeyModule}"
      cp -r "${npmDeps}/node_modules" node_modules
      chmod -R u+w node_modules
      export HOME="$TMPDIR" DENO_DIR="$TMPDIR/deno-dir" DENO_NO_UPDATE_CHECK=1
      export DENORT_BIN="${denort}/bin/denort"
      # A worker's module is not found by the compiler on its own: the projection thread's is included by name.
      deno compile --frozen --cached-only -A --include src/example/projection_worker.ts --output dendrite src/main.ts
      runHook postBuild
    '';
    installPhase = ''
      runHook preInstall
      install -Dm755 dendrite "$out/bin/dendrite"
      runHook postInstall
    '';
  };

  # Runtime image: only the binary, CA certificates and a writable /data; no Deno, no build tools.
  image = pkgs.dockerTools.buildLayeredImage {
    name = "dendrite-starter";
    tag = version;
    contents = [ program pkgs.cacert ];
    extraCommands = "mkdir -p data tmp && chmod 1777 tmp";
    config = {
      Entrypoint = [ "${program}/bin/dendrite" ];
      Cmd = [ "--role=all" ];
      Env = [
        "DATA_DIR=/data"
        "PORT=8080"
        "SSL_CERT_FILE=${pkgs.cacert}/etc/ssl/certs/ca-bundle.crt"
      ];
      ExposedPorts = {
        "8080/tcp" = { };
        "8124/tcp" = { };
        "8024/tcp" = { };
      };
      Volumes = { "/data" = { }; };
      WorkingDir = "/data";
    };
  };

  # `nix run .#run-stack -- [--local]`: scripts/run_stack.ts with the pinned deno, in the current checkout.
  runStack = pkgs.writeShellScriptBin "run-stack" ''
    export PATH="${deno}/bin:${pkgs.docker-compose}/bin:$PATH"
    if [ ! -f docker/compose.yaml ]; then
      echo "run-stack: start it from the repository root (docker/compose.yaml not found in $PWD)" >&2
      exit 2
    fi
    exec deno run -A ${src}/scripts/run_stack.ts "$@"
  '';
in
{
  inherit deno npmDeps denort program runStack;
  image = if isLinux then image else null;
}
