-- Compiles, but reads globals the sandbox does not define.
local started = 0

function route_match(prefix, attributes, peer)
  if os.getenv("DEBUG") then
    log.debug("route " .. prefix.network)
  end
  local n = stirng.len(prefix.network)
  seen = (seen or 0) + 1
  return { action = 2, n = n, started = started }
end
