# The nixpkgs configuration of every package set this flake imports.
#
# Unfree software is allowed by name only, never wholesale (no allowUnfree):
# claude-code (nixpkgs marks it unfree) and pipelock (the release binary is built
# with the enterprise tag, see nix/pipelock.nix). Anything else unfree fails to
# evaluate. getName follows nixpkgs' lib.getName, written with builtins so that
# tests/nix/check.sh can evaluate this file without nixpkgs.
let
  unfreeAllowed = [
    "claude-code"
    "pipelock"
  ];
  getName = pkg: pkg.pname or (builtins.parseDrvName (pkg.name or "")).name;
in
{
  inherit unfreeAllowed;
  config = {
    allowUnfreePredicate = pkg: builtins.elem (getName pkg) unfreeAllowed;
  };
}
