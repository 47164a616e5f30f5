-- Probes run on the `peer` argument of test.route_match, once through a hook (where
-- `peer` is a lazy table) and once through `Script` (a table built in full): each
-- returns { out = text } and the two texts must be equal.

local function keys(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = tostring(k) end
  table.sort(ks)
  return table.concat(ks, ",")
end

function p_pairs(_, _, peer) return { out = keys(peer) } end
function p_next(_, _, peer) return { out = tostring(next(peer) ~= nil) } end
function p_next_all(_, _, peer)
  local n, k = 0, next(peer)
  while k ~= nil do n = n + 1; k = next(peer, k) end
  return { out = tostring(n) }
end
function p_rawget(_, _, peer) return { out = tostring(rawget(peer, "remote_as")) } end
function p_rawlen(_, _, peer) return { out = rawlen(peer) .. "/" .. #peer } end
function p_getmetatable(_, _, peer) return { out = tostring(getmetatable(peer)) } end
function p_setmetatable(_, _, peer)
  setmetatable(peer, { __index = function() return "default" end })
  return { out = peer.remote_as .. "/" .. peer.nope .. "/" .. tostring(getmetatable(peer) ~= nil) }
end
function p_write_first(_, _, peer)
  peer.remote_as = 1
  return { out = peer.remote_as .. "/" .. peer.local_as }
end
function p_nil_first(_, _, peer)
  peer.local_as = nil
  return { out = tostring(peer.local_as) .. "/" .. peer.remote_as .. "/" .. keys(peer) }
end
function p_new_key_first(_, _, peer)
  peer.extra = "x"
  return { out = keys(peer) }
end
function p_rawset_first(_, _, peer)
  rawset(peer, "remote_as", 2)
  return { out = peer.remote_as .. "/" .. keys(peer) }
end
function p_type(_, _, peer)
  return { out = type(peer) .. "/" .. tostring(tostring(peer):match("^table: ") ~= nil) }
end
function p_nested(_, _, peer)
  return { out = peer.stats.update_in .. "/" .. peer.remote_id.string .. "/" .. peer.state }
end
function p_ipairs(_, _, peer)
  local n = 0
  for _ in ipairs(peer) do n = n + 1 end
  return { out = tostring(n) }
end
function p_as_key(_, _, peer)
  local t = { [peer] = 1 }
  return { out = tostring(t[peer]) .. "/" .. tostring(rawequal(peer, peer)) }
end
function p_concat_error(_, _, peer)
  local ok, e = pcall(function() return peer .. "" end)
  return { out = tostring(ok) .. ":" .. tostring(e):gsub("^[^:]*:%d+: ", "") }
end
function p_call_error(_, _, peer)
  local ok, e = pcall(function() return peer() end)
  return { out = tostring(ok) .. ":" .. tostring(e):gsub("^[^:]*:%d+: ", "") }
end
function p_table_lib(_, _, peer)
  return { out = table.concat(peer, ",") .. "/" .. select("#", table.unpack(peer)) }
end
function p_coroutine(_, _, peer)
  local co = coroutine.wrap(function() return peer.remote_as end)
  return { out = tostring(co()) }
end
-- Fields filled one by one: a mix of filled, assigned, cleared and untouched fields.
function p_partial_then_pairs(_, _, peer)
  local as = peer.remote_as
  peer.local_as = nil
  peer.state = "Idle"
  return { out = as .. "/" .. keys(peer) .. "/" .. peer.state }
end
function p_read_clear_read(_, _, peer)
  local before = peer.state
  peer.state = nil
  return { out = before .. "/" .. tostring(peer.state) .. "/" .. tostring(rawget(peer, "state")) }
end
function p_nested_identity(_, _, peer)
  local s1, s2 = peer.stats, peer.stats
  s1.update_in = 1
  return { out = tostring(rawequal(s1, s2)) .. "/" .. peer.stats.update_in }
end
-- The `next` that `pairs` returns for a plain table, used on the argument.
function p_next_from_pairs(_, _, peer)
  local n = pairs({})
  local count, k = 0, n(peer)
  while k ~= nil do count = count + 1; k = n(peer, k) end
  return { out = count .. "/" .. tostring(n == next) }
end
function p_nil_key(_, _, peer)
  local ok, e = pcall(function() peer[nil] = 1 end)
  local ok2, e2 = pcall(function() peer[0/0] = 1 end)
  return { out = tostring(ok) .. ":" .. tostring(e) .. "/" .. tostring(ok2) .. ":" .. tostring(e2) }
end
