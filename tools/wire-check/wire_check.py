#!/usr/bin/env python3
"""Wireshark's verdict on the ASAP and ENRP messages of a capture (see wire-check.sh).

Two tshark passes over the file:
  1. dissection, with rserpool_tcp.lua framing TCP: per frame the ASAP/ENRP message and
     parameter types, whether it is malformed, and the severity of its expert items;
  2. the raw TCP payload of the ASAP/ENRP ports, without reassembly: each direction's byte
     stream is rebuilt here and cut at the 16-bit Message Lengths, which catches what
     tshark cannot see (a message cut off at the end of a stream, a length below 4).
"""
import argparse
import os
import re
import subprocess
import sys

ASAP_TYPES = {
    0x01: "ASAP_REGISTRATION", 0x02: "ASAP_DEREGISTRATION",
    0x03: "ASAP_REGISTRATION_RESPONSE", 0x04: "ASAP_DEREGISTRATION_RESPONSE",
    0x05: "ASAP_HANDLE_RESOLUTION", 0x06: "ASAP_HANDLE_RESOLUTION_RESPONSE",
    0x07: "ASAP_ENDPOINT_KEEP_ALIVE", 0x08: "ASAP_ENDPOINT_KEEP_ALIVE_ACK",
    0x09: "ASAP_ENDPOINT_UNREACHABLE", 0x0a: "ASAP_SERVER_ANNOUNCE", 0x0b: "ASAP_COOKIE",
    0x0c: "ASAP_COOKIE_ECHO", 0x0d: "ASAP_BUSINESS_CARD", 0x0e: "ASAP_ERROR",
}
ENRP_TYPES = {
    0x01: "ENRP_PRESENCE", 0x02: "ENRP_HANDLE_TABLE_REQUEST", 0x03: "ENRP_HANDLE_TABLE_RESPONSE",
    0x04: "ENRP_HANDLE_UPDATE", 0x05: "ENRP_LIST_REQUEST", 0x06: "ENRP_LIST_RESPONSE",
    0x07: "ENRP_INIT_TAKEOVER", 0x08: "ENRP_INIT_TAKEOVER_ACK", 0x09: "ENRP_TAKEOVER_SERVER",
    0x0a: "ENRP_ERROR",
}
# RFC 5354's parameters 0x0001-0x000f and RSPLIB's Handle Resolution Option.
KNOWN_PARAMETERS = set(range(0x0001, 0x0010)) | {0x803f}
WARNING, ERROR = 0x600000, 0x800000  # Wireshark's expert severities (PI_WARN, PI_ERROR)
SHOWN = 20  # offending frames or streams listed without -v


class ToolError(Exception):
    pass


def port_list(text):
    if not re.fullmatch(r"\d+(-\d+)?(,\d+(-\d+)?)*", text):
        raise argparse.ArgumentTypeError(f"bad port list '{text}' (e.g. 3863 or 3863,13860-13869)")
    ranges = []
    for item in text.split(","):
        low, _, high = item.partition("-")
        ranges.append((int(low), int(high or low)))
    return text, ranges


def within(ranges, port):
    return any(low <= port <= high for low, high in ranges)


def tshark(args):
    proc = subprocess.run(["tshark", "-n"] + args, capture_output=True, text=True, errors="replace")
    noise = [l for l in proc.stderr.splitlines() if l and "Running as user" not in l]
    if proc.returncode != 0 or any("lua" in l.lower() for l in noise):
        raise ToolError(f"tshark {' '.join(args)} failed (exit {proc.returncode}):\n" + "\n".join(noise))
    return proc.stdout


def numbers(cell):
    out = []
    for item in cell.split("|") if cell else []:
        try:
            out.append(int(item, 0))
        except ValueError:
            pass
    return out


class Verdict:
    def __init__(self):
        self.types = {}  # (protocol, type) -> count
        self.unknown_parameters = {}
        self.errors, self.warnings, self.other_errors = [], [], 0
        self.framed, self.framing_errors, self.framing_warnings = 0, [], []

    def dissection(self, capture, lua, asap, enrp):
        out = tshark(["-r", capture, "-X", "lua_script:" + lua,
                      "-o", "rsptcp.asap_ports:" + asap, "-o", "rsptcp.enrp_ports:" + enrp,
                      "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a",
                      "-E", "aggregator=|", "-e", "frame.number", "-e", "asap.message_type",
                      "-e", "enrp.message_type", "-e", "asap.parameter_type",
                      "-e", "enrp.parameter_type", "-e", "rsptcp.protocol", "-e", "_ws.malformed",
                      "-e", "_ws.expert.severity", "-e", "_ws.expert.message"])
        for line in out.splitlines():
            cells = (line.split("\t") + [""] * 9)[:9]
            frame, asap_t, enrp_t, asap_p, enrp_p, framed, malformed, severity, message = cells
            for protocol, cell in (("ASAP", asap_t), ("ENRP", enrp_t)):
                for t in numbers(cell):
                    self.types[(protocol, t)] = self.types.get((protocol, t), 0) + 1
            for p in numbers(asap_p) + numbers(enrp_p):
                if p not in KNOWN_PARAMETERS:
                    self.unknown_parameters[p] = self.unknown_parameters.get(p, 0) + 1
            rserpool = bool(asap_t or enrp_t or framed)
            worst = max(numbers(severity), default=0)
            what = f"frame {frame}: {message.replace('|', '; ') or 'malformed'}"
            if malformed or worst >= ERROR:
                if rserpool:
                    self.errors.append(what)
                else:
                    self.other_errors += 1
            elif worst >= WARNING and rserpool:
                self.warnings.append(what)

    def framing(self, capture, asap_ranges, enrp_ranges):
        out = tshark(["-r", capture, "-o", "tcp.desegment_tcp_streams:FALSE", "-Y", "tcp.len > 0",
                      "-T", "fields", "-E", "separator=/t", "-e", "tcp.stream", "-e", "tcp.srcport",
                      "-e", "tcp.dstport", "-e", "tcp.seq", "-e", "tcp.payload"])
        directions = {}
        for line in out.splitlines():
            cells = (line.split("\t") + [""] * 5)[:5]
            try:
                stream, src, dst, seq = (int(c) for c in cells[:4])
            except ValueError:
                continue
            ports = (src, dst)
            if any(within(enrp_ranges, p) for p in ports):
                protocol = "ENRP"
            elif any(within(asap_ranges, p) for p in ports):
                protocol = "ASAP"
            else:
                continue
            payload = bytes.fromhex(cells[4].replace(":", ""))
            key = (stream, src, dst, protocol)
            directions.setdefault(key, []).append((seq, payload))
        for key in sorted(directions):
            self.walk(key, self.stream_bytes(key, directions[key]))

    def stream_bytes(self, key, segments):
        data, end = bytearray(), None
        for seq, payload in sorted(segments, key=lambda s: s[0]):
            end = seq if end is None else end
            if seq > end:
                self.framing_warnings.append(f"{self.name(key)}: bytes missing from the capture "
                                             f"at offset {len(data)}; not checked past them")
                return data, True
            data += payload[end - seq:]  # a retransmission adds only what is new
            end = max(end, seq + len(payload))
        return data, False

    def walk(self, key, stream):
        data, gap = stream
        offset = 0
        while len(data) - offset >= 4:
            length = int.from_bytes(data[offset + 2:offset + 4], "big")
            if length < 4:
                self.framing_errors.append(f"{self.name(key)}: offset {offset}: Message Length "
                                           f"{length}, below the header; the rest cannot be framed")
                return
            if length % 4:
                self.framing_warnings.append(f"{self.name(key)}: offset {offset}: Message Length "
                                             f"{length} is not a multiple of 4")
            if offset + length > len(data):
                break
            self.framed += 1
            offset += length
        if offset < len(data) and not gap:
            self.framing_errors.append(f"{self.name(key)}: offset {offset}: the stream ends inside "
                                       f"a message ({len(data) - offset} byte(s) of it)")

    @staticmethod
    def name(key):
        stream, src, dst, protocol = key
        return f"{protocol} tcp stream {stream} port {src} -> {dst}"

    def report(self, strict, verbose):
        total = unknown = 0
        for (protocol, t), n in sorted(self.types.items()):
            names = ASAP_TYPES if protocol == "ASAP" else ENRP_TYPES
            if t not in names:
                unknown += n
            print(f"{protocol} 0x{t:02x} {names.get(t, protocol + '_UNKNOWN_TYPE'):<34} {n}")
            total += n
        print(f"messages: {total}")

        def listing(title, items):
            print(f"{title}: {len(items)}")
            for item in items if verbose else items[:SHOWN]:
                print("  " + item)
            if not verbose and len(items) > SHOWN:
                print(f"  ... {len(items) - SHOWN} more (-v lists all)")

        listing("malformed or error frames", self.errors)
        listing("warning frames", self.warnings)
        print(f"unknown message types: {unknown}")
        params = ", ".join(f"0x{p:04x} x{n}" for p, n in sorted(self.unknown_parameters.items()))
        print(f"unknown parameter types: {sum(self.unknown_parameters.values())}"
              + (f" ({params})" if params else ""))
        if self.other_errors:
            print(f"malformed frames of other protocols (not judged): {self.other_errors}")
        print(f"tcp messages framed: {self.framed}")
        listing("framing errors", self.framing_errors)
        listing("framing warnings", self.framing_warnings)
        failed = bool(self.errors or self.framing_errors)
        if strict:
            failed = failed or bool(unknown or self.unknown_parameters or self.warnings
                                    or self.framing_warnings or total == 0)
        print("RESULT: " + ("FAIL" if failed else "PASS"))
        return 1 if failed else 0


def main():
    parser = argparse.ArgumentParser(prog="wire-check.sh", description=__doc__.splitlines()[0])
    parser.add_argument("-a", dest="asap", type=port_list, default=port_list("3863"),
                        help="TCP ports of ASAP (default 3863)")
    parser.add_argument("-e", dest="enrp", type=port_list, default=port_list("9901"),
                        help="TCP ports of ENRP (default 9901)")
    parser.add_argument("-s", dest="strict", action="store_true",
                        help="strict: unknown types, warnings and an empty capture fail too")
    parser.add_argument("-v", dest="verbose", action="store_true", help="list every finding")
    parser.add_argument("capture")
    args = parser.parse_args()
    lua = os.environ.get("RSERPOOL_TCP_LUA") or os.path.join(os.path.dirname(
        os.path.realpath(__file__)), "rserpool_tcp.lua")
    try:
        if not os.access(args.capture, os.R_OK):
            raise ToolError(f"cannot read {args.capture}")
        verdict = Verdict()
        verdict.dissection(args.capture, lua, args.asap[0], args.enrp[0])
        verdict.framing(args.capture, args.asap[1], args.enrp[1])
    except (ToolError, FileNotFoundError) as e:
        print(f"wire-check: {e}", file=sys.stderr)
        return 2
    return verdict.report(args.strict, args.verbose)


if __name__ == "__main__":
    sys.exit(main())
