# A stub of nixpkgs for evaluating nix/*.nix without nixpkgs (tests/nix/check.sh).
# Builders return their arguments (as `stubArgs`) plus fake store paths; packages are
# named placeholders. Like nixpkgs, it refuses an unfree package unless
# config.allowUnfreePredicate accepts it, so the flake's unfree policy is exercised.
# It is also the stub `nixpkgs` flake input: `import nixpkgs { system; config; }`.
{
  system ? "x86_64-linux",
  config ? { },
  overlays ? [ ],
}:
let
  hashOf = s: builtins.substring 0 32 (builtins.hashString "sha256" s);
  storePath = name: "/nix/store/${hashOf "${system}/${name}"}-${name}";

  checkMeta =
    args:
    let
      license = (args.meta or { }).license or { free = true; };
      free = license.free or true;
      name = args.pname or (builtins.parseDrvName args.name).name;
      allowed = (config.allowUnfree or false) || ((config.allowUnfreePredicate or (_: false)) args);
    in
    if free || allowed then
      args
    else
      throw "stub nixpkgs: refusing unfree package '${name}' (not allowed by config)";

  drv =
    kind: name: args:
    let
      checked = checkMeta (args // { inherit name; });
    in
    (args.passthru or { })
    // {
      type = "derivation";
      stubKind = kind;
      inherit name system;
      stubArgs = builtins.removeAttrs checked [ "name" ];
      outPath = builtins.seq checked (storePath name);
      drvPath = storePath "${name}.drv";
    }
    // (if args ? pname then { inherit (args) pname; } else { })
    // (if args ? version then { inherit (args) version; } else { })
    // (if args ? meta then { inherit (args) meta; } else { });

  pkg = name: drv "package" name { pname = name; };
  unfreePkg =
    name:
    drv "package" name {
      pname = name;
      meta.license = lib.licenses.unfree;
    };

  lib = {
    escapeShellArg = s: "'" + builtins.replaceStrings [ "'" ] [ "'\\''" ] (toString s) + "'";
    toLower = s: s;
    licenses = {
      unfree = {
        shortName = "unfree";
        free = false;
      };
      asl20 = {
        shortName = "asl20";
        free = true;
      };
    };
    sourceTypes.binaryNativeCode = {
      shortName = "binaryNativeCode";
      isSource = false;
    };
    fileset = {
      toSource =
        { root, fileset }:
        {
          stubKind = "fileset.toSource";
          root = toString root;
          inherit fileset;
          outPath = storePath "source";
        };
      unions = map (
        x:
        if builtins.isPath x then
          {
            path = toString x;
            optional = false;
          }
        else
          x
      );
      maybeMissing = p: {
        path = toString p;
        optional = true;
      };
    };
  };

  pythonPackages = builtins.listToAttrs (
    map
      (n: {
        name = n;
        value = pkg "python3-${n}";
      })
      [
        "mitmproxy"
        "pytest"
        "h2"
        "websockets"
      ]
  )
  // {
    httpx = pkg "python3-httpx" // {
      optional-dependencies.http2 = [ (pkg "python3-h2") ];
    };
  };

  stdenvFor = {
    hostPlatform = {
      inherit system;
      isLinux = builtins.match ".*-linux" system != null;
      isDarwin = builtins.match ".*-darwin" system != null;
    };
    mkDerivation = args: drv "mkDerivation" "${args.pname}-${args.version}" args;
  };

  plain = builtins.listToAttrs (
    map
      (n: {
        name = n;
        value = pkg n;
      })
      [
        "bashInteractive"
        "coreutils"
        "findutils"
        "gnugrep"
        "gnused"
        "git"
        "curl"
        "openssh"
        "cacert"
        "nodejs"
        "mitmproxy"
        "clippy"
        "rustfmt"
        "cargo"
        "rustc"
        "cargo-insta"
        "nil"
        "nixfmt"
        "jq"
        "makeWrapper"
      ]
  );
in
plain
// {
  inherit
    lib
    config
    overlays
    system
    ;
  stubPkgs = true;
  claude-code = unfreePkg "claude-code";
  # For the negative test: any other unfree package must be refused.
  stubUnfree = unfreePkg;

  stdenv = stdenvFor;
  stdenvNoCC = stdenvFor;

  fetchurl = args: drv "fetchurl" (baseNameOf args.url) args;
  writeTextDir = path: text: drv "writeTextDir" (baseNameOf path) { inherit path text; };
  runCommand =
    name: env: buildCommand:
    drv "runCommand" name (env // { inherit buildCommand; });
  mkShell = args: drv "mkShell" "nix-shell" args;

  rustPlatform.buildRustPackage = args: drv "buildRustPackage" "${args.pname}-${args.version}" args;

  python3 = pkg "python3" // {
    withPackages = f: drv "python3-env" "python3-env" { packages = f pythonPackages; };
  };

  dockerTools = {
    streamLayeredImage =
      args:
      let
        tag = args.tag or null;
      in
      drv "streamLayeredImage" "stream-${args.name}" args
      // {
        imageName = lib.toLower args.name;
        imageTag = if tag != null then tag else hashOf "conf-${args.name}";
      };
    binSh = pkg "bin-sh";
    usrBinEnv = pkg "usr-bin-env";
    caCertificates = pkg "docker-ca-certificates";
  };
}
