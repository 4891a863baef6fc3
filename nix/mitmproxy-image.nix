# The mitmproxy image: nixpkgs' mitmproxy, the bottle's verdict addon at the
# contract's path, a non-root user whose home holds mitmproxy's confdir (where it
# writes its CA on first start). Everything else comes from contract.mitmproxy.
# `addon` is the addon file (../nix/mitmproxy/bottle_verdict.py from the flake).
{
  pkgs,
  contract,
  addon,
  ...
}:
let
  inherit (pkgs) dockerTools;
  c = contract.mitmproxy;
  users = import ./users.nix { inherit pkgs; } {
    entry = c;
    inherit (c) home;
    shell = "/bin/sh";
  };
  inherit (users) q owner;
in
dockerTools.streamLayeredImage {
  name = c.repository;

  contents = [
    pkgs.mitmproxy
    dockerTools.caCertificates
    dockerTools.binSh
    pkgs.coreutils
  ]
  ++ users.contents;

  fakeRootCommands = ''
    ${users.tmpCommands}

    mkdir -p ${q (dirOf c.addon)}
    cp ${addon} ${q c.addon}
    chmod 0444 ${q c.addon}

    mkdir -p ${q c.home} ${q c.confdir}
    chown -R ${owner} ${q c.home}
    chmod 0755 ${q c.home}
    chmod 0700 ${q c.confdir}
  '';

  config = {
    User = c.user;
    WorkingDir = c.home;
    Cmd = c.command;
    ExposedPorts = {
      "${toString c.port}/tcp" = { };
    };
    Env = [
      "PATH=/bin"
      "HOME=${c.home}"
      "PYTHONDONTWRITEBYTECODE=1"
    ];
  };

  passthru = { inherit users; };
}
