//! Compile-fail and must-compile cases for `#[hook_point]` and `#[derive(LuaCodec)]`.
//!
//! Each `fail/*.rs` has a `.stderr` next to it holding exactly what rustc prints: these
//! are the error messages users see. Regenerate them with
//! `TRYBUILD=overwrite cargo test -p ui-tests`, then read every changed file.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/fail/*.rs");
    t.pass("tests/pass/*.rs");
}

/// `docs/hook-points.md` quotes these `.stderr` files verbatim: a change to one of them
/// must be copied there.
#[test]
fn docs_quote_real_errors() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("../docs/hook-points.md")).expect("the guide");
    for case in [
        "hook_arg_no_encoding",
        "hook_mut_encode_only",
        "hook_duplicate_name",
    ] {
        let path = root.join(format!("tests/fail/{case}.stderr"));
        let stderr = std::fs::read_to_string(&path).expect("the .stderr file");
        assert!(
            doc.contains(stderr.trim_end()),
            "docs/hook-points.md no longer quotes {} verbatim",
            path.display()
        );
    }
}
