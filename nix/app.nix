# The `bottle` CLI wrapped so that it knows the three Nix-built images:
#   BOT_BOTTLE_NIX_<ROLE>_IMAGE  = "name:tag" (imageName:imageTag, tag = content hash)
#   BOT_BOTTLE_NIX_<ROLE>_STREAM = the image's stream script (writes a docker-archive)
# for ROLE in AGENT, PIPELOCK, MITMPROXY. Plain --set: a user overrides an image with
# BOT_BOTTLE_<ROLE>_IMAGE, which the CLI reads first.
{
  pkgs,
  bottle,
  images,
}:
let
  inherit (pkgs) lib;
  roles = {
    agent = "AGENT";
    pipelock = "PIPELOCK";
    mitmproxy = "MITMPROXY";
  };
  envFor = role: image: [
    {
      name = "BOT_BOTTLE_NIX_${roles.${role}}_IMAGE";
      value = "${image.imageName}:${image.imageTag}";
    }
    {
      name = "BOT_BOTTLE_NIX_${roles.${role}}_STREAM";
      value = "${image}";
    }
  ];
  env = builtins.listToAttrs (
    builtins.concatMap (role: envFor role images.${role}) (builtins.attrNames roles)
  );
  wrapperArgs = builtins.concatStringsSep " " (
    map (name: "--set ${name} ${lib.escapeShellArg env.${name}}") (builtins.attrNames env)
  );
in
pkgs.runCommand "bottle-${bottle.version}"
  {
    nativeBuildInputs = [ pkgs.makeWrapper ];
    passthru = {
      inherit env images bottle;
    };
    meta = {
      description = "bottle with the Nix-built agent, pipelock and mitmproxy images";
      mainProgram = "bottle";
    };
  }
  ''
    mkdir -p $out/bin
    makeWrapper ${bottle}/bin/bottle $out/bin/bottle ${wrapperArgs}
  ''
