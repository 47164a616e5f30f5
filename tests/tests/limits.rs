//! Limits: instruction budget, deadline and memory cap, per runtime and per hook, at
//! call time and at load time.

use std::time::Duration;

use frrhook::{ErrorKind, Limits, Runtime, Script, args};
use frrhook_tests::*;

fn small() -> Limits {
    Limits::none()
        .instructions(200_000)
        .deadline(Duration::from_secs(5))
        .memory(16 << 20)
}

/// About 600 000 VM instructions (`ADD` and `FORLOOP` per iteration).
const BUSY: &str = r#"
function busy(n)
  local x = 0
  for i = 1, 300000 do x = x + i end
  return { n = n + 1 }
end
"#;

#[test]
fn per_hook_limits_override_the_runtime_limits() {
    let rt = Runtime::builder()
        .limits(small())
        .hook_limits("test.counter", small().instructions(50_000_000))
        .build();
    rt.add_script("busy", BUSY).unwrap();
    rt.attach("test.counter", "busy", "busy").unwrap();
    rt.attach("test.observe", "busy", "busy").unwrap();
    assert_eq!(
        rt.limits_for("test.counter").instruction_budget(),
        Some(50_000_000)
    );
    assert_eq!(
        rt.limits_for("test.observe").instruction_budget(),
        Some(200_000)
    );

    let mut n = 1;
    counter(&rt, &mut n).expect("the hook's own budget is large enough");
    assert_eq!(n, 2);
    let e = observe(&rt, &"10.0.0.0/8".parse().unwrap(), 1, "x").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InstructionLimit, "{e}");
    assert_eq!(e.hook(), Some("test.observe"));
    let s = rt.hook_stats("test.observe").unwrap();
    assert_eq!(s.stats.errors_of(ErrorKind::InstructionLimit), 1);
}

#[test]
fn a_hook_without_limits_runs_unbounded_work_and_others_stay_limited() {
    let rt = Runtime::builder()
        .limits(small())
        .hook_limits("test.counter", Limits::none())
        .build();
    rt.add_script("busy", BUSY).unwrap();
    rt.attach("test.counter", "busy", "busy").unwrap();
    rt.attach("test.observe", "busy", "busy").unwrap();
    let mut n = 1;
    counter(&rt, &mut n).unwrap();
    assert!(observe(&rt, &"10.0.0.0/8".parse().unwrap(), 1, "x").is_err());
}

#[test]
fn a_coroutine_made_without_limits_is_counted_when_resumed_under_limits() {
    // The coroutine is created in a call of a hook with no limits, so it has no count
    // hook of its own; resumed by a limited hook, it must be stopped anyway.
    let rt = Runtime::builder()
        .limits(small())
        .hook_limits("test.counter", Limits::none())
        .build();
    rt.add_script(
        "co",
        r#"
        function make(n)
          spin = coroutine.create(function() while true do end end)
          return {}
        end
        function run()
          coroutine.resume(spin)
          return {}
        end
        "#,
    )
    .unwrap();
    rt.attach("test.counter", "co", "make").unwrap();
    rt.attach("test.observe", "co", "run").unwrap();
    let mut n = 0;
    counter(&rt, &mut n).unwrap();
    let e = observe(&rt, &"10.0.0.0/8".parse().unwrap(), 1, "x").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InstructionLimit, "{e}");
}

#[test]
fn the_budget_counts_instructions_not_calls() {
    let limits = |n| Limits::none().instructions(n);
    for (budget, ok) in [(700_000, true), (400_000, false)] {
        let mut s = Script::new("busy").with_limits(limits(budget));
        let dir = script_dir(&[("busy", BUSY)]);
        s = s.with_dir(dir.path());
        s.load("busy").unwrap();
        let mut n = 0i64;
        let r = s.call("busy", args!(n = &mut n));
        assert_eq!(r.is_ok(), ok, "budget {budget}: {r:?}");
        if let Err(e) = r {
            assert_eq!(e.kind(), ErrorKind::InstructionLimit);
            assert!(e.message().contains("400000 instructions"), "{e}");
        }
    }
}

#[test]
fn the_deadline_stops_a_loop_when_there_is_no_budget() {
    let dir = script_dir(&[("spin", "function f(n) while true do end end")]);
    let mut s = Script::new("spin")
        .with_dir(dir.path())
        .with_limits(Limits::none().deadline(Duration::from_millis(50)));
    s.load("f").unwrap();
    let mut n = 0i64;
    let e = s.call("f", args!(n = &mut n)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Deadline);
    assert!(e.message().contains("deadline of 0.05 s"), "{e}");
    // Not a timing test: only that it came back, and that the next call works the same.
    let e = s.call("f", args!(n = &mut n)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Deadline);
}

const TOP_LOOP: &str = "function f(n) return {} end\nwhile true do end\n";

#[test]
fn limits_apply_when_loading_attaching_and_reloading() {
    let dir = script_dir(&[
        ("loop", TOP_LOOP),
        ("ok", "function f(n) return { n = 1 } end"),
    ]);
    let rt = Runtime::builder()
        .script_dir(dir.path())
        .limits(small())
        .build();

    // attach
    let e = rt.attach("test.counter", "loop", "f").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InstructionLimit, "{e}");
    assert_eq!(e.function(), Some("(top level)"));
    // add_script
    let e = rt.add_script("inline", TOP_LOOP).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InstructionLimit);

    // reload and reload_source keep the old version
    rt.attach("test.counter", "ok", "f").unwrap();
    std::fs::write(dir.path().join("ok.lua"), TOP_LOOP).unwrap();
    let e = rt.reload("ok").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InstructionLimit);
    let e = rt.reload_source("ok", TOP_LOOP).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InstructionLimit);
    assert_eq!(rt.reload_all().len(), 1);
    let mut n = 0;
    counter(&rt, &mut n).unwrap();
    assert_eq!(n, 1, "the old version still runs");

    // Script::load
    let mut s = Script::new("loop")
        .with_dir(dir.path())
        .with_limits(small());
    let e = s.load("f").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InstructionLimit);

    // and the deadline, when there is no budget
    let rt = Runtime::builder()
        .script_dir(dir.path())
        .limits(Limits::none().deadline(Duration::from_millis(50)))
        .build();
    let e = rt.attach("test.counter", "loop", "f").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Deadline);
}

#[test]
fn a_top_level_that_loops_only_on_some_threads_fails_those_calls_only() {
    // Validation runs with a scratch shared store, so this top level passes attach, and
    // loops when a thread builds its state later: the call fails with the limit.
    let rt = Runtime::builder().limits(small()).build();
    rt.add_script(
        "sneaky",
        "if shared.get('armed') then while true do end end\nfunction f(n) return { n = 1 } end",
    )
    .unwrap();
    rt.shared()
        .set("armed", Some(frrhook::SharedValue::Boolean(true)));
    rt.attach("test.counter", "sneaky", "f").unwrap();
    let mut n = 0;
    let e = counter(&rt, &mut n).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InstructionLimit, "{e}");
    assert_eq!(n, 0);
}

#[test]
fn memory_errors_leave_the_state_usable_and_keep_globals() {
    let rt = Runtime::builder()
        .limits(small().instructions(50_000_000))
        .build();
    rt.add_script(
        "mem",
        r#"
        calls = 0
        function f(n)
          calls = calls + 1
          if n == 1 then
            local t = {}
            while true do t[#t + 1] = string.rep("m", 1024) .. #t end
          end
          return { v = calls }
        end
        "#,
    )
    .unwrap();
    rt.attach("test.counter", "mem", "f").unwrap();
    let mut n = 0;
    assert_eq!(counter(&rt, &mut n).unwrap().v, Some(1));
    for _ in 0..3 {
        let mut one = 1;
        let e = counter(&rt, &mut one).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Memory, "{e}");
        assert_eq!(one, 1);
    }
    let mut n = 0;
    assert_eq!(
        counter(&rt, &mut n).unwrap().v,
        Some(5),
        "the same state: the global counted every call"
    );
}

#[test]
fn a_state_left_full_by_a_memory_error_is_replaced() {
    let src = r#"
        hoard = {}
        calls = 0
        function f(n)
          calls = calls + 1
          if n == 1 then
            while true do hoard[#hoard + 1] = string.rep("h", 1024) .. #hoard end
          end
          return { v = calls }
        end
    "#;
    // Through a hook on a runtime.
    let rt = Runtime::builder()
        .limits(small().instructions(50_000_000))
        .build();
    rt.add_script("hoard", src).unwrap();
    rt.attach("test.counter", "hoard", "f").unwrap();
    let mut n = 0;
    assert_eq!(counter(&rt, &mut n).unwrap().v, Some(1));
    let mut one = 1;
    assert_eq!(
        counter(&rt, &mut one).unwrap_err().kind(),
        ErrorKind::Memory
    );
    let mut n = 0;
    assert_eq!(
        counter(&rt, &mut n).unwrap().v,
        Some(1),
        "a fresh state: the script started again from its top level"
    );

    // Through the Script API.
    let dir = script_dir(&[("hoard", src)]);
    let mut s = Script::new("hoard")
        .with_dir(dir.path())
        .with_limits(small().instructions(50_000_000));
    s.load("f").unwrap();
    let mut n = 0i64;
    s.call("f", args!(n = &mut n)).unwrap();
    let mut one = 1i64;
    let e = s.call("f", args!(n = &mut one)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Memory);
    let mut n = 0i64;
    s.call("f", args!(n = &mut n)).unwrap();
    assert_eq!(s.get_result::<i64>("f", "v").unwrap(), Some(1));
}

#[test]
fn memory_errors_on_one_thread_leave_other_threads_alone() {
    let rt = Runtime::builder()
        .limits(small().instructions(50_000_000))
        .build();
    rt.add_script(
        "mem",
        r#"
        calls = 0
        function f(n)
          calls = calls + 1
          if n == 1 then local s = "x" while true do s = s .. s end end
          return { v = calls }
        end
        "#,
    )
    .unwrap();
    rt.attach("test.counter", "mem", "f").unwrap();
    let mut n = 0;
    assert_eq!(counter(&rt, &mut n).unwrap().v, Some(1));
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..3 {
                    let mut one = 1;
                    assert_eq!(
                        counter(&rt, &mut one).unwrap_err().kind(),
                        ErrorKind::Memory
                    );
                }
                // This thread's own state: built for its first call, kept since.
                let mut n = 0;
                assert_eq!(counter(&rt, &mut n).unwrap().v, Some(4));
            });
        }
    });
    assert_eq!(
        counter(&rt, &mut n).unwrap().v,
        Some(2),
        "this thread's state"
    );
}

#[test]
fn the_memory_cap_applies_to_compiling_too() {
    // 4 MiB of string constants in one chunk do not fit under a 1 MiB cap.
    let mut src = String::from("function f(n) return {} end\nlocal t = {\n");
    for i in 0..40_000 {
        src.push_str(&format!("\"{i:0>96}\",\n"));
    }
    src.push_str("}\n");
    let rt = Runtime::builder().limits(small().memory(1 << 20)).build();
    let e = rt.add_script("big", &src).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Memory, "{e}");
    let rt = Runtime::builder().limits(small().memory(64 << 20)).build();
    rt.add_script("big", &src).unwrap();
}

#[test]
fn a_ten_megabyte_comment_loads_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    let mut src = b"function f(n) return { n = n + 1 } end\n".to_vec();
    while src.len() < 10 << 20 {
        src.extend_from_slice(
            b"-- a comment line that a careless copy and paste produced, again\n",
        );
    }
    std::fs::write(dir.path().join("big.lua"), &src).unwrap();
    let rt = Runtime::builder()
        .script_dir(dir.path())
        .limits(small())
        .build();
    rt.attach("test.counter", "big", "f").unwrap();
    let mut n = 1;
    counter(&rt, &mut n).unwrap();
    assert_eq!(n, 2);
}

#[test]
fn limits_off_means_off() {
    let rt = Runtime::builder().limits(Limits::none()).build();
    rt.add_script("busy", BUSY).unwrap();
    rt.attach("test.counter", "busy", "busy").unwrap();
    let mut n = 0;
    counter(&rt, &mut n).unwrap();
    assert_eq!(Limits::none().memory_cap(), None);
    assert_eq!(Limits::default().instruction_budget(), Some(10_000_000));
}

#[test]
fn the_deadline_stops_loops_of_long_c_calls_soon() {
    // Each iteration is a few VM instructions but milliseconds of C (building strings of
    // megabytes): checking only every 1000 instructions, the stop came seconds late.
    // The generous bound only catches that; the typical figure is the deadline plus a
    // few percent (docs/SECURITY.md).
    for src in [
        "function f() while true do local s = string.rep('x', 8e6) end end",
        "function f() local s = string.rep('x', 1e6) while true do local t = s:gsub('x', 'yy') end end",
        "function f() local s = string.rep('x', 24e6) while true do local t = s .. 'x' end end",
    ] {
        let dir = script_dir(&[("c", src)]);
        let mut s = Script::new("c").with_dir(dir.path()).with_limits(
            Limits::none()
                .deadline(Duration::from_millis(100))
                .memory(64 << 20),
        );
        s.load("f").unwrap();
        let start = std::time::Instant::now();
        let e = s.call("f", args!()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Deadline, "{src}: {e}");
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{src}: stopped after {:?}",
            start.elapsed()
        );
    }
}
