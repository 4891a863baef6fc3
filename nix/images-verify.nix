# Check: stream each image and compare its config and layer digests with the
# recorded nix/images.lock.json (`bottle images verify`). `lockFile` is null
# when that file is not recorded yet; the check then fails and says how to record it.
{
  pkgs,
  bottle,
  images,
  lockFile,
}:
let
  streams = builtins.concatStringsSep " " (
    map (role: "--stream ${role}=${images.${role}}") [
      "agent"
      "pipelock"
      "mitmproxy"
    ]
  );
in
if lockFile == null then
  pkgs.runCommand "bot-bottle-images-verify" { } ''
    echo "nix/images.lock.json is not recorded: build the images, then run" >&2
    echo "  nix run .#bottle -- images lock" >&2
    echo "and commit nix/images.lock.json" >&2
    exit 1
  ''
else
  pkgs.runCommand "bot-bottle-images-verify" { nativeBuildInputs = [ bottle ]; } ''
    bottle images verify --lock ${lockFile} ${streams}
    touch $out
  ''
