-- dplane.lua: observes installed routes (`zebra.on_rib_process_dplane_results`).
-- Read-only: it keeps counters in the shared store, which the daemon (and every
-- thread's Lua state) can read, and returns an empty table.

function on_rib_process_dplane_results(ctx)
  if ctx.status ~= "SUCCESS" then
    shared.incr("dplane.failed")
    log.warn("install of " .. ctx.prefix.network .. " failed: " .. ctx.status)
    return {}
  end
  shared.incr("dplane.installed")
  if ctx.prefix.length <= 16 then
    shared.incr("dplane.installed_le16")
  end
  return {}
end
