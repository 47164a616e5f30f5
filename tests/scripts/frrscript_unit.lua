-- The functions of FRR's own frrscript unit test (tests/lib/test_frrscript), made
-- into one file.
function foo(a, b)
  a = a + 1
  b = b + 1
  return { a = a, b = b, }
end

function bar(a, b)
  a = a + 1
  b = b + 1
  c = 303
  return { b = b, c = c, }
end

function fact(n)
  -- outer function must return a table
  -- inner functions can be used to recursively call
  function helper(m)
    if m == 0 then
      return 1
    else
      return m * helper(m - 1)
    end
  end

  return { ans = helper(n) }
end

function bad_return1()
end

function bad_return2()
  return 123
end

function bad_return3()
  return {}
end

function bad_return4()
  error("Something bad!")
end

calls = 0
function count()
  calls = calls + 1
  return { calls = calls }
end

function three(x, y, z)
  return { x = x + 1, y = y + 1, z = "not a number" }
end

function logs()
  log.info()
  log.info("two", "args")
  log.warn(1, 2.5, true, nil, {})
  log.trace("t"); log.debug("d"); log.notice("n"); log.error("e")
  return {}
end

function env_probe()
  return {
    os = type(os), io = type(io), debug = type(debug), load = type(load),
    require = type(require), dofile = type(dofile), loadfile = type(loadfile),
    package = type(package), dump = type(string.dump),
    collectgarbage = type(collectgarbage),
    string = type(string), table = type(table), math = type(math), utf8 = type(utf8),
    log = type(log),
  }
end
