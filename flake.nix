# Nix flake: dev shell, the single compiled binary, a layered runtime image, and the run-stack app.
# Details, and the hashes to fill in before the first `nix build`: docs/stack.md ("Nix").
{
  description = "Dendrite starter: CQRS and event sourcing on Deno with the Axon Server protocol";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.05";
    # The root key manager's public key module, compiled into the program. Flakes only see git-tracked files,
    # and the generated module is git-ignored, so it comes in as a non-flake input. The placeholder makes
    # `nix build` stop with instructions; override it with the module written by `deno task keys init`:
    #   nix build .#default --override-input root-key path:./src/example/security/root_key.generated.ts
    root-key = {
      url = "path:./nix/root-key.placeholder";
      flake = false;
    };
  };

  outputs = { self, nixpkgs, root-key }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ];
      forAllSystems = f:
        builtins.listToAttrs (map (system: {
          name = system;
          value = f system nixpkgs.legacyPackages.${system};
        }) systems);
      build = system: pkgs: import ./nix/packages.nix {
        inherit pkgs system root-key;
        src = self;
      };
    in
    {
      packages = forAllSystems (system: pkgs:
        let p = build system pkgs;
        in {
          default = p.program;
          program = p.program;
          deno = p.deno;
          npm-deps = p.npmDeps;
          denort = p.denort;
          run-stack = p.runStack;
        } // (if p.image == null then { } else { image = p.image; }));

      apps = forAllSystems (system: pkgs: {
        run-stack = {
          type = "app";
          program = "${(build system pkgs).runStack}/bin/run-stack";
        };
      });

      devShells = forAllSystems (system: pkgs: {
        default = import ./nix/shell.nix { inherit pkgs; deno = (build system pkgs).deno; };
      });
    };
}
