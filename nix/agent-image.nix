# The agent image: Claude Code and the tools it drives, run as a non-root user.
# Every name, id, path and command comes from the image contract (contract.agent).
{ pkgs, contract, ... }:
let
  inherit (pkgs) dockerTools;
  c = contract.agent;
  users = import ./users.nix { inherit pkgs; } {
    entry = c;
    inherit (c) home;
    shell = "/bin/bash";
  };
  inherit (users) q owner;
in
dockerTools.streamLayeredImage {
  name = c.repository;
  # tag, created and mtime stay at their defaults: the tag is the hash of the image
  # configuration, timestamps are the epoch, so the image is reproducible.

  contents = [
    pkgs.bashInteractive
    pkgs.coreutils
    pkgs.findutils
    pkgs.gnugrep
    pkgs.gnused
    pkgs.git
    pkgs.curl
    pkgs.cacert
    pkgs.nodejs
    pkgs.claude-code
    dockerTools.binSh
    dockerTools.usrBinEnv
  ]
  ++ users.contents;

  # Runs under fakeroot in the root of the customisation layer (relative paths).
  fakeRootCommands = ''
    ${users.tmpCommands}

    # The system CA bundle as a real, root-owned file (not a link into the store):
    # the CA step (docker exec -u 0) reads it and builds the bottle's trust store
    # under the contract's trust_dir, which it creates itself (/etc is a real,
    # root-owned directory here).
    rm -f ${q c.system_ca_bundle}
    mkdir -p ${q (dirOf c.system_ca_bundle)}
    cp ${pkgs.cacert}/etc/ssl/certs/ca-bundle.crt ${q c.system_ca_bundle}
    chmod 0644 ${q c.system_ca_bundle}

    mkdir -p ${q c.home} ${q c.workdir} ${q c.skills_dir}
    chown -R ${owner} ${q c.home}
    chmod 0755 ${q c.home}
  '';

  config = {
    User = c.user;
    WorkingDir = c.workdir;
    Cmd = c.command;
    Env = [
      "PATH=/bin:/usr/bin"
      "HOME=${c.home}"
      "USER=${c.user}"
      "SSL_CERT_FILE=${c.system_ca_bundle}"
      "NIX_SSL_CERT_FILE=${c.system_ca_bundle}"
    ];
  };

  passthru = { inherit users; };
}
