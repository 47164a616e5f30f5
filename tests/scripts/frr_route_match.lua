-- FRR's documented route_match example (doc/developer/scripting.rst), unchanged except
-- that the parts the published page lost are restored so that it is syntactically whole.
function route_match(prefix, attributes, peer,
        RM_FAILURE, RM_NOMATCH, RM_MATCH, RM_MATCH_AND_CHANGE)

        log.info("Evaluating route " .. prefix.network .. " from peer " .. peer.remote_id.string)

        function on_match (prefix, attributes)
                log.info("Match")
                return {
                        attributes = RM_MATCH
                }
        end

        function on_nomatch (prefix, attributes)
                log.info("No match")
                return {
                        action = RM_NOMATCH
                }
        end

        function on_match_and_change (prefix, attributes)
                log.info("Match and change")
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
