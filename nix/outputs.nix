# Everything the flake exposes for one system, as a function of a package set.
# flake.nix calls it with nixpkgs; tests/nix/check.sh calls it with a stub.
#   contract    the parsed nix/image-contract.json
#   addon       the mitmproxy addon's entry file (nix/mitmproxy/bottle_verdict.py; the image
#               also copies what sits beside it: mitm_patches.py, bot_bottle_addon/)
#   root        the repository root
#   lockFile    nix/images.lock.json, or null while it is not recorded
#   withImages  false where images cannot be built or streamed (darwin)
{
  pkgs,
  contract,
  addon,
  root,
  lockFile ? null,
  withImages ? true,
}:
let
  cli = import ./bottle.nix { inherit pkgs root; };
  inherit (cli) bottle;

  pipelock = import ./pipelock.nix { inherit pkgs; };
  images = {
    agent = import ./agent-image.nix { inherit pkgs contract; };
    pipelock = import ./pipelock-image.nix { inherit pkgs contract pipelock; };
    mitmproxy = import ./mitmproxy-image.nix { inherit pkgs contract addon; };
  };

  wrapped = import ./app.nix { inherit pkgs bottle images; };
  program = if withImages then wrapped else bottle;
  app = {
    type = "app";
    program = "${program}/bin/bottle";
  };

  # The addon's tests: pytest, httpx with HTTP/2, h2, websockets, and mitmproxy itself
  # (its Python package also puts mitmdump/mitmproxy on PATH).
  python = pkgs.python3.withPackages (
    ps:
    [
      ps.mitmproxy
      ps.pytest
      ps.httpx
      ps.h2
      ps.websockets
    ]
    ++ ps.httpx.optional-dependencies.http2
  );
in
{
  inherit images cli wrapped pipelock;

  packages = {
    inherit bottle;
    default = bottle;
  }
  // (
    if withImages then
      {
        agent-image = images.agent;
        pipelock-image = images.pipelock;
        mitmproxy-image = images.mitmproxy;
        inherit pipelock;
      }
    else
      { }
  );

  apps = {
    bottle = app;
    default = app;
  };

  checks = {
    # The package build runs the tests (Docker tests skip themselves in the sandbox).
    inherit bottle;
    inherit (cli) clippy rustfmt;
  }
  // (
    if withImages then
      {
        images-verify = import ./images-verify.nix {
          inherit
            pkgs
            bottle
            images
            lockFile
            ;
        };
      }
    else
      { }
  );

  devShells.default = pkgs.mkShell {
    packages = [
      pkgs.cargo
      pkgs.rustc
      pkgs.clippy
      pkgs.rustfmt
      pkgs.cargo-insta
      python
      pkgs.nil
      pkgs.nixfmt
      pkgs.jq
    ];
  };
}
