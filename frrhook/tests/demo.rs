//! The demo daemon (`examples/bgp_policy`) on the real sample it ships.
//!
//! The example's modules are compiled into this test with `#[path]`, so the checks run
//! the demo's own code in-process; one test also runs the built example binary to
//! check its exit status on a file that is not MRT.

#![allow(dead_code)]

#[path = "../examples/bgp_policy/daemon.rs"]
mod daemon;
#[path = "../examples/bgp_policy/hooks.rs"]
mod hooks;
#[path = "../examples/bgp_policy/mrt.rs"]
mod mrt;
#[path = "../examples/bgp_policy/native.rs"]
mod native;
#[path = "../examples/bgp_policy/policy.rs"]
mod policy;
#[path = "../examples/bgp_policy/route.rs"]
mod route;
#[path = "../examples/bgp_policy/summary.rs"]
mod summary;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use route::RouteMapAction;

/// Paths (prefix × peer) in the sample's whole records, as counted by mrtparse and
/// bgpdump (`../shared/data/SOURCES.md`).
const SAMPLE_ROUTES: usize = 270_005;

fn sample() -> &'static mrt::Rib {
    static RIB: OnceLock<mrt::Rib> = OnceLock::new();
    RIB.get_or_init(|| {
        mrt::read_rib(Path::new(daemon::SAMPLE_RIB), &mut |_| {}).expect("the sample reads")
    })
}

fn quiet(threads: usize) -> daemon::Options {
    daemon::Options {
        threads,
        progress: false,
        ..daemon::Options::default()
    }
}

#[test]
fn sample_is_read_to_its_last_whole_record_and_the_cut_is_reported() {
    let rib = sample();
    assert_eq!(rib.format, "TABLE_DUMP_V2");
    assert_eq!(rib.compression, mrt::Compression::Bzip2);
    assert_eq!(rib.routes.len(), SAMPLE_ROUTES);
    assert_eq!(rib.peers.len(), 47);
    // 1 PEER_INDEX_TABLE + 9,072 RIB_IPV4_UNICAST records (9,072 prefixes).
    assert_eq!(rib.records, 9_073);
    assert!(rib.skipped.is_empty(), "{:?}", rib.skipped);
    let cut = rib.truncated.as_ref().expect("the sample is cut off");
    assert_eq!(cut.record, 9_074);
    assert!(cut.available < cut.declared.unwrap(), "{cut}");
    assert!(cut.to_string().contains("cut off"), "{cut}");
    let update_in: u64 = rib.peers.iter().map(|p| p.stats.update_in).sum();
    assert_eq!(update_in, SAMPLE_ROUTES as u64);
}

#[test]
fn demo_on_the_sample_matches_denies_and_changes_routes() {
    let opts = quiet(2);
    let rt = daemon::runtime(&opts).unwrap();
    let report = daemon::run_rib(&opts, &rt, sample().clone(), Duration::ZERO);
    let s = &report.summary;
    assert_eq!(s.routes, SAMPLE_ROUTES as u64);
    assert!(s.truncated);
    assert_eq!(s.errors, 0, "{:?}", report.details.outcome.first_errors);
    for name in ["nomatch", "match", "match_and_change"] {
        assert!(s.actions[name] > 0, "no {name} in {:?}", s.actions);
    }
    assert_eq!(s.actions["failure"], 0);
    assert_eq!(s.actions.values().sum::<u64>(), s.routes);
    assert_eq!(s.changed, s.actions["match_and_change"]);
    assert!(s.seconds > 0.0 && s.routes_per_sec > 0.0);

    let hooks: Vec<(&str, u64)> = s.hooks.iter().map(|h| (h.hook.as_str(), h.calls)).collect();
    let accepted = s.actions["match"] + s.actions["match_and_change"];
    assert_eq!(
        hooks,
        vec![
            ("bgp.route_match", SAMPLE_ROUTES as u64),
            ("vrrp.priority", 1),
            ("zebra.on_rib_process_dplane_results", accepted),
        ]
    );
    // The observe-only script counted every install in the shared store.
    assert_eq!(
        rt.shared().get("dplane.installed"),
        Some(frrhook::SharedValue::Integer(accepted as i64))
    );
    let v = &report.details.vrrp;
    assert_eq!((v.before, v.after), (100, 110), "{v:?}");

    // The JSON summary has exactly the documented keys.
    let json: serde_json::Value = serde_json::from_str(&s.to_json()).unwrap();
    let mut keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "actions",
            "changed",
            "errors",
            "hooks",
            "routes",
            "routes_per_sec",
            "seconds",
            "truncated"
        ]
    );
    assert_eq!(json["routes"], SAMPLE_ROUTES);
    assert_eq!(json["truncated"], true);
    assert!(json["actions"]["match_and_change"].as_u64().unwrap() > 0);
    assert_eq!(json["hooks"].as_array().unwrap().len(), 3);

    // And the text report says what happened.
    let text = s.to_text(&report.details);
    assert!(text.contains("truncated  yes: record 9074"), "{text}");
    assert!(text.contains("bgp.route_match"), "{text}");
}

#[test]
fn lua_route_map_decides_like_the_native_one() {
    // Every route the native route-map denies or changes, and one in 16 of the others
    // (all of them take long in a debug build).
    let rib = sample();
    let rt = daemon::runtime(&quiet(1)).unwrap();
    let mut seen = std::collections::BTreeMap::<RouteMapAction, u64>::new();
    for (i, r) in rib.routes.iter().enumerate() {
        let mut native_attrs = r.attributes.clone();
        let native = native::route_match(&r.prefix, &mut native_attrs);
        if native == RouteMapAction::Match && i % 16 != 0 {
            continue;
        }
        let peer = &rib.peers[r.peer as usize];
        let mut lua_attrs = r.attributes.clone();
        let lua = hooks::route_match(&rt, &r.prefix, &mut lua_attrs, peer)
            .unwrap()
            .action
            .unwrap();
        assert_eq!(lua, native, "route {i}: {r:?}");
        if lua == RouteMapAction::MatchAndChange {
            assert_eq!(lua_attrs, native_attrs, "route {i}: {r:?}");
        }
        *seen.entry(lua).or_default() += 1;
    }
    assert_eq!(seen.len(), 3, "{seen:?}");
}

#[test]
fn plain_mrt_reads_like_the_bzip2_file() {
    let mut plain = Vec::new();
    let file = std::fs::File::open(daemon::SAMPLE_RIB).unwrap();
    // The bzip2 stream is cut: keep what decompresses, as a plain (and cut) MRT file.
    let _ = bzip2::read::MultiBzDecoder::new(file).read_to_end(&mut plain);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rib.mrt");
    std::fs::write(&path, &plain).unwrap();
    let rib = mrt::read_rib(&path, &mut |_| {}).unwrap();
    assert_eq!(rib.compression, mrt::Compression::None);
    assert_eq!(rib.routes.len(), SAMPLE_ROUTES);
    assert_eq!(rib.routes, sample().routes);
    let cut = rib.truncated.expect("still cut");
    assert_eq!(cut.record, 9_074);
    assert_eq!(cut.cause, "the input ends early");
}

#[test]
fn whole_files_are_not_truncated() {
    // The sample's whole records, without the cut one: a clean end of input.
    let mut plain = Vec::new();
    let file = std::fs::File::open(daemon::SAMPLE_RIB).unwrap();
    let _ = bzip2::read::MultiBzDecoder::new(file).read_to_end(&mut plain);
    let cut = sample().truncated.as_ref().unwrap();
    plain.truncate(cut.offset as usize);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("whole.mrt");
    std::fs::write(&path, &plain).unwrap();
    let rib = mrt::read_rib(&path, &mut |_| {}).unwrap();
    assert_eq!(rib.routes.len(), SAMPLE_ROUTES);
    assert_eq!(rib.truncated, None);
}

#[test]
fn table_dump_v1_files_read_when_present() {
    // Not shipped (no license to republish them): only on machines that have them.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    for (file, routes) in [
        ("namex-bgpd-rib-inet.mrt", 3_426),
        ("namex-bgpd-rib-inet6.mrt", 432),
    ] {
        let path = dir.join(file);
        if !path.exists() {
            eprintln!("skipped: {} is absent", path.display());
            continue;
        }
        let rib = mrt::read_rib(&path, &mut |_| {}).unwrap();
        assert_eq!(rib.format, "TABLE_DUMP", "{file}");
        assert_eq!(rib.routes.len(), routes, "{file}");
        assert_eq!(rib.truncated, None, "{file}");
        assert!(
            rib.routes
                .iter()
                .any(|r| !r.attributes.large_community.is_empty())
        );
        // AS4_PATH is merged: no AS_TRANS left where the real path is known.
        let trans = rib
            .routes
            .iter()
            .filter(|r| r.attributes.aspath.contains("23456"))
            .count();
        assert!(trans < routes / 10, "{file}: {trans} paths with 23456");
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn files_that_are_not_mrt_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8], &str); 5] = [
        (
            "notes.txt",
            b"this is a text file, not a routing table\n",
            "not an MRT RIB dump",
        ),
        ("empty.mrt", b"", "empty input"),
        ("short.mrt", b"MRT?", "shorter than one MRT header"),
        ("rib.gz", &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0], "gzip"),
        (
            "bad.bz2",
            b"BZh9 this is not bzip2 data at all",
            "cannot read the bzip2 data",
        ),
    ];
    for (name, bytes, expected) in cases {
        let path = write(dir.path(), name, bytes);
        let e = mrt::read_rib(&path, &mut |_| {}).unwrap_err();
        let text = e.to_string();
        assert!(text.starts_with(&path.display().to_string()), "{text}");
        assert!(text.contains(expected), "{name}: {text}");
    }
    let missing = dir.path().join("missing.mrt");
    let e = mrt::read_rib(&missing, &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("cannot open"), "{e}");
}

/// `target/<profile>/examples/bgp_policy`, built by `cargo test` beside this test.
fn example_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let profile_dir = exe.parent()?.parent()?;
    let bin = profile_dir
        .join("examples")
        .join(format!("bgp_policy{}", std::env::consts::EXE_SUFFIX));
    bin.exists().then_some(bin)
}

#[test]
fn example_exits_non_zero_on_a_file_that_is_not_mrt() {
    let Some(bin) = example_binary() else {
        eprintln!("skipped: the bgp_policy example is not built (run `cargo test`)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "routes.csv",
        b"prefix,next_hop\n10.0.0.0/8,192.0.2.1\n",
    );
    let out = std::process::Command::new(bin)
        .args(["--json", "--rib"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&path.display().to_string()), "{stderr}");
    assert!(stderr.contains("not an MRT RIB dump"), "{stderr}");
}

/// `bgp.route_match`'s parameters, with every returned key readable (`..`).
#[frrhook::hook_point(
    name = "test.keeper",
    results(..),
    consts(RM_FAILURE = 0, RM_NOMATCH = 1, RM_MATCH = 2, RM_MATCH_AND_CHANGE = 3)
)]
fn keeper(prefix: &ipnet::IpNet, attributes: &mut route::Attributes, peer: &route::Peer);

#[test]
fn a_script_that_keeps_its_arguments_never_sees_a_later_route() {
    // Whatever the call path reuses between calls (tables, userdata), a script holding
    // on to last call's `prefix`, `attributes` and `peer` must still see last call's
    // values, never the current route's.
    let rt = frrhook::Runtime::builder().build();
    rt.add_script(
        "keeper",
        r#"
        local kept
        function route_match(prefix, attributes, peer, RM_FAILURE, RM_NOMATCH, RM_MATCH)
          local out = { action = RM_MATCH }
          if kept then
            out.kept_network = kept.prefix.network
            out.kept_aspath = kept.attributes.aspath
            out.kept_community = kept.attributes.community[1]
            out.kept_peer = kept.peer.remote_id.string
          end
          kept = { prefix = prefix, attributes = attributes, peer = peer }
          return out
        end
        "#,
    )
    .unwrap();
    rt.attach_hook(KeeperArgs::hook(), "keeper", "route_match")
        .unwrap();
    let rib = sample();
    let a = rib
        .routes
        .iter()
        .find(|r| !r.attributes.community.is_empty())
        .unwrap();
    let b = &rib.routes[rib.routes.len() - 1];
    assert_ne!(a.attributes.aspath, b.attributes.aspath);
    assert_ne!(a.attributes.community[0], b.attributes.community[0]);
    assert_ne!(a.peer, b.peer);
    let call = |r: &route::Route| {
        let mut attrs = r.attributes.clone();
        keeper(&rt, &r.prefix, &mut attrs, &rib.peers[r.peer as usize]).unwrap()
    };
    call(a);
    let second = call(b);
    let kept = |k: &str| second.get::<String>(k).unwrap();
    assert_eq!(kept("kept_network"), Some(a.prefix.to_string()));
    assert_eq!(kept("kept_aspath"), Some(a.attributes.aspath.clone()));
    assert_eq!(
        kept("kept_community"),
        a.attributes.community.first().cloned()
    );
    assert_eq!(
        kept("kept_peer"),
        Some(rib.peers[a.peer as usize].remote_id.0.to_string())
    );
}
