# The pipelock image: the release binary, CA certificates (pipelock fetches https
# itself and verifies against the system bundle), a non-root user and the config
# directory that user owns. Everything else comes from contract.pipelock.
{
  pkgs,
  contract,
  pipelock ? import ./pipelock.nix { inherit pkgs; },
  ...
}:
let
  inherit (pkgs) dockerTools;
  c = contract.pipelock;
  configDir = dirOf c.config_path;
  # A service user: its home is the sticky /tmp, so a stray write does not fail
  # and nothing is kept. No HOME or CA variables in Env: pipelock's scan_env would
  # treat long values of its own environment as secrets; Go finds the bundle at
  # its standard path by itself.
  users = import ./users.nix { inherit pkgs; } {
    entry = c;
    home = "/tmp";
    shell = "/bin/sh";
  };
  inherit (users) q owner;
in
dockerTools.streamLayeredImage {
  name = c.repository;

  contents = [
    pipelock
    dockerTools.caCertificates
    dockerTools.binSh
    pkgs.coreutils
  ]
  ++ users.contents;

  fakeRootCommands = ''
    ${users.tmpCommands}

    mkdir -p ${q configDir}
    chown ${owner} ${q configDir}
    chmod 0755 ${q configDir}
  '';

  config = {
    User = c.user;
    Cmd = c.command;
    ExposedPorts = {
      "${toString c.port}/tcp" = { };
    };
    Env = [ "PATH=/bin" ];
  };

  passthru = { inherit pipelock users; };
}
