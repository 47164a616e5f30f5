-- FRR's documented route_match example (doc/developer/scripting.rst), as in
-- tests/scripts/frr_route_match.lua, with each `log.info(x)` turned into `local _ = (x)`:
-- the strings are still built from `prefix.network` and `peer.remote_id.string`, so the
-- script reads what FRR's does, but nothing is logged (logging is not what the
-- `route_match_frr_example` bench group measures, and the hand-written baseline has no
-- `log`). It reads all three arguments: `peer` is filled in full.
function route_match(prefix, attributes, peer,
        RM_FAILURE, RM_NOMATCH, RM_MATCH, RM_MATCH_AND_CHANGE)

        local _ = ("Evaluating route " .. prefix.network .. " from peer " .. peer.remote_id.string)

        function on_match (prefix, attributes)
                local _ = ("Match")
                return {
                        attributes = RM_MATCH
                }
        end

        function on_nomatch (prefix, attributes)
                local _ = ("No match")
                return {
                        action = RM_NOMATCH
                }
        end

        function on_match_and_change (prefix, attributes)
                local _ = ("Match and change")
                attributes["metric"] = attributes["metric"] + 7
                return {
                        action = RM_MATCH_AND_CHANGE,
                        attributes = attributes
                }
        end

        special_routes = {
                ["172.16.10.4/24"] = on_match,
                ["172.16.13.1/8"] = on_nomatch,
                ["192.168.0.24/8"] = on_match_and_change,
        }


        if special_routes[prefix.network] then
                return special_routes[prefix.network](prefix, attributes)
        elseif peer.stats.update_in % 3 == 0 then
                return on_match(prefix, attributes)
        elseif peer.stats.update_in % 2 == 0 then
                return on_nomatch(prefix, attributes)
        else
                return on_match_and_change(prefix, attributes)
        end
end
