-- A first draft of prefer_customers.lua, with two mistakes `check` finds.

local CUSTOMER = "3356:123"

function route_match(prefix, attributes, peer,
                     RM_FAILURE, RM_NOMATCH, RM_MATCH, RM_MATCH_AND_CHANGE)
  log.debug("route_match at " .. os.date())
  for _, c in ipars(attributes.community) do
    if c == CUSTOMER then
      attributes.localpref = 300
      return { action = RM_MATCH_AND_CHANGE, attributes = attributes }
    end
  end
  return { action = RM_MATCH }
end
