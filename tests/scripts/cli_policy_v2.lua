-- The candidate: customer routes get local-pref 300, and AS paths longer than 3 hops
-- no longer match.
function route_match(prefix, attributes, peer,
        RM_FAILURE, RM_NOMATCH, RM_MATCH, RM_MATCH_AND_CHANGE)
  local hops = 0
  for _ in string.gmatch(attributes.aspath, "%d+") do
    hops = hops + 1
  end
  if hops > 3 then
    return { action = RM_NOMATCH }
  end
  for _, c in ipairs(attributes.community) do
    if c == "65000:100" then
      attributes.localpref = 300
      return { action = RM_MATCH_AND_CHANGE, attributes = attributes }
    end
  end
  return { action = RM_MATCH }
end
