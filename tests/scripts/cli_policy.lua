-- A route-map for the CLI tests: long AS paths do not match; customer routes
-- (community 65000:100) get local-pref 200; everything else matches unchanged.
function route_match(prefix, attributes, peer,
        RM_FAILURE, RM_NOMATCH, RM_MATCH, RM_MATCH_AND_CHANGE)
  local hops = 0
  for _ in string.gmatch(attributes.aspath, "%d+") do
    hops = hops + 1
  end
  if hops > 5 then
    return { action = RM_NOMATCH }
  end
  for _, c in ipairs(attributes.community) do
    if c == "65000:100" then
      attributes.localpref = 200
      return { action = RM_MATCH_AND_CHANGE, attributes = attributes }
    end
  end
  return { action = RM_MATCH }
end

-- Raises the priority of a VRRP router whose interface is up, by 300 on request
-- (which does not fit a u8: the call fails and nothing changes).
function priority(vrid, priority, interface_up)
  if vrid == 99 then
    return { priority = 300 }
  end
  if interface_up then
    return { priority = priority + 10, reason = "interface up", note = "vrid " .. vrid }
  end
  return { reason = "interface down" }
end

-- Observes installed routes.
function observe(prefix, table_id, status)
  shared.incr("installed")
  return {}
end
