//! The sandbox: what scripts see, that scripts cannot change each other's world, and
//! that opening more is explicit and per runtime.

use frrhook::{ErrorKind, ExtraLib, Limits, Runtime, Sandbox, Script, args};
use frrhook_tests::*;

/// Returns, as `tag`, the names a script sees that are not in the default set, and the
/// type of each name of interest.
const PROBE: &str = r#"
function f(n)
  local expected = {
    assert = 1, error = 1, ipairs = 1, next = 1, pairs = 1, pcall = 1, rawequal = 1,
    rawget = 1, rawlen = 1, rawset = 1, select = 1, tonumber = 1, tostring = 1, type = 1,
    xpcall = 1, getmetatable = 1, setmetatable = 1, _VERSION = 1, string = 1, table = 1,
    math = 1, utf8 = 1, coroutine = 1, log = 1, print = 1, shared = 1, _G = 1, f = 1,
  }
  local extra = {}
  for k in pairs(_G) do
    if not expected[k] then extra[#extra + 1] = k end
  end
  table.sort(extra)
  return { tag = table.concat(extra, ",") }
end
"#;

fn probe(rt: &Runtime) -> String {
    rt.add_script("probe", PROBE).unwrap();
    rt.attach("test.counter", "probe", "f").unwrap();
    let mut n = 0;
    let r = counter(rt, &mut n).unwrap();
    rt.detach("test.counter", "probe", "f").unwrap();
    r.tag.unwrap()
}

#[test]
fn the_default_environment_is_exactly_the_safe_set() {
    let rt = Runtime::new(".");
    assert_eq!(probe(&rt), "", "nothing beyond the documented set");
    let check = r#"
    function f(n)
      assert(load == nil and loadstring == nil and dofile == nil and loadfile == nil)
      assert(require == nil and debug == nil and os == nil and io == nil and package == nil)
      assert(collectgarbage == nil and string.dump == nil and ("").dump == nil)
      assert(getmetatable("") == false)
      assert(_G == _ENV)
      return { v = 1 }
    end
    "#;
    rt.add_script("check", check).unwrap();
    rt.attach("test.counter", "check", "f").unwrap();
    let mut n = 0;
    assert_eq!(counter(&rt, &mut n).unwrap().v, Some(1));
}

#[test]
fn extra_libraries_are_opened_per_runtime() {
    let open = Runtime::builder()
        .sandbox(
            Sandbox::default()
                .allow(ExtraLib::Os)
                .allow(ExtraLib::Io)
                .allow(ExtraLib::CollectGarbage),
        )
        .build();
    let closed = Runtime::new(".");
    assert_eq!(probe(&open), "collectgarbage,io,os");
    assert_eq!(probe(&closed), "", "another runtime is not affected");
    assert!(open.sandbox().allows(ExtraLib::Os));
    assert!(!closed.sandbox().allows(ExtraLib::Os));

    open.add_script(
        "os",
        r#"function f(n) return { v = os.time(), w = math.floor(collectgarbage("count")) } end"#,
    )
    .unwrap();
    open.attach("test.counter", "os", "f").unwrap();
    let mut n = 0;
    let r = counter(&open, &mut n).unwrap();
    assert!(r.v.unwrap() > 1_600_000_000);
    assert!(r.w.unwrap() > 0);

    // The Script API takes a sandbox too.
    let dir = script_dir(&[("t", "function f() return { t = os.time() } end")]);
    let mut s = Script::new("t")
        .with_dir(dir.path())
        .with_sandbox(Sandbox::default().allow(ExtraLib::Os));
    s.load("f").unwrap();
    s.call("f", args!()).unwrap();
    assert!(s.get_result::<i64>("f", "t").unwrap().is_some());
    let mut s = Script::new("t").with_dir(dir.path());
    s.load("f").unwrap();
    let e = s.call("f", args!()).unwrap_err();
    assert!(e.message().contains("global 'os'"), "{e}");
}

#[test]
fn collectgarbage_cannot_stop_the_collector() {
    // Decision: with ExtraLib::CollectGarbage, options that switch the collector off or
    // retune it are refused; collect, count, step, isrunning and restart work.
    let rt = Runtime::builder()
        .sandbox(Sandbox::default().allow(ExtraLib::CollectGarbage))
        .build();
    rt.add_script(
        "gc",
        r#"
        function f(n)
          local refused = {}
          for _, opt in ipairs({ "stop", "incremental", "generational", "setpause", "setstepmul" }) do
            local ok, err = pcall(collectgarbage, opt, 1000)
            if not ok and err:find("not allowed") then refused[#refused + 1] = opt end
          end
          collectgarbage("collect")
          collectgarbage()
          collectgarbage("step")
          assert(collectgarbage("isrunning") == true)
          assert(collectgarbage("count") > 0)
          return { tag = table.concat(refused, ",") }
        end
        "#,
    )
    .unwrap();
    rt.attach("test.counter", "gc", "f").unwrap();
    let mut n = 0;
    assert_eq!(
        counter(&rt, &mut n).unwrap().tag.as_deref(),
        Some("stop,incremental,generational,setpause,setstepmul")
    );
}

#[test]
fn scripts_cannot_change_each_others_world() {
    let rt = Runtime::builder()
        .sandbox(Sandbox::default().allow(ExtraLib::Os))
        .build();
    // The vandal runs first, in the same Lua state as the victim (one state per thread).
    rt.add_script(
        "vandal",
        r#"
        function f(n)
          string.upper = function() return "pwned" end
          string.format = nil
          table.concat = nil
          math.floor = nil
          os.time = function() return 0 end
          log.info = nil
          shared.get = nil
          coroutine.resume = nil
          pcall(function() getmetatable("").__index.upper = nil end)
          pcall(rawset, getmetatable(""), "__index", {})
          pcall(setmetatable, "", {})
          setmetatable(_G, { __index = function() return "leak" end })
          rawset(_G, "pairs", nil)
          return {}
        end
        "#,
    )
    .unwrap();
    rt.add_script(
        "victim",
        r#"
        function f(n)
          assert(string.upper("x") == "X" and ("x"):upper() == "X")
          assert(string.format("%d", 1) == "1" and table.concat({ "a" }) == "a")
          assert(math.floor(1.5) == 1 and os.time() > 0)
          assert(log.info and shared.get and coroutine.resume and pairs)
          assert(undefined_name == nil, "no leak through another script's _G metatable")
          assert(getmetatable("") == false)
          return { tag = ("ok"):upper() }
        end
        "#,
    )
    .unwrap();
    rt.attach("test.counter", "vandal", "f").unwrap();
    rt.attach("test.counter", "victim", "f").unwrap();
    let mut n = 0;
    let r = counter(&rt, &mut n).unwrap();
    assert_eq!(r.tag.as_deref(), Some("OK"));
}

#[test]
fn precompiled_bytecode_is_never_loaded() {
    // A real binary chunk, made by a Lua state outside the sandbox.
    let lua = frrhook::mlua::Lua::new();
    let f: frrhook::mlua::Function = lua
        .load("function f(n) return { n = 99 } end return f")
        .eval()
        .unwrap();
    let bytecode = f.dump(false);
    assert!(bytecode.starts_with(b"\x1bLua"));
    let rt = Runtime::new(".");
    let e = rt.add_script("bin", &bytecode).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Syntax);
    assert!(e.message().contains("binary chunk"), "{e}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bin.lua"), &bytecode).unwrap();
    let mut s = Script::new("bin").with_dir(dir.path());
    assert_eq!(s.load("f").unwrap_err().kind(), ErrorKind::Syntax);
}

#[test]
fn coroutines_work_normally_under_limits() {
    // The resume guard must not change what well-behaved coroutine code does.
    let rt = Runtime::builder().limits(Limits::default()).build();
    rt.add_script(
        "co",
        r#"
        function f(n)
          local gen = coroutine.wrap(function(a)
            for i = 1, 3 do a = a + coroutine.yield(i) end
            return "done", a
          end)
          local x1 = gen(10)
          local x2 = gen(1)
          local x3 = gen(1)
          local d, a = gen(1)
          local co = coroutine.create(function() error("inner") end)
          local ok, err = coroutine.resume(co)
          assert(not ok and err:find("inner") and coroutine.status(co) == "dead")
          assert(coroutine.close(co) == false)
          local ok2, err2 = pcall(coroutine.wrap(function() error({ code = 7 }) end))
          assert(not ok2 and err2.code == 7)
          local ok3, err3 = pcall(coroutine.wrap(function() error("at") end))
          assert(not ok3 and err3:find("at"))
          local h = xpcall(function() error("e") end, function(m) return "handled: " .. m end)
          local _, hm = xpcall(function() error("e") end, function(m) return "handled" end)
          assert(hm == "handled")
          assert(not pcall(xpcall, function() end, 5), "xpcall still checks its handler")
          return { n = x1 + x2 + x3, tag = d, v = a }
        end
        "#,
    )
    .unwrap();
    rt.attach("test.counter", "co", "f").unwrap();
    let mut n = 0;
    let r = counter(&rt, &mut n).unwrap();
    assert_eq!((n, r.tag.as_deref(), r.v), (6, Some("done"), Some(13)));
}

#[test]
fn setmetatable_keeps_its_errors_and_refuses_finalizers() {
    let rt = Runtime::new(".");
    rt.add_script(
        "mt",
        r#"
        function f(n)
          local t = setmetatable({}, { __index = function() return 5 end })
          assert(t.x == 5)
          local ok, err = pcall(setmetatable, {}, { __gc = function() end })
          assert(not ok and err:find("__gc"))
          -- a metatable given __gc afterwards does not mark the table (Lua 5.4 rule)
          local mt = {}
          setmetatable({}, mt)
          mt.__gc = function() while true do end end
          local ok2, err2 = pcall(setmetatable, 1, {})
          assert(not ok2 and err2:find("bad argument #1 to 'setmetatable'"), err2)
          return { v = 1 }
        end
        "#,
    )
    .unwrap();
    rt.attach("test.counter", "mt", "f").unwrap();
    let mut n = 0;
    assert_eq!(counter(&rt, &mut n).unwrap().v, Some(1));
}
