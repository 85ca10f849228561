-- rserpool_tcp.lua: ASAP and ENRP over TCP for tshark (loaded by wire-check.sh).
--
-- Wireshark decodes ASAP and ENRP as SCTP delivers them: one whole message per call. Over
-- TCP (docs/tcp-mapping.md) messages follow each other in the byte stream, each framed by
-- its own 16-bit Message Length (bytes 2-3 of the Type/Flags/Length header), and a segment
-- may hold several messages or part of one. This dissector cuts the stream at those
-- lengths (reassembling across segments) and passes each message to Wireshark's own ASAP
-- or ENRP dissector, so that they, not we, judge its content. Which one is decided by the
-- TCP port: the ranges in the preferences below.
--
--   tshark -X lua_script:rserpool_tcp.lua -o rsptcp.asap_ports:3863 \
--          -o rsptcp.enrp_ports:9901 -r capture.pcapng
--
-- Fields: rsptcp.protocol ("ASAP" or "ENRP"), rsptcp.type, rsptcp.length. A length below 4
-- cannot frame anything: it is an error-level expert item and the rest of the segment is
-- given up.

local rsptcp = Proto("rsptcp", "RSerPool over TCP")

local field_protocol = ProtoField.string("rsptcp.protocol", "Protocol")
local field_type = ProtoField.uint8("rsptcp.type", "Message type", base.HEX)
local field_length = ProtoField.uint16("rsptcp.length", "Message length", base.DEC)
rsptcp.fields = { field_protocol, field_type, field_length }

local too_short = ProtoExpert.new("rsptcp.too_short", "Message length below the 4-byte header",
                                  expert.group.MALFORMED, expert.severity.ERROR)
local raised = ProtoExpert.new("rsptcp.dissector_error", "The RSerPool dissector failed",
                               expert.group.MALFORMED, expert.severity.ERROR)
rsptcp.experts = { too_short, raised }

rsptcp.prefs.asap_ports = Pref.range("ASAP ports", "3863", "TCP ports that carry ASAP", 65535)
rsptcp.prefs.enrp_ports = Pref.range("ENRP ports", "9901", "TCP ports that carry ENRP", 65535)

-- Wireshark 4.0 registers its ASAP and ENRP dissectors only under their SCTP payload
-- protocol identifiers (PPID 11 and 12), not by name.
local function inner_dissector(protocol)
  return DissectorTable.get("sctp.ppi"):get_dissector(protocol == "ENRP" and 12 or 11)
end

-- A preference range ("3863,13860-13869") as a list of {low, high}.
local function to_intervals(text)
  local list = {}
  for item in tostring(text):gmatch("[^,%s]+") do
    local low, high = item:match("^(%d+)-(%d+)$")
    low = tonumber(low or item)
    high = tonumber(high or item)
    if low and high then list[#list + 1] = { low, high } end
  end
  return list
end

local function contains(intervals, port)
  for _, interval in ipairs(intervals) do
    if port >= interval[1] and port <= interval[2] then return true end
  end
  return false
end

local enrp_intervals = {}
local on_ports = {}  -- the range strings added to tcp.port, to take back on a change

local function claim_ports()
  local table = DissectorTable.get("tcp.port")
  for _, ports in ipairs(on_ports) do table:remove(ports, rsptcp) end
  on_ports = {}
  enrp_intervals = to_intervals(rsptcp.prefs.enrp_ports)
  for _, ports in ipairs({ tostring(rsptcp.prefs.asap_ports), tostring(rsptcp.prefs.enrp_ports) }) do
    if ports ~= "" then
      table:add(ports, rsptcp)
      on_ports[#on_ports + 1] = ports
    end
  end
end

rsptcp.prefs_changed = claim_ports

-- The length of the message at offset: its Message Length, or everything left when that
-- cannot be a length (the message is then reported by one_message).
local function message_length(tvb, pinfo, offset)
  local left = tvb:len() - offset
  if left < 4 then return left end
  local length = tvb(offset + 2, 2):uint()
  if length < 4 then return left end
  return length
end

local function one_message(tvb, pinfo, tree)
  local protocol = "ASAP"
  if contains(enrp_intervals, pinfo.src_port) or contains(enrp_intervals, pinfo.dst_port) then
    protocol = "ENRP"
  end
  local item = tree:add(rsptcp, tvb())
  item:add(field_protocol, protocol):set_generated()
  if tvb:len() < 4 then
    item:add_proto_expert_info(too_short, "Only " .. tvb:len() .. " byte(s) of a message header")
    return tvb:len()
  end
  item:add(field_type, tvb(0, 1))
  local length_item = item:add(field_length, tvb(2, 2))
  if tvb(2, 2):uint() < 4 then
    length_item:add_proto_expert_info(too_short)
    return tvb:len()
  end
  -- An exception in the inner dissector (already shown as [Malformed Packet]) must not stop
  -- the reassembly of the messages after this one: keep can_desegment as it was.
  local can_desegment = pinfo.can_desegment
  local ok, err = pcall(function() inner_dissector(protocol):call(tvb, pinfo, tree) end)
  pinfo.can_desegment = can_desegment
  if not ok then
    local reason = tostring(err):gsub("^.-:%d+: ", "")  -- without this file's name and line
    item:add_proto_expert_info(raised, protocol .. ": " .. reason)
  end
  pinfo.cols.info:append(" ")
  pinfo.cols.info:fence()  -- the next message of the segment appends its own Info
  return tvb:len()
end

function rsptcp.dissector(tvb, pinfo, tree)
  dissect_tcp_pdus(tvb, tree, 4, message_length, one_message, true)
  return tvb:len()
end

claim_ports()
