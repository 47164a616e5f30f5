//! The hostile-script suite: scripts that loop, recurse, allocate, raise odd errors,
//! return garbage or try to leave the sandbox. Nothing they do may hurt the host.
//!
//! Every case runs twice, through a hook on a [`Runtime`] and through the [`Script`]
//! API, and each run asserts:
//! - (a) the error kind;
//! - (b) the host thread is fine: the test goes on (a case that hung or aborted would fail
//!   the whole binary);
//! - (c) no argument was modified: every argument is `&mut` and compared with a copy;
//! - (d) the next call of a well-behaved function on the same runtime and thread works
//!   (and, for call-time failures, the failing call fails the same way again: the state
//!   it left behind is sound).
//!
//! Limits are small (200 000 instructions, 200 ms, 16 MiB) so the suite runs in seconds.

use std::time::Duration;

use frrhook::{ErrorKind, Limits, LuaCodec, Runtime, Script, args, hook_point};
use frrhook_tests::{Attributes, Peer, sample_route};
use ipnet::IpNet;

/// The hostile hook: every argument but the peer is written back, and results of several
/// types are declared.
#[hook_point(
    name = "hostile.call",
    results(
        action: Option<Verdict>,
        count: Option<i64>,
        ratio: Option<f64>,
        label: Option<String>,
        next_hop: Option<IpNet>,
        tags: Option<Vec<String>>,
    ),
    consts(RM_NOMATCH = 1, RM_MATCH = 2)
)]
fn hostile(
    prefix: &mut IpNet,
    attributes: &mut Attributes,
    n: &mut i64,
    name: &mut String,
    peer: &Peer,
);

/// A well-behaved hook, called after every hostile call on the same runtime and thread.
#[hook_point(name = "hostile.good", results(seen: Option<i64>))]
fn good(n: &mut i64);

/// A route-map verdict, as integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, LuaCodec)]
#[lua(repr = "integer")]
enum Verdict {
    NoMatch = 1,
    Match = 2,
}

/// The well-behaved script. Its global counter shows that the state persisted (or was
/// rebuilt, after a memory error that left the state full).
const GOOD: &str = r#"
calls = 0
function good(n)
  calls = calls + 1
  return { n = n + 1, seen = calls }
end
"#;

fn small_limits() -> Limits {
    Limits::none()
        .instructions(200_000)
        .deadline(Duration::from_millis(200))
        .memory(16 << 20)
}

/// For cases that must run out of memory before they run out of instructions.
fn memory_limits() -> Limits {
    small_limits()
        .instructions(50_000_000)
        .deadline(Duration::from_secs(20))
}

/// Where the case fails.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// Loading the file fails (`attach`, `Script::load`).
    Load,
    /// The call fails.
    Call,
    /// A declared result is bad: the hook call fails; with the Script API the call
    /// succeeds (results are read on demand) and `get_result` of the key fails.
    Result(&'static str),
}

struct Case {
    name: &'static str,
    source: Src,
    kind: ErrorKind,
    phase: Phase,
    limits: fn() -> Limits,
    /// Text the error must contain (when not empty).
    says: &'static str,
}

enum Src {
    Text(&'static str),
    Bytes(fn() -> Vec<u8>),
}

impl Src {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Src::Text(s) => s.as_bytes().to_vec(),
            Src::Bytes(f) => f(),
        }
    }
}

const fn call(name: &'static str, source: &'static str, kind: ErrorKind) -> Case {
    Case {
        name,
        source: Src::Text(source),
        kind,
        phase: Phase::Call,
        limits: small_limits,
        says: "",
    }
}

const fn load(name: &'static str, source: &'static str, kind: ErrorKind) -> Case {
    Case {
        name,
        source: Src::Text(source),
        kind,
        phase: Phase::Load,
        limits: small_limits,
        says: "",
    }
}

const fn result(name: &'static str, key: &'static str, source: &'static str) -> Case {
    Case {
        name,
        source: Src::Text(source),
        kind: ErrorKind::Decode,
        phase: Phase::Result(key),
        limits: small_limits,
        says: "",
    }
}

const fn with_limits(mut c: Case, limits: fn() -> Limits) -> Case {
    c.limits = limits;
    c
}

const fn says(mut c: Case, text: &'static str) -> Case {
    c.says = text;
    c
}

use ErrorKind::{
    Deadline, Decode, InstructionLimit, Memory, MissingFunction, NotATable, Runtime as Rt, Syntax,
};

fn cases() -> Vec<Case> {
    vec![
        // ---- limits ------------------------------------------------------------------
        says(
            call(
                "while_true",
                "function f() while true do end end",
                InstructionLimit,
            ),
            "budget of 200000 instructions",
        ),
        call(
            "while_true_in_pcall",
            "function f() while true do pcall(function() while true do end end) end end",
            InstructionLimit,
        ),
        call(
            "pcall_catches_the_stop_and_returns",
            r#"function f(prefix, attributes, n)
                 for i = 1, 10 do pcall(function() while true do end end) end
                 return { n = 42 }
               end"#,
            InstructionLimit,
        ),
        call(
            "error_swallowed_by_xpcall_handler_that_loops",
            r#"function f()
                 while true do
                   xpcall(function() while true do end end, function() while true do end end)
                 end
               end"#,
            InstructionLimit,
        ),
        call(
            "xpcall_handler_loops_on_the_first_stop",
            "function f() xpcall(function() while true do end end, function() while true do end end) end",
            InstructionLimit,
        ),
        call(
            "close_handler_in_the_hook_function_loops",
            r#"function f()
                 local x <close> = setmetatable({}, { __close = function() while true do end end })
                 while true do end
               end"#,
            InstructionLimit,
        ),
        call(
            "close_handler_of_a_stopped_coroutine_loops",
            // Closing a coroutine that a limit killed would run its `__close` handler
            // with Lua's hooks off: the guard refuses (the second call tries).
            r#"function f()
                 if killed then pcall(coroutine.close, killed) end
                 killed = coroutine.create(function()
                   local x <close> = setmetatable({}, { __close = function() while true do end end })
                   while true do end
                 end)
                 coroutine.resume(killed)
                 return {}
               end"#,
            InstructionLimit,
        ),
        call(
            "wrapped_coroutine_with_a_looping_close_handler",
            r#"function f()
                 coroutine.wrap(function()
                   local x <close> = setmetatable({}, { __close = function() while true do end end })
                   while true do end
                 end)()
               end"#,
            InstructionLimit,
        ),
        says(
            call(
                "repeat_until_false_in_a_coroutine",
                r#"function f(prefix, attributes, n)
                     local co = coroutine.create(function() repeat until false end)
                     local ok = coroutine.resume(co)
                     -- the stop was caught by resume; returning normally does not help
                     return { n = 7 }
                   end"#,
                InstructionLimit,
            ),
            "budget of 200000 instructions",
        ),
        says(
            call(
                "stop_caught_by_resume_in_a_tail_call",
                // After the stop the main thread runs no instruction: it returns what
                // resume returned. The call is failed all the same.
                r#"function f()
                     local co = coroutine.create(function() while true do end end)
                     return coroutine.resume(co)
                   end"#,
                InstructionLimit,
            ),
            "caught the stop and returned anyway",
        ),
        call(
            "coroutine_wrap_in_pcall_loop",
            r#"function f()
                 while true do pcall(coroutine.wrap(function() while true do end end)) end
               end"#,
            InstructionLimit,
        ),
        call(
            "nested_pcall_in_coroutines_resumed_in_loops",
            // Each stopped coroutine is replaced by fresh ones, nested: without the
            // resume guard this is a tree of work exponential in the nesting depth.
            r#"local function spawn(depth)
                 while true do
                   if depth < 150 then
                     local co = coroutine.create(function() spawn(depth + 1) end)
                     pcall(coroutine.resume, co)
                     pcall(coroutine.resume, co)
                   end
                   pcall(function() end)
                 end
               end
               function f() spawn(0) end"#,
            InstructionLimit,
        ),
        call(
            "yield_resume_ping_pong_forever",
            r#"function f()
                 local co = coroutine.wrap(function() while true do coroutine.yield() end end)
                 while true do co() end
               end"#,
            InstructionLimit,
        ),
        with_limits(
            call(
                "deadline_while_true",
                "function f() while true do end end",
                Deadline,
            ),
            || small_limits().no_instruction_limit(),
        ),
        with_limits(
            call(
                "infinite_recursion_lua_stack_overflow",
                "local function r(x) return 1 + r(x) end\nfunction f() return r(1) end",
                Rt,
            ),
            || {
                small_limits()
                    .instructions(50_000_000)
                    .memory(256 << 20)
                    .deadline(Duration::from_secs(20))
            },
        ),
        says(
            call(
                "infinite_recursion_c_stack_overflow",
                r#"local function r() return (("x"):gsub("x", r)) end
                   function f() r() end"#,
                Rt,
            ),
            "stack overflow",
        ),
        // Lua 5.4 refuses strings over 2^31 bytes itself ("resulting string too large").
        says(
            call(
                "string_rep_2_pow_40",
                "function f() return { label = string.rep('x', 2^40) } end",
                Rt,
            ),
            "resulting string too large",
        ),
        call(
            "string_rep_2_pow_30_hits_the_memory_cap",
            "function f() return { label = string.rep('x', 2^30) } end",
            Memory,
        ),
        call(
            "string_rep_with_separator_past_the_cap",
            "function f() local s = ('xy'):rep(2^29, ',') end",
            Memory,
        ),
        call(
            "string_doubling",
            "function f() local s = 'x' while true do s = s .. s end end",
            Memory,
        ),
        call(
            "deep_recursion_of_string_rep",
            r#"local function build(n) return string.rep("ab", 4096) .. build(n + 1) end
               function f() return { label = build(1) } end"#,
            Memory,
        ),
        call(
            "deep_recursion_of_table_concat",
            r#"local function build(n)
                 local t = {}
                 for i = 1, 16 do t[i] = string.rep("y", 16384) end
                 return table.concat(t) .. build(n + 1)
               end
               function f() return { label = build(1) } end"#,
            Memory,
        ),
        call(
            "table_concat_of_a_huge_table",
            r#"function f()
                 local t = {}
                 for i = 1, 40 do t[i] = string.rep("q", 1 << 20) end
                 return { label = table.concat(t) }
               end"#,
            Memory,
        ),
        with_limits(
            call(
                "table_grown_without_bound_local",
                "function f() local t, i = {}, 0 while true do i = i + 1 t[i] = {} end end",
                Memory,
            ),
            memory_limits,
        ),
        with_limits(
            call(
                "table_grown_without_bound_global_keeps_the_memory",
                // The memory stays referenced after the error: the state is replaced.
                "big = {}\nfunction f() while true do big[#big + 1] = string.rep('g', 4096) .. #big end end",
                Memory,
            ),
            memory_limits,
        ),
        says(
            call(
                "gc_finalizer_refused",
                "function f() setmetatable({}, { __gc = function() while true do end end }) end",
                Rt,
            ),
            "__gc finalizers are not allowed",
        ),
        // ---- errors ------------------------------------------------------------------
        says(
            call("error_with_a_string", "function f() error('boom') end", Rt),
            "case.lua:1 in f: runtime error: boom",
        ),
        call(
            "error_with_a_table",
            "function f() error({ code = 1 }) end",
            Rt,
        ),
        call("error_with_nil", "function f() error(nil) end", Rt),
        call(
            "error_with_a_table_whose_tostring_loops",
            "function f() error(setmetatable({}, { __tostring = function() while true do end end })) end",
            InstructionLimit,
        ),
        call(
            "error_with_a_table_whose_tostring_is_not_a_string",
            "function f() error(setmetatable({}, { __tostring = function() return {} end })) end",
            Rt,
        ),
        says(
            call(
                "yield_from_the_hook_function",
                "function f() coroutine.yield({ n = 1 }) end",
                Rt,
            ),
            "attempt to yield from outside a coroutine",
        ),
        call(
            "string_format_bad_conversion",
            "function f() return { label = string.format('%099999999d', 1) } end",
            Rt,
        ),
        // ---- returns -----------------------------------------------------------------
        call("returns_nil", "function f() return nil end", NotATable),
        call("returns_nothing", "function f() end", NotATable),
        call("returns_a_number", "function f() return 42 end", NotATable),
        call("returns_a_function", "function f() return f end", NotATable),
        call(
            "returns_a_coroutine",
            "function f() return coroutine.create(f) end",
            NotATable,
        ),
        call(
            "returns_two_tables",
            "function f() return {}, {} end",
            NotATable,
        ),
        call(
            "returns_a_table_with_a_cyclic_value",
            // (A struct write-back is partial, as FRR's lua_decode_*: absent fields stay.)
            "function f() local t = { n = 5 } t.attributes = t t.metric = t return t end",
            Decode,
        ),
        call(
            "returns_cyclic_attributes",
            r#"function f(prefix, attributes)
                 attributes.community = { attributes }
                 return { attributes = attributes }
               end"#,
            Decode,
        ),
        call(
            "writes_back_a_string_into_a_struct",
            "function f() return { n = 5, attributes = 'x' } end",
            Decode,
        ),
        call(
            "writes_back_a_table_into_an_integer",
            "function f() return { name = 'changed', n = {} } end",
            Decode,
        ),
        call(
            "writes_back_false_into_a_string",
            "function f() return { n = 5, name = false } end",
            Decode,
        ),
        call(
            "writes_back_a_number_into_a_prefix",
            "function f() return { n = 5, prefix = 24 } end",
            Decode,
        ),
        call(
            "writes_back_a_bad_field",
            r#"function f(prefix, attributes)
                 attributes.metric = "high"
                 return { n = 5, attributes = attributes }
               end"#,
            Decode,
        ),
        call(
            "last_of_four_write_backs_fails",
            r#"function f(prefix, attributes, n, name)
                 attributes.metric = 1
                 return { prefix = "10.9.0.0/16", attributes = attributes, n = n + 1, name = {} }
               end"#,
            Decode,
        ),
        call(
            "nan_into_an_integer",
            "function f() return { n = 0/0 } end",
            Decode,
        ),
        call(
            "inf_into_an_integer",
            "function f() return { n = math.huge } end",
            Decode,
        ),
        call(
            "minus_inf_into_an_integer_field",
            r#"function f(prefix, attributes)
                 attributes.localpref = -math.huge
                 return { attributes = attributes }
               end"#,
            Decode,
        ),
        call(
            "two_pow_63_into_i64",
            "function f() return { n = 2^63 } end",
            Decode,
        ),
        // -2^63-1 is not representable: in Lua's float arithmetic it rounds to -2^63,
        // which is i64::MIN and fits. The first float below it does not.
        call(
            "below_minus_two_pow_63_into_i64",
            "function f() return { n = -2^63 - 2048 } end",
            Decode,
        ),
        call(
            "invalid_utf8_into_a_string",
            r#"function f() return { n = 1, name = "abc\xff\xfe" } end"#,
            Decode,
        ),
        call(
            "a_prefix_string_that_is_not_a_prefix",
            "function f() return { prefix = 'not a prefix' } end",
            Decode,
        ),
        call(
            "prefix_length_33_for_ipv4",
            "function f() return { prefix = '10.0.0.0/33' } end",
            Decode,
        ),
        call(
            "prefix_table_length_33_for_ipv4",
            "function f() return { prefix = { network = '10.0.0.0/33', length = 33, family = 2 } } end",
            Decode,
        ),
        // Wrong types for every declared result (with valid write-backs beside them,
        // which the failed call must undo).
        result(
            "result_action_string",
            "action",
            "function f(p, a, n) return { n = n + 1, name = 'x', action = 'match' } end",
        ),
        result(
            "result_action_unknown_code",
            "action",
            "function f(p, a, n) return { n = n + 1, action = 9 } end",
        ),
        result(
            "result_count_string",
            "count",
            "function f(p, a, n) return { n = n + 1, count = '1' } end",
        ),
        result(
            "result_count_nan",
            "count",
            "function f(p, a, n) return { n = n + 1, count = 0/0 } end",
        ),
        result(
            "result_count_two_pow_63",
            "count",
            "function f(p, a, n) return { n = n + 1, count = 2^63 } end",
        ),
        result(
            "result_ratio_table",
            "ratio",
            "function f(p, a, n) return { n = n + 1, ratio = {} } end",
        ),
        result(
            "result_label_number",
            "label",
            "function f(p, a, n) return { n = n + 1, label = 5 } end",
        ),
        result(
            "result_label_invalid_utf8",
            "label",
            r#"function f(p, a, n) return { n = n + 1, label = "\xc3\x28" } end"#,
        ),
        result(
            "result_next_hop_boolean",
            "next_hop",
            "function f(p, a, n) return { n = n + 1, next_hop = true } end",
        ),
        result(
            "result_next_hop_length_33",
            "next_hop",
            "function f(p, a, n) return { n = n + 1, next_hop = '192.0.2.0/33' } end",
        ),
        result(
            "result_tags_numbers",
            "tags",
            "function f(p, a, n) return { n = n + 1, tags = { 1, 2 } } end",
        ),
        result(
            "result_tags_cyclic",
            "tags",
            "function f(p, a, n) local t = {} t[1] = t return { n = n + 1, tags = t } end",
        ),
        result(
            "result_tags_huge_sparse",
            "tags",
            "function f(p, a, n) return { n = n + 1, tags = { [2^40] = 'x' } } end",
        ),
        // ---- sandbox escapes ---------------------------------------------------------
        says(
            call("load", "function f() return load('return {}')() end", Rt),
            "global 'load'",
        ),
        says(
            call(
                "loadstring",
                "function f() return loadstring('return {}')() end",
                Rt,
            ),
            "global 'loadstring'",
        ),
        says(
            call(
                "dofile",
                "function f() return dofile('/etc/passwd') end",
                Rt,
            ),
            "global 'dofile'",
        ),
        says(
            call(
                "loadfile",
                "function f() return loadfile('/etc/passwd')() end",
                Rt,
            ),
            "global 'loadfile'",
        ),
        says(
            call("require", "function f() return require('os') end", Rt),
            "global 'require'",
        ),
        says(
            call(
                "string_dump",
                "function f() return { label = string.dump(f) } end",
                Rt,
            ),
            "field 'dump'",
        ),
        says(
            call(
                "string_dump_through_the_string_metatable",
                "function f() return { label = (''):dump(f) } end",
                Rt,
            ),
            "method 'dump'",
        ),
        says(
            call("debug", "function f() debug.sethook() end", Rt),
            "global 'debug'",
        ),
        says(
            call("os_exit", "function f() os.exit(1) end", Rt),
            "global 'os'",
        ),
        says(
            call("os_execute", "function f() os.execute('true') end", Rt),
            "global 'os'",
        ),
        says(
            call("io_open", "function f() io.open('/etc/passwd') end", Rt),
            "global 'io'",
        ),
        says(
            call(
                "package_loadlib",
                "function f() package.loadlib('libc.so.6', 'exit') end",
                Rt,
            ),
            "global 'package'",
        ),
        says(
            call(
                "collectgarbage_stop",
                "function f() collectgarbage('stop') end",
                Rt,
            ),
            "global 'collectgarbage'",
        ),
        says(
            call(
                "string_metatable_write",
                "function f() getmetatable('').__index = {} end",
                Rt,
            ),
            "index a boolean",
        ),
        says(
            call(
                "string_metatable_setmetatable",
                "function f() setmetatable('', {}) end",
                Rt,
            ),
            "case.lua:1 in f: runtime error: bad argument #1 to 'setmetatable' (table expected, got string)",
        ),
        says(
            call(
                "string_metatable_rawset",
                "function f() rawset(getmetatable(''), '__index', {}) end",
                Rt,
            ),
            "table expected, got boolean",
        ),
        call(
            "setmetatable_on_G_index_loops",
            "function f() setmetatable(_G, { __index = function() while true do end end }) return undefined_name end",
            InstructionLimit,
        ),
        call(
            "setmetatable_on_G_newindex_raises",
            "function f() setmetatable(_G, { __newindex = function() error('no globals') end }) x = 1 end",
            Rt,
        ),
        says(
            call(
                "setmetatable_on_G_locked_then_changed",
                "function f() setmetatable(_G, { __metatable = 'locked' }) setmetatable(_G, {}) end",
                Rt,
            ),
            "case.lua:1 in f: runtime error: cannot change a protected metatable",
        ),
        says(
            call(
                "setmetatable_on_G_with_gc",
                "function f() setmetatable(_G, { __gc = true }) end",
                Rt,
            ),
            "__gc finalizers are not allowed",
        ),
        call(
            "setmetatable_on_log_then_call_missing",
            "function f() setmetatable(log, { __index = function() while true do end end }) log.nope() end",
            InstructionLimit,
        ),
        says(
            call(
                "setmetatable_on_shared_with_gc",
                "function f() setmetatable(shared, { __gc = function() end }) end",
                Rt,
            ),
            "__gc finalizers are not allowed",
        ),
        says(
            call(
                "clear_the_environment_then_use_it",
                "function f() local G = _G for k in pairs(G) do G[k] = nil end return string.format('x') end",
                Rt,
            ),
            "a nil value (global '",
        ),
        says(
            call(
                "shared_store_flooded_with_big_strings",
                "function f() for i = 1, 1e6 do shared.set(i, string.rep('x', 1e6)) end end",
                Rt,
            ),
            "shared strings are at most 4096 bytes",
        ),
        with_limits(
            says(
                call(
                    "shared_store_flooded_with_keys",
                    "function f() for i = 1, 1e6 do shared.set('k' .. i, i) end end",
                    Rt,
                ),
                "the shared store is full",
            ),
            memory_limits,
        ),
        // ---- files -------------------------------------------------------------------
        load(
            "top_level_error",
            "function f() return {} end\nerror('top level fails')",
            Rt,
        ),
        load(
            "top_level_while_true",
            "function f() return {} end\nwhile true do end",
            InstructionLimit,
        ),
        with_limits(
            load(
                "top_level_grows_memory",
                "function f() return {} end\nlocal t = {} while true do t[#t + 1] = {} end",
                Memory,
            ),
            memory_limits,
        ),
        load(
            "top_level_yields",
            "function f() return {} end\ncoroutine.yield()",
            Rt,
        ),
        load("syntax_error", "function f() return { end", Syntax),
        Case {
            name: "precompiled_bytecode",
            source: Src::Bytes(|| {
                // A real Lua 5.4 binary chunk header followed by junk.
                let mut b = b"\x1bLua\x54\x00\x19\x93\r\n\x1a\n\x04\x08\x08".to_vec();
                b.extend_from_slice(&[0x78, 0x56, 0, 0, 0, 0, 0, 0]);
                b.extend_from_slice(&[0; 64]);
                b
            }),
            kind: Syntax,
            phase: Phase::Load,
            limits: small_limits,
            says: "binary chunk",
        },
        Case {
            name: "binary_garbage",
            source: Src::Bytes(|| {
                let mut x: u32 = 0x9e37_79b9;
                (0..4096)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 17;
                        x ^= x << 5;
                        (x >> 24) as u8
                    })
                    .collect()
            }),
            kind: Syntax,
            phase: Phase::Load,
            limits: small_limits,
            says: "",
        },
        load("empty_file", "", MissingFunction),
        load("f_is_not_a_function", "f = 5", MissingFunction),
        Case {
            name: "ten_megabyte_table_literal",
            source: Src::Bytes(|| {
                let mut s = b"function f() return {} end\ndata = {".to_vec();
                while s.len() < 10 << 20 {
                    s.extend_from_slice(b"1234567,");
                }
                s.extend_from_slice(b"}\n");
                s
            }),
            kind: Memory,
            phase: Phase::Load,
            limits: small_limits,
            says: "",
        },
    ]
}

fn sample() -> (IpNet, Attributes, i64, String, Peer) {
    let (p, a, peer) = sample_route();
    (p, a, 10, "original".to_string(), peer)
}

/// Runs `case` through a hook on a runtime; panics (failing the test) on any violation.
fn through_hooks(case: &Case) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("case.lua"), case.source.bytes()).unwrap();
    std::fs::write(dir.path().join("good.lua"), GOOD).unwrap();
    let rt = Runtime::builder()
        .script_dir(dir.path())
        .limits((case.limits)())
        .build();
    rt.attach("hostile.good", "good", "good").unwrap();
    if case.phase != Phase::Load {
        // Attached before the first good call: attaching rebuilds the thread's state.
        rt.attach("hostile.call", "case", "f")
            .unwrap_or_else(|e| panic!("{}: attach: {e:?}", case.name));
    }
    let mut g = 1;
    assert_eq!(good(&rt, &mut g).unwrap().seen, Some(1), "{}", case.name);
    let calls_before = 1;

    let (mut p, mut a, mut n, mut s, peer) = sample();
    let before = sample();
    let check_args = |p: &IpNet, a: &Attributes, n: i64, s: &String, peer: &Peer, when: &str| {
        assert_eq!(
            (p, a, n, s, peer),
            (&before.0, &before.1, before.2, &before.3, &before.4),
            "{}: an argument was modified ({when})",
            case.name
        );
    };
    match case.phase {
        Phase::Load => {
            let e = rt.attach("hostile.call", "case", "f").unwrap_err();
            if std::env::var("HOSTILE_SHOW").is_ok() {
                eprintln!("{}: {e}", case.name);
            }
            assert_eq!(e.kind(), case.kind, "{}: attach: {e:?}", case.name);
            assert!(e.to_string().contains(case.says), "{}: {e}", case.name);
            assert!(rt.attachments().iter().all(|x| x.hook != "hostile.call"));
            // The hook is not attached: calling it is a no-op.
            let r = hostile(&rt, &mut p, &mut a, &mut n, &mut s, &peer).unwrap();
            assert_eq!(r.action, None);
            check_args(&p, &a, n, &s, &peer, "after a failed attach");
        }
        Phase::Call | Phase::Result(_) => {
            for round in ["first call", "second call"] {
                let e = hostile(&rt, &mut p, &mut a, &mut n, &mut s, &peer).unwrap_err();
                if std::env::var("HOSTILE_SHOW").is_ok() && round == "first call" {
                    eprintln!("{}: {e}", case.name);
                }
                assert_eq!(e.kind(), case.kind, "{} ({round}): {e:?}", case.name);
                assert!(e.to_string().contains(case.says), "{}: {e}", case.name);
                assert_eq!(e.hook(), Some("hostile.call"));
                assert_eq!(e.script(), Some("case"), "{}: {e:?}", case.name);
                check_args(&p, &a, n, &s, &peer, round);
            }
        }
    }

    // (d) the well-behaved function on the same runtime and thread.
    let mut g = 1;
    let r = good(&rt, &mut g).unwrap_or_else(|e| panic!("{}: good call: {e:?}", case.name));
    assert_eq!(g, 2, "{}", case.name);
    let seen = r.seen.unwrap();
    if case.name.contains("global_keeps_the_memory") {
        // The state was full; it was replaced, so the good script started again.
        assert_eq!(seen, 1, "{}", case.name);
    } else {
        assert_eq!(seen, calls_before + 1, "{}: the state was kept", case.name);
    }
    let stats = rt.hook_stats("hostile.good").unwrap();
    assert_eq!(stats.stats.error_count(), 0);
    if let Phase::Call | Phase::Result(_) = case.phase {
        let stats = rt.hook_stats("hostile.call").unwrap();
        assert_eq!(stats.stats.calls, 2);
        assert_eq!(stats.stats.errors_of(case.kind), 2, "{}", case.name);
    }
}

/// Runs `case` through the Script API.
fn through_script(case: &Case) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("case.lua"), case.source.bytes()).unwrap();
    std::fs::write(dir.path().join("good.lua"), GOOD).unwrap();
    let limits = (case.limits)();
    let mut script = Script::new("case").with_dir(dir.path()).with_limits(limits);
    let mut good_script = Script::new("good").with_dir(dir.path()).with_limits(limits);
    good_script.load("good").unwrap();

    let (mut p, mut a, mut n, mut s, mut peer) = sample();
    let before = sample();
    match case.phase {
        Phase::Load => {
            let e = script.load("f").unwrap_err();
            assert_eq!(e.kind(), case.kind, "{} (script): load: {e:?}", case.name);
            assert!(e.to_string().contains(case.says), "{}: {e}", case.name);
            assert!(!script.is_loaded("f"));
            let e = script.call("f", args!(n = &mut n)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::MissingFunction);
        }
        Phase::Call => {
            script
                .load("f")
                .unwrap_or_else(|e| panic!("{} (script): load: {e:?}", case.name));
            for round in ["first call", "second call"] {
                let e = script
                    .call(
                        "f",
                        args!(
                            prefix = &mut p,
                            attributes = &mut a,
                            n = &mut n,
                            name = &mut s,
                            peer = &mut peer,
                            RM_NOMATCH = 1i64,
                            RM_MATCH = 2i64
                        ),
                    )
                    .unwrap_err();
                assert_eq!(
                    e.kind(),
                    case.kind,
                    "{} (script, {round}): {e:?}",
                    case.name
                );
                assert!(e.to_string().contains(case.says), "{}: {e}", case.name);
                assert_eq!(script.get_result::<i64>("f", "n").unwrap(), None);
            }
        }
        Phase::Result(key) => {
            // The Script API reads results on demand: the call succeeds and writes back
            // what it may; reading the bad key fails.
            script.load("f").unwrap();
            let mut n2 = n;
            script
                .call(
                    "f",
                    args!(prefix = &p, attributes = &a, n = &mut n2, name = &s),
                )
                .unwrap_or_else(|e| panic!("{} (script): {e:?}", case.name));
            assert_eq!(n2, n + 1);
            let e = match key {
                "action" => script.get_result::<Verdict>("f", key).map(|_| ()),
                "count" => script.get_result::<i64>("f", key).map(|_| ()),
                "ratio" => script.get_result::<f64>("f", key).map(|_| ()),
                "label" => script.get_result::<String>("f", key).map(|_| ()),
                "next_hop" => script.get_result::<IpNet>("f", key).map(|_| ()),
                "tags" => script.get_result::<Vec<String>>("f", key).map(|_| ()),
                other => panic!("unknown result key {other}"),
            }
            .unwrap_err();
            assert_eq!(e.kind(), case.kind, "{} (script): {e:?}", case.name);
        }
    }
    assert_eq!(
        (&p, &a, n, &s, &peer),
        (&before.0, &before.1, before.2, &before.3, &before.4),
        "{} (script): an argument was modified",
        case.name
    );
    // (d) well-behaved calls on the same thread.
    let mut g = 1;
    good_script.call("good", args!(n = &mut g)).unwrap();
    assert_eq!(g, 2);
    if case.phase == Phase::Call {
        // A well-behaved function of the same file (when it loads), in a new Script.
        let mut again = Script::new("case").with_dir(dir.path()).with_limits(limits);
        again.load("f").unwrap();
    }
}

#[test]
fn hostile_cases_are_contained() {
    let cases = cases();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let mut names: Vec<_> = cases.iter().map(|c| c.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), cases.len(), "case names are unique");
    let only = std::env::var("HOSTILE_CASE").ok();
    for case in &cases {
        if only.as_deref().is_some_and(|o| o != case.name) {
            continue;
        }
        let start = std::time::Instant::now();
        through_hooks(case);
        through_script(case);
        let took = start.elapsed();
        // Generous: only to find a case that is not contained at all.
        assert!(
            took < Duration::from_secs(60),
            "{}: took {took:?}",
            case.name
        );
        eprintln!("contained: {} ({took:?})", case.name);
    }
}

/// The same cases on a second thread of the same runtime: a hostile call on one thread
/// leaves the other thread's state (and its globals) alone.
#[test]
fn a_hostile_call_on_one_thread_leaves_other_threads_alone() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("good.lua"), GOOD).unwrap();
    std::fs::write(
        dir.path().join("hog.lua"),
        "big = {}\nfunction f() while true do big[#big + 1] = string.rep('g', 4096) .. #big end end",
    )
    .unwrap();
    let rt = Runtime::builder()
        .script_dir(dir.path())
        .limits(memory_limits())
        .build();
    rt.attach("hostile.good", "good", "good").unwrap();
    rt.attach("hostile.call", "hog", "f").unwrap();
    let mut g = 0;
    assert_eq!(good(&rt, &mut g).unwrap().seen, Some(1));
    std::thread::scope(|s| {
        s.spawn(|| {
            let (mut p, mut a, mut n, mut name, peer) = sample();
            for _ in 0..3 {
                let e = hostile(&rt, &mut p, &mut a, &mut n, &mut name, &peer).unwrap_err();
                assert_eq!(e.kind(), Memory);
            }
        })
        .join()
        .unwrap();
    });
    // This thread's state was not touched: its globals are where they were.
    assert_eq!(good(&rt, &mut g).unwrap().seen, Some(2));
}
