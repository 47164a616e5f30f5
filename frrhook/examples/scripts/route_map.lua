-- route_map.lua: an inbound route-map for the bgp_policy demo, attached to
-- `bgp.route_match` (FRR's `match script` contract; this file runs in FRR unchanged
-- if FRR's attribute table carries the same keys).
--
-- route_match(prefix, attributes, peer, RM_FAILURE, RM_NOMATCH, RM_MATCH,
--             RM_MATCH_AND_CHANGE) returns {action = RM_..., attributes = ...}:
--   * bogons are denied (RM_NOMATCH): martian and documentation prefixes, the
--     default route, prefixes longer than /24 (IPv4) or /48 (IPv6), and paths
--     through private or reserved AS numbers;
--   * routes tagged with a preferred community get a higher local preference;
--   * routes with long AS paths get a MED that grows with the path length;
--   * everything else matches unchanged (RM_MATCH).

-- Communities that raise the local preference (customer routes of two transits).
local PREFER = {
  ["3356:123"] = 200,   -- Level 3: customer route
  ["2914:410"] = 150,   -- NTT: customer route
}

-- AS paths at least this long get MED = MED_PER_HOP * length.
local LONG_PATH = 8
local MED_PER_HOP = 10

-- IPv4 bogons (RFC 6890 and friends), keyed by first octet so that each route checks
-- only its own: {second octet from, to, third octet from, to, length}.
local BOGONS_V4 = {}
local function bogon(a, b_lo, b_hi, c_lo, c_hi, len)
  BOGONS_V4[a] = BOGONS_V4[a] or {}
  table.insert(BOGONS_V4[a], { b_lo, b_hi, c_lo, c_hi, len })
end
bogon(0, 0, 255, 0, 255, 8)         -- 0.0.0.0/8 "this network"
bogon(10, 0, 255, 0, 255, 8)        -- 10.0.0.0/8 private
bogon(100, 64, 127, 0, 255, 10)     -- 100.64.0.0/10 shared address space
bogon(127, 0, 255, 0, 255, 8)       -- 127.0.0.0/8 loopback
bogon(169, 254, 254, 0, 255, 16)    -- 169.254.0.0/16 link local
bogon(172, 16, 31, 0, 255, 12)      -- 172.16.0.0/12 private
bogon(192, 0, 0, 0, 0, 24)          -- 192.0.0.0/24 IETF protocol assignments
bogon(192, 0, 0, 2, 2, 24)          -- 192.0.2.0/24 documentation
bogon(192, 168, 168, 0, 255, 16)    -- 192.168.0.0/16 private
bogon(198, 18, 19, 0, 255, 15)      -- 198.18.0.0/15 benchmarking
bogon(198, 51, 51, 100, 100, 24)    -- 198.51.100.0/24 documentation
bogon(203, 0, 0, 113, 113, 24)      -- 203.0.113.0/24 documentation
for a = 224, 255 do
  bogon(a, 0, 255, 0, 255, 4)       -- multicast and reserved
end

local function is_bogon_prefix(prefix)
  local length = prefix.length
  if length == 0 then
    return true                     -- never accept a default route from a peer
  end
  if prefix.family == 10 then
    -- outside global unicast 2000::/3, documentation 2001:db8::/32, or too specific
    local net = prefix.network
    local first = tonumber(net:match("^(%x+):") or "0", 16)
    return length > 48 or first < 0x2000 or first >= 0x4000
        or net:sub(1, 9) == "2001:db8:"
  end
  if length > 24 then
    return true                     -- too specific to be routed globally
  end
  local a, b, c = prefix.network:match("^(%d+)%.(%d+)%.(%d+)")
  local list = BOGONS_V4[tonumber(a)]
  if list then
    b, c = tonumber(b), tonumber(c)
    for _, r in ipairs(list) do
      if length >= r[5] and b >= r[1] and b <= r[2] and c >= r[3] and c <= r[4] then
        return true
      end
    end
  end
  return false
end

-- Private (64512-65534, 4200000000-4294967294) and reserved (0, 23456, 65535) ASNs.
local function is_bogon_asn(asn)
  return asn == 0 or asn == 23456 or (asn >= 64512 and asn <= 65535)
      or asn >= 4200000000
end

-- Returns the path length (an AS_SET counts one) and whether a bogon ASN is in it.
local function scan_path(aspath)
  local len, bad = 0, false
  for hop in aspath:gmatch("%S+") do
    len = len + 1
    local asn = tonumber(hop)
    if asn then
      if is_bogon_asn(asn) then
        bad = true
      end
    else
      for member in hop:gmatch("%d+") do   -- an AS_SET: {64512,3356}
        if is_bogon_asn(tonumber(member)) then
          bad = true
        end
      end
    end
  end
  return len, bad
end

function route_match(prefix, attributes, peer,
                     RM_FAILURE, RM_NOMATCH, RM_MATCH, RM_MATCH_AND_CHANGE)
  if is_bogon_prefix(prefix) then
    return { action = RM_NOMATCH }
  end
  local len, bad_asn = scan_path(attributes.aspath)
  if bad_asn then
    return { action = RM_NOMATCH }
  end

  local changed = false
  for _, c in ipairs(attributes.community) do
    local pref = PREFER[c]
    if pref and pref > attributes.localpref then
      attributes.localpref = pref
      changed = true
    end
  end
  if len >= LONG_PATH and attributes.metric ~= MED_PER_HOP * len then
    attributes.metric = MED_PER_HOP * len
    changed = true
  end

  if changed then
    return { action = RM_MATCH_AND_CHANGE, attributes = attributes }
  end
  return { action = RM_MATCH }
end
