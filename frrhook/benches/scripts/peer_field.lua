-- What reading one field of a lazy `&T` argument costs: `one_field` checks the
-- neighbour's AS, as route-maps commonly do, and reads nothing else; `untouched` is the
-- same call without the read. (The instructions bench's `peer_one_field` and
-- `peer_untouched` variants.)
function one_field(prefix, attributes, peer, RM_FAILURE, RM_NOMATCH, RM_MATCH)
  if peer.remote_as == 0 then
    return { action = RM_NOMATCH }
  end
  return { action = RM_MATCH }
end

function untouched(prefix, attributes, peer, RM_FAILURE, RM_NOMATCH, RM_MATCH)
  return { action = RM_MATCH }
end

-- Makes `peer` whole (every field, in order) and reads nothing else.
function iterates(prefix, attributes, peer, RM_FAILURE, RM_NOMATCH, RM_MATCH)
  for _ in pairs(peer) do end
  return { action = RM_MATCH }
end
