# The mitmproxy image: nixpkgs' mitmproxy, the bottle's verdict addon at the
# contract's path, a non-root user whose home holds mitmproxy's confdir (where it
# writes its CA on first start). Everything else comes from contract.mitmproxy.
# `addon` is the addon's entry file (../nix/mitmproxy/bottle_verdict.py from the flake);
# what it imports sits beside it and is copied beside it: mitm_patches.py and the
# bot_bottle_addon package (docs/addon.md "Files").
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
  addonDir = dirOf addon;
  installDir = dirOf c.addon;
in
dockerTools.streamLayeredImage {
  name = c.repository;

  contents = [
    pkgs.mitmproxy
    # contract.mitmproxy.python on PATH: `bottle run -p` runs its port relays with it
    # (nixpkgs' mitmproxy is built with this python3, so it adds no store path).
    pkgs.python3
    dockerTools.caCertificates
    dockerTools.binSh
    pkgs.coreutils
  ]
  ++ users.contents;

  fakeRootCommands = ''
    ${users.tmpCommands}

    mkdir -p ${q installDir}
    cp ${addon} ${q c.addon}
    cp ${addonDir}/mitm_patches.py ${q "${installDir}/mitm_patches.py"}
    cp -r ${addonDir}/bot_bottle_addon ${q "${installDir}/bot_bottle_addon"}
    chmod 0444 ${q c.addon} ${q "${installDir}/mitm_patches.py"}
    chmod -R a=rX ${q "${installDir}/bot_bottle_addon"}

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
