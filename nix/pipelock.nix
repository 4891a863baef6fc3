# pipelock v3.2.0, the upstream release binary (static Go), one tarball per Linux system.
# URLs and sha256 come from shared facts (the project's Homebrew tap formula for v3.2.0);
# Nix checks them on the first real build.
{ pkgs }:
let
  inherit (pkgs) lib;
  version = "3.2.0";
  releases = {
    x86_64-linux = {
      arch = "amd64";
      sha256 = "0f27ece704dd9e0340891ef1d638a0bcdd480348d5309a2ab0d8944292048192";
    };
    aarch64-linux = {
      arch = "arm64";
      sha256 = "5898b30f0ee78b1a9258b72311384c6a0a5ae5ad70c50150e9861701bbc19717";
    };
  };
  system = pkgs.stdenv.hostPlatform.system;
  release = releases.${system} or (throw "pipelock: no v${version} release binary for ${system}");
in
pkgs.stdenvNoCC.mkDerivation {
  pname = "pipelock";
  inherit version;

  src = pkgs.fetchurl {
    url = "https://github.com/luckyPipewrench/pipelock/releases/download/v${version}/pipelock_${version}_linux_${release.arch}.tar.gz";
    inherit (release) sha256;
  };

  # The binary sits at the top level of the archive, next to license files.
  sourceRoot = ".";
  dontConfigure = true;
  dontBuild = true;
  # Keep the release binary byte for byte (it is static; nothing to patch).
  dontStrip = true;
  dontPatchELF = true;

  installPhase = ''
    runHook preInstall
    install -Dm755 pipelock $out/bin/pipelock
    runHook postInstall
  '';

  passthru = { inherit releases; };

  meta = {
    description = "Egress firewall for AI agents (release binary)";
    homepage = "https://github.com/luckyPipewrench/pipelock";
    # The release build uses the `enterprise` build tag (Elastic-2.0 parts):
    # treated as unfree, allowed by name in nix/nixpkgs-config.nix.
    license = lib.licenses.unfree;
    sourceProvenance = [ lib.sourceTypes.binaryNativeCode ];
    platforms = builtins.attrNames releases;
    mainProgram = "pipelock";
  };
}
