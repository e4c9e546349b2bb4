# Pinned hashes the flake cannot know in advance. Fill them in once per nixpkgs revision (see nix/README.md):
# build the package, copy the "got: sha256-..." from Nix's hash-mismatch error here, commit.
{
  # Integrity of Deno's npm package @deno/<platform>@<version> (the pinned Deno of nix/packages.nix), per system:
  # `npm view @deno/linux-arm64-glibc@2.9.3 dist.integrity` (sha512 SRI, as Nix takes it).
  deno = {
    x86_64-linux = "sha512-HSChBN7EkeErbDYVVu16dhLVHVIe/U+8eOAedrsuOsSThE+4Ln+IOfI+UnNU09pqnWc/ZMDI+fVRuAmKX/PRaw==";
  };

  # Hash of the fixed-output derivation with node_modules (`deno install --frozen` from deno.lock), per system.
  # It depends on deno.lock AND on the pinned Deno version. Missing entries use `fake`, so the first build
  # fails with the real hash in the error message.
  npmDeps = {
    # x86_64-linux = "sha256-...";
  };

  # Hash of the release archive denort-<target>.zip for "<deno version>-<target>", e.g.
  #   "2.9.3-x86_64-unknown-linux-gnu" = "sha256-...";
  # Missing: the build fails with the real hash (or, when nixpkgs' deno is exactly the pinned version, denort is
  # built from its source instead: no hash needed, but a long Rust build).
  denort = {
  };

  # Nix's all-zero placeholder: always wrong, so a build with it reports the real hash.
  fake = "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
}
