#!/usr/bin/env python3
"""Assertions of tests/nix/check.sh over the stub evaluation report (eval.nix).

usage: assertions.py REPORT.json REPO_ROOT
Prints one line per check and returns the counts to check.sh through stdout's last
line `RESULT passed failed`.
"""

import json
import os
import re
import sys

# From shared facts (nix.md, pipelock.md). Nix checks the hashes on the first build.
NIXPKGS_PIN = {
    "type": "github",
    "owner": "NixOS",
    "repo": "nixpkgs",
    "ref": "nixos-25.11",
    "rev": "8fd9daa3db09ced9700431c5b7ad0e8ba199b575",
    "narHash": "sha256-Ti+ZBvW6yrWWAg2szExVTwCd4qOJ3KlVr1tFHfyfi8Q=",
    "lastModified": 1778430510,
}
PIPELOCK = {
    "version": "2.3.0",
    "x86_64-linux": (
        "https://github.com/luckyPipewrench/pipelock/releases/download/v2.3.0/pipelock_2.3.0_linux_amd64.tar.gz",
        "2723df194492bf07ef5c7f329d97eb03d48d712eed3360e6086cc1783ca5668b",
    ),
    "aarch64-linux": (
        "https://github.com/luckyPipewrench/pipelock/releases/download/v2.3.0/pipelock_2.3.0_linux_arm64.tar.gz",
        "7bcc4170159718d7ddfb6bb035b352bf90949c995e9208d8e6982f912bac5983",
    ),
}
LINUX = ["x86_64-linux", "aarch64-linux"]
DARWIN = ["x86_64-darwin", "aarch64-darwin"]
ROLES = {"agent": "AGENT", "pipelock": "PIPELOCK", "mitmproxy": "MITMPROXY"}

passed = 0
failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name}" + (f": {detail}" if detail else ""))


def eq(name, got, want):
    check(name, got == want, f"got {got!r}, want {want!r}")


def store_name(path):
    """'/nix/store/<hash>-<name>' -> '<name>'."""
    return os.path.basename(path).split("-", 1)[1]


def passwd_entry(text, user):
    for line in text.splitlines():
        fields = line.split(":")
        if fields[0] == user:
            return fields
    return None


def main():
    report = json.load(open(sys.argv[1]))
    root = sys.argv[2]
    contract = report["contract"]

    # ---- flake.lock: the facts' pin -------------------------------------------
    lock = json.load(open(os.path.join(root, "flake.lock")))
    node = lock["nodes"].get("nixpkgs", {})
    locked, original = node.get("locked", {}), node.get("original", {})
    for key in ("type", "owner", "repo", "rev", "narHash", "lastModified"):
        eq(f"flake.lock locked.{key}", locked.get(key), NIXPKGS_PIN[key])
    eq("flake.lock original", original,
       {k: NIXPKGS_PIN[k] for k in ("type", "owner", "repo", "ref")})
    eq("flake.lock root inputs", lock["nodes"]["root"], {"inputs": {"nixpkgs": "nixpkgs"}})
    eq("flake.lock nodes are nixpkgs only", sorted(lock["nodes"]), ["nixpkgs", "root"])
    eq("flake.lock version", lock.get("version"), 7)
    eq("flake inputs: nixpkgs only, following nixos-25.11",
       report["flake"]["inputs"], {"nixpkgs": {"url": "github:NixOS/nixpkgs/nixos-25.11"}})

    # ---- unfree: by name only -------------------------------------------------
    cfg = report["nixpkgsConfig"]
    eq("nixpkgs config: no allowUnfree", cfg["hasAllowUnfree"], False)
    eq("nixpkgs config: unfree names", sorted(cfg["unfreeAllowed"]), ["claude-code", "pipelock"])
    for name, want in [("claude-code", True), ("pipelock", True), ("pipelock-by-name", True),
                       ("claude-code-by-name", True), ("vscode", False), ("claude", False),
                       ("pipelock-enterprise", False)]:
        eq(f"allowUnfreePredicate {name}", cfg["accepts"][name], want)

    # ---- flake outputs, all systems ----------------------------------------------
    fl = report["flake"]
    eq("flake outputs", sorted(fl["outputNames"]), ["apps", "checks", "devShells", "packages"])
    eq("flake systems", sorted(fl["systems"]), sorted(LINUX + DARWIN))
    for system in LINUX:
        s, direct = fl["systems"][system], report["linux"][system]
        eq(f"{system}: flake packages", s["packages"],
           ["agent-image", "bottle", "default", "mitmproxy-image", "pipelock", "pipelock-image"])
        eq(f"{system}: flake checks", s["checks"], ["bottle", "clippy", "images-verify", "rustfmt"])
        eq(f"{system}: flake devShells", s["devShells"], ["default"])
        eq(f"{system}: apps.bottle is the wrapped CLI", s["apps"]["bottle"],
           {"type": "app", "program": direct["app"]["program"]})
        eq(f"{system}: apps.default = apps.bottle", s["apps"]["default"], s["apps"]["bottle"])
        check(f"{system}: flake passes the unfree policy (claude-code in agent image)",
              any(store_name(p) == "claude-code" for p in s["agentContents"]))
        check(f"{system}: flake passes the unfree policy (pipelock)",
              store_name(s["pipelock"]) == "pipelock-2.3.0", s["pipelock"])
    for system in DARWIN:
        s, direct = fl["systems"][system], report["darwin"][system]
        eq(f"{system}: flake packages (CLI only)", s["packages"], ["bottle", "default"])
        eq(f"{system}: flake checks", s["checks"], ["bottle", "clippy", "rustfmt"])
        eq(f"{system}: apps.bottle is the plain CLI", s["apps"]["bottle"]["program"],
           direct["bottle"] + "/bin/bottle")

    # ---- per Linux system: images, pipelock, app, checks -----------------------
    for system in LINUX:
        r = report["linux"][system]
        images = r["images"]
        eq(f"{system}: image roles", sorted(images), sorted(ROLES))

        for role, img in images.items():
            c = contract[role]
            args, conf = img["args"], img["args"]["config"]
            p = f"{system} {role}"
            eq(f"{p}: imageName = contract repository", img["imageName"], c["repository"])
            check(f"{p}: tag left to Nix (content hash)", "tag" not in args, args.get("tag"))
            check(f"{p}: timestamps left at the epoch",
                  args.get("created", "1970-01-01T00:00:01Z") == "1970-01-01T00:00:01Z"
                  and args.get("mtime", "1970-01-01T00:00:01Z") == "1970-01-01T00:00:01Z",
                  f"created={args.get('created')} mtime={args.get('mtime')}")
            eq(f"{p}: User = contract user", conf.get("User"), c["user"])
            eq(f"{p}: Cmd = contract command", conf.get("Cmd"), c["command"])
            check(f"{p}: no Entrypoint", "Entrypoint" not in conf, conf.get("Entrypoint"))
            want_ports = {f"{c['port']}/tcp": {}} if "port" in c else None
            eq(f"{p}: ExposedPorts", conf.get("ExposedPorts"), want_ports)
            fields = passwd_entry(img["users"]["passwd"], c["user"])
            check(f"{p}: /etc/passwd has the contract user with uid/gid",
                  fields is not None and fields[2] == str(c["uid"]) and fields[3] == str(c["gid"]),
                  repr(fields))
            check(f"{p}: /etc/group has the contract gid",
                  f"{c['user']}:x:{c['gid']}:" in img["users"]["group"].splitlines())
            check(f"{p}: user is not root", c["uid"] != 0 and conf.get("User") not in ("root", "0"))
            frc = args.get("fakeRootCommands", "")
            check(f"{p}: /tmp is 1777", "mkdir -p ./tmp" in frc and "chmod 1777 ./tmp" in frc, frc)
            env = dict(e.split("=", 1) for e in conf.get("Env", []))
            check(f"{p}: PATH set", "PATH" in env, env)
            check(f"{p}: stream is a store path", img["stream"].startswith("/nix/store/"))

        owner = lambda c: f"{c['uid']}:{c['gid']}"
        # agent
        c, img = contract["agent"], images["agent"]
        args, conf, frc = img["args"], img["args"]["config"], img["args"]["fakeRootCommands"]
        names = {store_name(x) for x in args["contents"]}
        for pkg in ["bashInteractive", "coreutils", "findutils", "gnugrep", "gnused", "git",
                    "curl", "cacert", "nodejs", "claude-code"]:
            check(f"{system} agent: contents include {pkg}", pkg in names, sorted(names))
        check(f"{system} agent: no ssh client (SSH stays out of the bottle)", "openssh" not in names, sorted(names))
        eq(f"{system} agent: WorkingDir = contract workdir", conf.get("WorkingDir"), c["workdir"])
        env = dict(e.split("=", 1) for e in conf["Env"])
        eq(f"{system} agent: HOME = contract home", env.get("HOME"), c["home"])
        fields = passwd_entry(img["users"]["passwd"], c["user"])
        eq(f"{system} agent: passwd home = contract home", fields and fields[5], c["home"])
        for key in ("home", "workdir", "skills_dir"):
            check(f"{system} agent: creates contract {key}", re.search(r"mkdir -p [^\n]*'\." + re.escape(c[key]) + "'", frc) is not None, frc)
        check(f"{system} agent: home owned by the contract uid:gid",
              f"chown -R {owner(c)} '.{c['home']}'" in frc, frc)
        check(f"{system} agent: system_ca_bundle is a real file copied from cacert",
              re.search(r"cp /nix/store/\S+-cacert/etc/ssl/certs/ca-bundle\.crt '\." +
                        re.escape(c["system_ca_bundle"]) + "'", frc) is not None, frc)
        check(f"{system} agent: trust_dir left to the CA step (root), /etc stays a real dir",
              c["trust_dir"] not in frc)

        # pipelock image
        c, img = contract["pipelock"], images["pipelock"]
        frc, names = img["args"]["fakeRootCommands"], {store_name(x) for x in img["args"]["contents"]}
        check(f"{system} pipelock: contents include pipelock 2.3.0", "pipelock-2.3.0" in names, sorted(names))
        check(f"{system} pipelock: contents include CA certificates",
              "docker-ca-certificates" in names or "cacert" in names, sorted(names))
        cfgdir = os.path.dirname(c["config_path"])
        check(f"{system} pipelock: config dir exists, owned by the contract user",
              f"mkdir -p '.{cfgdir}'" in frc and f"chown {owner(c)} '.{cfgdir}'" in frc, frc)
        env = dict(e.split("=", 1) for e in img["args"]["config"]["Env"])
        check(f"{system} pipelock: no long values in Env (scan_env)",
              all(len(v) < 16 for v in env.values()), env)

        # pipelock package
        pl = r["pipelock"]
        url, sha = PIPELOCK[system]
        eq(f"{system} pipelock: fetchurl url", pl["fetchurl"].get("url"), url)
        eq(f"{system} pipelock: fetchurl sha256", pl["fetchurl"].get("sha256"), sha)
        eq(f"{system} pipelock: version", pl["version"], PIPELOCK["version"])
        eq(f"{system} pipelock: pname (the unfree allow-list name)", pl["pname"], "pipelock")
        eq(f"{system} pipelock: license unfree", pl["license"], "unfree")
        eq(f"{system} pipelock: platforms", sorted(pl["platforms"]), sorted(LINUX))
        check(f"{system} pipelock: installs bin/pipelock",
              "$out/bin/pipelock" in pl["installPhase"] and pl["sourceRoot"] == ".")

        # mitmproxy image
        c, img = contract["mitmproxy"], images["mitmproxy"]
        args, conf, frc = img["args"], img["args"]["config"], img["args"]["fakeRootCommands"]
        names = {store_name(x) for x in args["contents"]}
        check(f"{system} mitmproxy: contents include mitmproxy", "mitmproxy" in names, sorted(names))
        check(f"{system} mitmproxy: addon copied to the contract path",
              f"cp /stub/nix/mitmproxy/bottle_verdict.py '.{c['addon']}'" in frc, frc)
        addon_dir = os.path.dirname(c["addon"])
        check(f"{system} mitmproxy: the addon's mitm_patches.py and package copied beside it",
              f"cp /stub/nix/mitmproxy/mitm_patches.py '.{addon_dir}/mitm_patches.py'" in frc
              and f"cp -r /stub/nix/mitmproxy/bot_bottle_addon '.{addon_dir}/bot_bottle_addon'" in frc, frc)
        check(f"{system} mitmproxy: command loads the contract addon",
              c["command"][c["command"].index("-s") + 1] == c["addon"])
        check(f"{system} mitmproxy: home and confdir created, owned by the contract user",
              re.search(r"mkdir -p '\." + re.escape(c["home"]) + r"' '\." + re.escape(c["confdir"]) + "'", frc)
              is not None and f"chown -R {owner(c)} '.{c['home']}'" in frc, frc)
        check(f"{system} mitmproxy: confdir inside home", c["confdir"].startswith(c["home"] + "/"))
        env = dict(e.split("=", 1) for e in conf["Env"])
        eq(f"{system} mitmproxy: HOME = contract home", env.get("HOME"), c["home"])
        fields = passwd_entry(img["users"]["passwd"], c["user"])
        eq(f"{system} mitmproxy: passwd home = contract home", fields and fields[5], c["home"])

        # unfree refused without the policy
        for key, val in r["unfree"].items():
            eq(f"{system} unfree: {key}", val, True)

        # app wrapper
        app = r["app"]
        want_env = {}
        for role, up in ROLES.items():
            want_env[f"BOT_BOTTLE_NIX_{up}_IMAGE"] = f"{images[role]['imageName']}:{images[role]['imageTag']}"
            want_env[f"BOT_BOTTLE_NIX_{up}_STREAM"] = images[role]["stream"]
        eq(f"{system} app: the six env vars", app["env"], want_env)
        for name, value in want_env.items():
            check(f"{system} app: wrapper --set {name}",
                  f"--set {name} '{value}'" in app["buildCommand"], app["buildCommand"])
        check(f"{system} app: wraps the bottle package",
              f"makeWrapper {app['bottle']}/bin/bottle $out/bin/bottle" in app["buildCommand"])
        eq(f"{system} app: program", app["program"], app["wrapped"] + "/bin/bottle")
        eq(f"{system} app: type", app["type"], "app")

        # checks
        streams = " ".join(f"--stream {role}={images[role]['stream']}" for role in ROLES)
        check(f"{system} check images-verify: bottle images verify --lock ... --stream ...",
              f"bottle images verify --lock /stub/nix/images.lock.json {streams}" in r["verify"], r["verify"])
        eq(f"{system} check images-verify: uses the bottle package",
           r["verifyNativeBuildInputs"], [app["bottle"]])
        check(f"{system} check images-verify: fails loudly without a lock file",
              "exit 1" in r["verifyNoLock"] and "images lock" in r["verifyNoLock"])
        check(f"{system} check clippy", "cargo clippy" in r["clippy"] and "-D warnings" in r["clippy"])
        check(f"{system} check rustfmt", "rustfmt --check" in r["rustfmt"])
        eq(f"{system} checks.bottle is the package (tests run in its build)", r["checkBottleIsPackage"], True)
        eq(f"{system} packages.default is bottle", r["packagesDefaultIsBottle"], True)

        # the package
        b = r["bottle"]
        eq(f"{system} bottle: pname", b["pname"], "bot-bottle")
        eq(f"{system} bottle: mainProgram", b["mainProgram"], "bottle")
        eq(f"{system} bottle: cargoLock.lockFile", b["lockFile"], os.path.join(b["srcRoot"], "Cargo.lock"))
        eq(f"{system} bottle: tests run", b["doCheck"], True)
        # Nothing in the Nix build reads it: the Docker-backed tests are #[ignore]d.
        eq(f"{system} bottle: no BOT_BOTTLE_SKIP_DOCKER_TESTS (dead)", b["setsSkipDockerTests"], False)
        included = {os.path.relpath(f["path"], b["srcRoot"]) for f in b["fileset"]}
        for path in ["Cargo.toml", "Cargo.lock", "src", "tests", "snapshots",
                     "nix/image-contract.json", "nix/mitmproxy"]:
            check(f"{system} bottle: source includes {path}", path in included, sorted(included))
        check(f"{system} bottle: source excludes target/", "target" not in included)

        devshell = {store_name(x) for x in r["devShell"]}
        for pkg in ["cargo", "rustc", "clippy", "rustfmt", "cargo-insta", "python3-env", "nil", "nixfmt"]:
            check(f"{system} devShell: {pkg}", pkg in devshell, sorted(devshell))

    # ---- no contract literal repeated in the Nix files --------------------------
    literals = set()
    for role in ROLES:
        c = contract[role]
        for key, value in c.items():
            if isinstance(value, str) and value.startswith("/"):
                literals.add(value)
        literals.add(" ".join(c["command"]))
        literals.update(json.dumps(a) for a in c["command"][1:] if len(a) > 2)
        if "port" in c:
            literals.add(str(c["port"]))
    nix_files = [os.path.join(root, "flake.nix")] + sorted(
        os.path.join(root, "nix", f) for f in os.listdir(os.path.join(root, "nix")) if f.endswith(".nix"))
    for path in nix_files:
        text = open(path).read()
        found = sorted(l for l in literals if l in text)
        check(f"no contract literal in {os.path.relpath(path, root)}", not found, found)

    print(f"RESULT {passed} {failed}")


if __name__ == "__main__":
    main()
