-- vrrp.lua: adjusts a VRRP router's priority (`vrrp.priority`), in and out:
-- the priority comes in as an integer and goes back through the returned table.
-- A router that lost its interface, or that accepted too little of the table,
-- should not be master.

local MIN_ACCEPTED_SHARE = 0.5   -- of the routes received
local PENALTY = 50

function adjust_priority(vrid, priority, tracking)
  if not tracking.interface_up then
    return { priority = math.max(1, priority - PENALTY),
             reason = tracking.interface .. " is down" }
  end
  local total = tracking.routes_accepted + tracking.routes_denied
  if total > 0 and tracking.routes_accepted / total < MIN_ACCEPTED_SHARE then
    return { priority = math.max(1, priority - PENALTY),
             reason = string.format("only %d of %d routes accepted",
                                    tracking.routes_accepted, total) }
  end
  if tracking.peers_up > 0 then
    return { priority = math.min(254, priority + 10),
             reason = string.format("%d peers up, %d of %d routes accepted",
                                    tracking.peers_up, tracking.routes_accepted, total) }
  end
  return { reason = "unchanged" }
end
