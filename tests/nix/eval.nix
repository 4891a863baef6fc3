# Evaluates nix/*.nix and flake.nix against tests/nix/stub-pkgs.nix and returns a
# JSON-able report; tests/nix/assertions.py checks it against the image contract
# and the facts. Needs no nixpkgs and no store (run with --store dummy://).
{
  root ? ../..,
  # The addon as a plain string: it may not exist yet, and nothing is copied.
  addon ? "/stub/nix/mitmproxy/bottle_verdict.py",
}:
let
  contract = builtins.fromJSON (builtins.readFile (root + "/nix/image-contract.json"));
  nixpkgsConfig = import (root + "/nix/nixpkgs-config.nix");
  inherit (builtins)
    isPath
    isFunction
    isList
    isAttrs
    mapAttrs
    attrNames
    tryEval
    deepSeq
    ;

  # Derivations become their store paths, paths become strings, functions a marker.
  clean =
    v:
    if isPath v then
      toString v
    else if isFunction v then
      "<function>"
    else if isList v then
      map clean v
    else if isAttrs v then
      (if v ? outPath then clean v.outPath else mapAttrs (_: clean) v)
    else
      v;

  stubPkgs =
    system: config:
    import ./stub-pkgs.nix {
      inherit system config;
    };

  outputsWith =
    pkgs: withImages: lockFile:
    import (root + "/nix/outputs.nix") {
      inherit
        pkgs
        contract
        addon
        root
        withImages
        lockFile
        ;
    };

  image = i: {
    inherit (i) name imageName imageTag;
    stream = i.outPath;
    args = clean (builtins.removeAttrs i.stubArgs [ "passthru" ]);
    users = {
      inherit (i.stubArgs.passthru.users) passwd group nsswitch;
    };
  };

  linux =
    system:
    let
      pkgs = stubPkgs system nixpkgsConfig.config;
      out = outputsWith pkgs true "/stub/nix/images.lock.json";
      outNoLock = outputsWith pkgs true null;
      bottleArgs = out.cli.bottle.stubArgs;
      # The same outputs with no unfree permission at all must be refused.
      refused = outputsWith (stubPkgs system { }) true null;
      forced = x: tryEval (deepSeq x true);
    in
    {
      images = mapAttrs (_: image) out.images;
      pipelock = {
        inherit (out.pipelock) name pname version;
        fetchurl = clean out.pipelock.stubArgs.src.stubArgs;
        license = out.pipelock.meta.license.shortName;
        platforms = out.pipelock.meta.platforms;
        installPhase = out.pipelock.stubArgs.installPhase;
        sourceRoot = out.pipelock.stubArgs.sourceRoot;
      };
      app = {
        env = out.wrapped.env;
        buildCommand = out.wrapped.stubArgs.buildCommand;
        program = out.apps.bottle.program;
        defaultProgram = out.apps.default.program;
        type = out.apps.bottle.type;
        wrapped = out.wrapped.outPath;
        bottle = out.cli.bottle.outPath;
      };
      verify = out.checks.images-verify.stubArgs.buildCommand;
      verifyNativeBuildInputs = clean out.checks.images-verify.stubArgs.nativeBuildInputs;
      verifyNoLock = outNoLock.checks.images-verify.stubArgs.buildCommand;
      bottle = {
        inherit (bottleArgs) pname version;
        doCheck = bottleArgs.doCheck or true;
        setsSkipDockerTests = bottleArgs ? BOT_BOTTLE_SKIP_DOCKER_TESTS;
        INSTA_UPDATE = bottleArgs.INSTA_UPDATE or null;
        lockFile = toString bottleArgs.cargoLock.lockFile;
        mainProgram = bottleArgs.meta.mainProgram;
        srcRoot = out.cli.src.root;
        fileset = out.cli.src.fileset;
      };
      clippy = out.cli.clippy.stubArgs.buildPhase;
      clippyInputs = clean out.cli.clippy.stubArgs.nativeBuildInputs;
      rustfmt = out.cli.rustfmt.stubArgs.buildCommand;
      packages = attrNames out.packages;
      packagesDefaultIsBottle = out.packages.default.outPath == out.cli.bottle.outPath;
      checks = attrNames out.checks;
      checkBottleIsPackage = out.checks.bottle.outPath == out.cli.bottle.outPath;
      devShell = clean out.devShells.default.stubArgs.packages;
      unfree = {
        refusedAgentWithoutConfig =
          !(forced (map (p: p.outPath) refused.images.agent.stubArgs.contents)).success;
        refusedPipelockWithoutConfig = !(forced refused.pipelock.outPath).success;
        refusedOtherUnfree = !(forced (pkgs.stubUnfree "some-unfree-thing").outPath).success;
      };
    };

  darwin =
    system:
    let
      out = outputsWith (stubPkgs system nixpkgsConfig.config) false null;
    in
    {
      packages = attrNames out.packages;
      checks = attrNames out.checks;
      program = out.apps.bottle.program;
      bottle = out.cli.bottle.outPath;
    };

  # flake.nix itself, with the stub as its nixpkgs input.
  flake = import (root + "/flake.nix");
  flakeOutputs = flake.outputs {
    self = {
      outPath = toString root;
    };
    nixpkgs = {
      outPath = toString ./stub-pkgs.nix;
    };
  };
  flakeSystem = system: {
    packages = attrNames flakeOutputs.packages.${system};
    apps = mapAttrs (_: a: {
      inherit (a) type program;
    }) flakeOutputs.apps.${system};
    checks = attrNames flakeOutputs.checks.${system};
    devShells = attrNames flakeOutputs.devShells.${system};
  };
  flakeLinux = system: flakeSystem system // {
    agentContents = map (p: p.outPath) flakeOutputs.packages.${system}.agent-image.stubArgs.contents;
    pipelock = flakeOutputs.packages.${system}.pipelock.outPath;
  };

  predicate = nixpkgsConfig.config.allowUnfreePredicate;
in
{
  contract = contract;
  nixpkgsConfig = {
    hasAllowUnfree = nixpkgsConfig.config ? allowUnfree;
    unfreeAllowed = nixpkgsConfig.unfreeAllowed;
    accepts = {
      claude-code = predicate { pname = "claude-code"; };
      pipelock = predicate { pname = "pipelock"; };
      pipelock-by-name = predicate { name = "pipelock-2.3.0"; };
      claude-code-by-name = predicate { name = "claude-code-2.0.1"; };
      vscode = predicate { pname = "vscode"; };
      claude = predicate { pname = "claude"; };
      pipelock-enterprise = predicate { pname = "pipelock-enterprise"; };
    };
  };
  linux = {
    x86_64-linux = linux "x86_64-linux";
    aarch64-linux = linux "aarch64-linux";
  };
  darwin = {
    x86_64-darwin = darwin "x86_64-darwin";
    aarch64-darwin = darwin "aarch64-darwin";
  };
  flake = {
    description = flake.description;
    inputs = flake.inputs;
    outputNames = attrNames flakeOutputs;
    systems = mapAttrs (system: _: if builtins.match ".*-linux" system != null then flakeLinux system else flakeSystem system) flakeOutputs.packages;
  };
}
