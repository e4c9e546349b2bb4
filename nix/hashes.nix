# Pinned hashes the flake cannot know in advance. Fill them in once per nixpkgs revision (see nix/README.md):
# build the package, copy the "got: sha256-..." from Nix's hash-mismatch error here, commit.
{
  # Hash of the fixed-output derivation with node_modules (`deno install --frozen` from deno.lock), per system.
  # It depends on deno.lock AND on the Deno version in nixpkgs. Missing entries use `fake`, so the first build
  # fails with the real hash in the error message.
  npmDeps = {
    # x86_64-linux = "sha256-...";
  };

  # Hash of the release archive denort-<target>.zip for "<deno version>-<target>", e.g.
  #   "2.5.6-x86_64-unknown-linux-gnu" = "sha256-...";
  # When the entry for nixpkgs' Deno version is missing, denort is built from the same source as nixpkgs'
  # deno instead (no hash needed, but a long Rust build).
  denort = {
  };

  # Nix's all-zero placeholder: always wrong, so a build with it reports the real hash.
  fake = "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
}
