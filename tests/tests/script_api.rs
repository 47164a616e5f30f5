//! Layer 1: the frrscript parity API, with FRR's own unit-test semantics.

use std::path::PathBuf;

use frrhook::{ErrorKind, Script, args};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts")
}

fn script() -> Script {
    Script::new("frrscript_unit").with_dir(dir())
}

#[test]
fn new_reads_nothing() {
    // A script that does not exist can be created; only load notices.
    let mut s = Script::new("does_not_exist").with_dir(dir());
    let e = s.load("foo").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io);
    assert!(e.message().contains("does_not_exist.lua"), "{e}");
}

#[test]
fn foo_writes_back_both_arguments() {
    let mut s = script();
    s.load("foo").unwrap();
    let (mut a, mut b) = (100i64, 200i64);
    s.call("foo", args!(a = &mut a, b = &mut b)).unwrap();
    assert_eq!((a, b), (101, 201));
}

#[test]
fn bar_writes_back_only_what_it_returns_and_get_result_reads_the_rest() {
    let mut s = script();
    s.load("bar").unwrap();
    let (mut a, mut b) = (100i64, 200i64);
    s.call("bar", args!(a = &mut a, b = &mut b)).unwrap();
    assert_eq!((a, b), (100, 201));
    assert_eq!(s.get_result::<i64>("bar", "c").unwrap(), Some(303));
    assert_eq!(s.get_result::<i64>("bar", "a").unwrap(), None);
}

#[test]
fn const_and_by_value_arguments_are_never_written() {
    let mut s = script();
    s.load("foo").unwrap();
    let a = 100i64;
    s.call("foo", args!(a = &a, b = 200i64)).unwrap();
    assert_eq!(a, 100);
    // The returned table still has the values the script computed.
    assert_eq!(s.get_result::<i64>("foo", "a").unwrap(), Some(101));
}

#[test]
fn fact_is_callable_repeatedly_without_reloading() {
    let mut s = script();
    s.load("fact").unwrap();
    s.call("fact", args!(n = 5i64)).unwrap();
    assert_eq!(s.get_result::<i64>("fact", "ans").unwrap(), Some(120));
    s.call("fact", args!(n = 4i64)).unwrap();
    assert_eq!(s.get_result::<i64>("fact", "ans").unwrap(), Some(24));
}

#[test]
fn loading_a_missing_function_fails() {
    let mut s = script();
    let e = s.load("does_not_exist").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MissingFunction);
    assert_eq!(e.function(), Some("does_not_exist"));
    assert_eq!(e.script(), Some("frrscript_unit"));
}

#[test]
fn calling_a_function_never_loaded_fails_and_has_no_results() {
    let mut s = script();
    let e = s.call("foo", args!(a = 1i64)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MissingFunction);
    assert_eq!(s.get_result::<i64>("foo", "a").unwrap(), None);
}

#[test]
fn returning_nothing_fails() {
    let mut s = script();
    s.load("bad_return1").unwrap();
    let e = s.call("bad_return1", args!()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotATable);
    assert!(e.message().contains("returned nothing"), "{e}");
}

#[test]
fn returning_a_number_fails() {
    let mut s = script();
    s.load("bad_return2").unwrap();
    let e = s.call("bad_return2", args!()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotATable);
    assert!(e.message().contains("integer (123)"), "{e}");
    assert_eq!(e.line(), Some(33), "line of the function definition");
}

#[test]
fn returning_an_empty_table_succeeds_and_missing_keys_are_none() {
    let mut s = script();
    s.load("bad_return3").unwrap();
    s.call("bad_return3", args!()).unwrap();
    assert_eq!(s.get_result::<i64>("bad_return3", "a").unwrap(), None);
}

#[test]
fn error_fails_with_the_message_and_the_line() {
    let mut s = script();
    s.load("bad_return4").unwrap();
    let e = s.call("bad_return4", args!()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Runtime);
    assert_eq!(e.message(), "Something bad!");
    assert_eq!(e.line(), Some(42));
    assert_eq!(e.function(), Some("bad_return4"));
    assert!(e.traceback().is_some_and(|t| t.contains("stack traceback")));
    assert_eq!(
        e.to_string(),
        "frrscript_unit.lua:42 in bad_return4: runtime error: Something bad!"
    );
}

#[test]
fn a_failed_write_back_modifies_no_argument() {
    let mut s = script();
    s.load("three").unwrap();
    let (mut x, mut y, mut z) = (1i64, 2i64, 3i64);
    let e = s
        .call("three", args!(x = &mut x, y = &mut y, z = &mut z))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode);
    assert_eq!(e.decode_error().unwrap().path_string(), "z");
    assert!(e.message().starts_with("z: expected integer"), "{e}");
    assert_eq!((x, y, z), (1, 2, 3));
    // and the failed call left no results
    assert_eq!(s.get_result::<i64>("three", "x").unwrap(), None);
}

#[test]
fn results_are_not_kept_between_calls_but_globals_are() {
    let mut s = script();
    s.load("count").unwrap();
    s.load("bar").unwrap();
    s.call("count", args!()).unwrap();
    s.call("count", args!()).unwrap();
    assert_eq!(s.get_result::<i64>("count", "calls").unwrap(), Some(2));
    // a failing call clears the previous results
    s.load("bad_return2").unwrap();
    let (mut a, mut b) = (1i64, 2i64);
    s.call("bar", args!(a = &mut a, b = &mut b)).unwrap();
    assert_eq!(s.get_result::<i64>("bar", "c").unwrap(), Some(303));
    let e = s.call("bar", args!(a = "not a number")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Runtime);
    assert_eq!(s.get_result::<i64>("bar", "c").unwrap(), None);
}

#[test]
fn get_result_of_the_wrong_type_is_an_error() {
    let mut s = script();
    s.load("bar").unwrap();
    s.call("bar", args!(a = 1i64, b = 2i64)).unwrap();
    let e = s.get_result::<String>("bar", "c").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode);
    assert_eq!(e.message(), "c: expected string, got integer (303)");
}

#[test]
fn syntax_errors_name_the_line() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("broken.lua"),
        "function ok() return {} end\n\nfunction bad(\n  return 1\nend\n",
    )
    .unwrap();
    let mut s = Script::new("broken").with_dir(tmp.path());
    let e = s.load("ok").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Syntax);
    assert_eq!(e.line(), Some(4));
    assert_eq!(e.script(), Some("broken"));
}

#[test]
fn log_functions_take_any_number_of_arguments() {
    let mut s = script();
    s.load("logs").unwrap();
    s.call("logs", args!()).unwrap();
}

#[test]
fn the_default_environment_is_the_sandbox() {
    let mut s = script();
    s.load("env_probe").unwrap();
    s.call("env_probe", args!()).unwrap();
    let get = |k: &str| s.get_result::<String>("env_probe", k).unwrap().unwrap();
    for absent in [
        "os",
        "io",
        "debug",
        "load",
        "require",
        "dofile",
        "loadfile",
        "package",
        "dump",
        "collectgarbage",
    ] {
        assert_eq!(get(absent), "nil", "{absent} must be absent");
    }
    for present in ["string", "table", "math", "utf8", "log"] {
        assert_eq!(get(present), "table", "{present} must be present");
    }
}

#[test]
fn each_loaded_function_has_its_own_globals_as_in_frr() {
    let mut s = script();
    s.load("count").unwrap();
    s.call("count", args!()).unwrap();
    s.call("count", args!()).unwrap();
    // Loading again re-reads the file into a fresh state.
    s.load("count").unwrap();
    s.call("count", args!()).unwrap();
    assert_eq!(s.get_result::<i64>("count", "calls").unwrap(), Some(1));
}

#[test]
fn an_argument_that_cannot_be_encoded_is_a_clean_error() {
    let mut s = script();
    s.load("foo").unwrap();
    let mut a = 1i64;
    // u64::MAX does not fit a Lua integer: the function never runs, `a` is untouched.
    let e = s.call("foo", args!(a = &mut a, b = u64::MAX)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Encode);
    assert!(e.message().starts_with("argument `b`:"), "{e}");
    assert_eq!(a, 1);
    s.call("foo", args!(a = &mut a, b = 2i64)).unwrap();
    assert_eq!(a, 2);
}
