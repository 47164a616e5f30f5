-- prefer_customers.lua: a route-map for the bgp_policy demo's `bgp.route_match` hook.
--   * routes that AS 3356 tags as its customers' (community 3356:123) get local
--     preference 300 (RM_MATCH_AND_CHANGE, with the changed attributes);
--   * routes whose AS path is longer than MAX_HOPS do not match (RM_NOMATCH);
--   * every other route matches unchanged (RM_MATCH).

local CUSTOMER = "3356:123"
local MAX_HOPS = 12

function route_match(prefix, attributes, peer,
                     RM_FAILURE, RM_NOMATCH, RM_MATCH, RM_MATCH_AND_CHANGE)
  local hops = 0
  for _ in attributes.aspath:gmatch("%S+") do
    hops = hops + 1
  end
  if hops > MAX_HOPS then
    return { action = RM_NOMATCH }
  end
  for _, c in ipairs(attributes.community) do
    if c == CUSTOMER then
      attributes.localpref = 300
      return { action = RM_MATCH_AND_CHANGE, attributes = attributes }
    end
  end
  return { action = RM_MATCH }
end
