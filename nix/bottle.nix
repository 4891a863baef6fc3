# The `bottle` CLI and the derivations that check its source (clippy, rustfmt).
# `root` is the repository root (the flake's ./.).
#
# The package build runs the Rust tests (`cargo test`). Those that need a Docker
# engine (the sandbox has none) are #[ignore]d: listed as ignored, never as passed.
{ pkgs, root }:
let
  inherit (pkgs) lib;
  fs = lib.fileset;
  cargoToml = builtins.fromTOML (builtins.readFile (root + "/Cargo.toml"));
  pname = cargoToml.package.name;
  inherit (cargoToml.package) version edition;

  # What the build and the tests read, nothing else (no target/, no .git).
  src = fs.toSource {
    inherit root;
    fileset = fs.unions [
      (root + "/Cargo.toml")
      (root + "/Cargo.lock")
      (root + "/src")
      (root + "/nix/image-contract.json")
      (fs.maybeMissing (root + "/build.rs"))
      (fs.maybeMissing (root + "/tests"))
      (fs.maybeMissing (root + "/snapshots"))
      (fs.maybeMissing (root + "/nix/mitmproxy"))
    ];
  };

  common = {
    inherit pname version src;
    # Crate checksums come from Cargo.lock: no vendor hash to maintain.
    cargoLock.lockFile = root + "/Cargo.lock";
  };

  bottle = pkgs.rustPlatform.buildRustPackage (
    common
    // {
      doCheck = true;
      # insta: compare only, never write .snap.new files into the build tree.
      INSTA_UPDATE = "no";
      passthru = { inherit src cargoToml; };
      meta = {
        description = cargoToml.package.description;
        license = lib.licenses.asl20;
        mainProgram = "bottle";
      };
    }
  );

  clippy = pkgs.rustPlatform.buildRustPackage (
    common
    // {
      pname = "${pname}-clippy";
      nativeBuildInputs = [ pkgs.clippy ];
      dontCargoBuild = true;
      dontCargoInstall = true;
      doCheck = false;
      buildPhase = ''
        runHook preBuild
        cargo clippy --offline --all-targets -- -D warnings
        runHook postBuild
      '';
      installPhase = ''
        touch $out
      '';
    }
  );

  rustfmt = pkgs.runCommand "${pname}-rustfmt" { nativeBuildInputs = [ pkgs.rustfmt ]; } ''
    cd ${src}
    find . -name '*.rs' -print0 | xargs -0 -r rustfmt --check --edition ${edition}
    touch $out
  '';
in
{
  inherit
    bottle
    clippy
    rustfmt
    src
    ;
}
