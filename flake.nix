{
  description = "bot-bottle: run AI coding agents in a Docker bottle whose only way out is mitmproxy -> pipelock";

  # nixpkgs only, pinned in flake.lock (see docs/nix.md to move the pin).
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.11";

  outputs =
    { self, nixpkgs }:
    let
      # The one image contract, shared with the Rust CLI.
      contract = builtins.fromJSON (builtins.readFile ./nix/image-contract.json);

      # Images are Linux; the CLI alone also builds on darwin.
      linuxSystems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      darwinSystems = [
        "x86_64-darwin"
        "aarch64-darwin"
      ];
      systems = linuxSystems ++ darwinSystems;
      forAllSystems =
        f:
        builtins.listToAttrs (
          map (system: {
            name = system;
            value = f system;
          }) systems
        );

      nixpkgsConfig = (import ./nix/nixpkgs-config.nix).config;

      perSystem = forAllSystems (
        system:
        import ./nix/outputs.nix {
          pkgs = import nixpkgs {
            inherit system;
            config = nixpkgsConfig;
            overlays = [ ];
          };
          inherit contract;
          addon = ./nix/mitmproxy/bottle_verdict.py;
          root = ./.;
          lockFile =
            if builtins.pathExists ./nix/images.lock.json then ./nix/images.lock.json else null;
          withImages = builtins.elem system linuxSystems;
        }
      );
      pick = name: builtins.mapAttrs (_: outputs: outputs.${name}) perSystem;
    in
    {
      packages = pick "packages";
      apps = pick "apps";
      checks = pick "checks";
      devShells = pick "devShells";
    };
}
