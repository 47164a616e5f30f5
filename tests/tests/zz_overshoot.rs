use frrhook::{Limits, Script, args};
use std::time::{Duration, Instant};
#[test]
fn overshoot() {
    for (name, src) in [
        ("loop", "function f() while true do end end"),
        (
            "rep8m",
            "function f() while true do local s = string.rep('x', 8e6) end end",
        ),
        (
            "pattern",
            "function f() local s = string.rep('a', 30) return { x = s:find(string.rep('a*', 12) .. 'b') } end",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("s.lua"), src).unwrap();
        let mut s = Script::new("s").with_dir(dir.path()).with_limits(
            Limits::none()
                .deadline(Duration::from_millis(200))
                .memory(64 << 20),
        );
        s.load("f").unwrap();
        let t = Instant::now();
        let r = s.call("f", args!());
        println!("{name}: {:?} {:?}", t.elapsed(), r.map_err(|e| e.kind()));
    }
}
