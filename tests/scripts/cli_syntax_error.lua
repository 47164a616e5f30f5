function route_match(prefix, attributes, peer)
  if attributes.metric > 10 then
    return { action = 1 }
  -- the `end` of the `if` is missing
end
