# pipelock v2.3.0, the upstream release binary (static Go), one tarball per Linux system.
# v2.3.0 is the newest release whose source could be read and built here: the config
# bot-bottle renders, the test double and the conformance suite follow that source
# (docs/pipelock.md). URLs and sha256 come from pipelock's own Homebrew tap formula
# history for v2.3.0 (shared facts); Nix checks them on the first real build.
{ pkgs }:
let
  inherit (pkgs) lib;
  version = "2.3.0";
  releases = {
    x86_64-linux = {
      arch = "amd64";
      sha256 = "2723df194492bf07ef5c7f329d97eb03d48d712eed3360e6086cc1783ca5668b";
    };
    aarch64-linux = {
      arch = "arm64";
      sha256 = "7bcc4170159718d7ddfb6bb035b352bf90949c995e9208d8e6982f912bac5983";
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
