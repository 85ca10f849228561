// Golden vectors: every byte below was written by hand from the tables in
// shared/reference/wire-format.md (RFC 5352/5353/5354/5356 plus RSPLIB), never produced
// by the encoder. Lengths: a parameter's Length counts its header and value but not its
// own pad; an enclosing Length counts the pads of what it nests; Message Length counts
// everything and is a multiple of 4. All integers are big-endian.
//
// Recurring values: PE Identifier 0x1234abcd, Registration Life 300000 ms = 0x000493e0,
// "EchoPool" = 45 63 68 6f 50 6f 6f 6c, "CalcAppPool" = 43 61 6c 63 41 70 70 50 6f 6f 6c,
// ports 7 = 0x0007, 3863 (ASAP) = 0x0f17, 9901 (ENRP) = 0x26ad, 9000 = 0x2328.
#include "tests/wire/golden.hpp"

#include <cstdio>
#include <cstdlib>
#include <utility>

namespace rserpool::wire::testing {
namespace {

// ---- builders for the expected typed values (plain assignments, no codec call) ----

Address v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  Address r;
  r.family = Address::Family::v4;
  r.bytes = {a, b, c, d};
  return r;
}

Address v6_2001_db8_1() {  // 2001:db8::1
  Address r;
  r.family = Address::Family::v6;
  r.bytes = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
  return r;
}

Transport transport(TransportKind kind, std::uint16_t port, TransportUse use,
                    std::vector<Address> addresses, std::uint32_t service_code = 0) {
  Transport t;
  t.kind = kind;
  t.port = port;
  t.use = use;
  t.service_code = service_code;
  t.addresses = std::move(addresses);
  return t;
}

// SCTP, port 7, DATA plus CONTROL, 127.0.0.1.
Transport sctp_7_loopback() {
  return transport(TransportKind::sctp, 7, TransportUse::data_plus_control, {v4(127, 0, 0, 1)});
}
// TCP, port 7, DATA ONLY, 10.0.0.1.
Transport tcp_7() {
  return transport(TransportKind::tcp, 7, TransportUse::data_only, {v4(10, 0, 0, 1)});
}
// SCTP, port 9000, DATA ONLY, 2001:db8::1 and 192.0.2.1 (multi-homed).
Transport sctp_multihomed() {
  return transport(TransportKind::sctp, 9000, TransportUse::data_only,
                   {v6_2001_db8_1(), v4(192, 0, 2, 1)});
}
// The ASAP transport a PR adds: SCTP, port 3863, DATA plus CONTROL.
Transport asap_sctp(Address a) {
  return transport(TransportKind::sctp, 3863, TransportUse::data_plus_control, {a});
}

Policy policy(PolicyType type) {
  Policy p;
  p.type = type;
  return p;
}
Policy policy_load(PolicyType type, std::uint32_t load, std::uint32_t degradation = 0) {
  Policy p = policy(type);
  p.load = load;
  p.load_degradation = degradation;
  return p;
}

PoolElement pe(std::uint32_t id, std::uint32_t home, std::int32_t life, Transport t, Policy p,
               std::optional<Transport> asap = std::nullopt) {
  PoolElement e;
  e.identifier = id;
  e.home_server = home;
  e.registration_life = life;
  e.user_transport = std::move(t);
  e.policy = p;
  e.asap_transport = std::move(asap);
  return e;
}

// A registration of "EchoPool" with home 0 and life 300000 ms.
asap::Message echo_registration(std::uint32_t id, Transport t, Policy p) {
  asap::Registration m;
  m.pool_handle = "EchoPool";
  m.pool_element = pe(id, 0, 300000, std::move(t), p);
  return m;
}

ErrorCause cause(CauseCode code, Bytes info = {}) {
  ErrorCause c;
  c.code = code;
  c.info = std::move(info);
  return c;
}
OperationError op_error(std::vector<ErrorCause> causes) {
  OperationError e;
  e.causes = std::move(causes);
  return e;
}

ServerInformation server_info(std::uint32_t id, Transport t) {
  ServerInformation s;
  s.server_id = id;
  s.transport = std::move(t);
  return s;
}

GoldenVector asap_vector(std::string_view name, std::string_view hex, asap::Message m) {
  return GoldenVector{name, Protocol::asap, hex, std::move(m)};
}
GoldenVector enrp_vector(std::string_view name, std::string_view hex, enrp::Message m) {
  return GoldenVector{name, Protocol::enrp, hex, std::move(m)};
}

std::vector<GoldenVector> make_vectors() {
  std::vector<GoldenVector> v;

  // =====================================================================================
  // ASAP_REGISTRATION (0x01): Pool Handle, Pool Element without ASAP transport.
  // One vector per policy type (16) and per transport kind.
  // =====================================================================================

  v.push_back(asap_vector("asap_registration_sctp_lu",
      "01 00 00 3c"              // ASAP_REGISTRATION, flags 0, Message Length 60
      "00 09 00 0c"              // Pool Handle, Length 12
      "45 63 68 6f 50 6f 6f 6c"  //   "EchoPool"
      "00 0a 00 2c"              // Pool Element, Length 44
      "12 34 ab cd"              //   PE Identifier 0x1234abcd
      "00 00 00 00"              //   Home ENRP Server Identifier 0 (none yet)
      "00 04 93 e0"              //   Registration Life 300000 ms
      "00 04 00 10"              //   SCTP Transport, Length 16
      "00 07 00 01"              //     Port 7, Transport Use DATA plus CONTROL
      "00 01 00 08"              //     IPv4 Address, Length 8
      "7f 00 00 01"              //       127.0.0.1
      "00 08 00 0c"              //   Pool Member Selection Policy, Length 12
      "40 00 00 01"              //     Least Used
      "40 00 00 00",             //     Load 25 %
      echo_registration(0x1234abcd, sctp_7_loopback(),
                        policy_load(PolicyType::least_used, 0x40000000))));

  {
    asap::Registration m;
    m.pool_handle = "CalcAppPool";
    m.pool_element = pe(1, 0x0a0b0c0d, 60000, tcp_7(), policy(PolicyType::round_robin));
    v.push_back(asap_vector("asap_registration_odd_handle_tcp_rr",
        "01 00 00 3c"              // ASAP_REGISTRATION, flags 0, Message Length 60
        "00 09 00 0f"              // Pool Handle, Length 15 (11-byte handle)
        "43 61 6c 63 41 70 70 50"  //   "CalcAppP"
        "6f 6f 6c 00"              //   "ool" + 1 pad byte
        "00 0a 00 28"              // Pool Element, Length 40
        "00 00 00 01"              //   PE Identifier 1
        "0a 0b 0c 0d"              //   Home ENRP Server Identifier 0x0a0b0c0d
        "00 00 ea 60"              //   Registration Life 60000 ms
        "00 05 00 10"              //   TCP Transport, Length 16
        "00 07 00 00"              //     Port 7, Transport Use DATA ONLY
        "00 01 00 08"              //     IPv4 Address, Length 8
        "0a 00 00 01"              //       10.0.0.1
        "00 08 00 08"              //   Pool Member Selection Policy, Length 8
        "00 00 00 01",             //     Round Robin
        std::move(m)));
  }

  {
    Policy p = policy(PolicyType::weighted_round_robin);
    p.weight = 5;
    v.push_back(asap_vector("asap_registration_udp_wrr",
        "01 00 00 3c"              // ASAP_REGISTRATION, flags 0, Message Length 60
        "00 09 00 0c"              // Pool Handle, Length 12
        "45 63 68 6f 50 6f 6f 6c"  //   "EchoPool"
        "00 0a 00 2c"              // Pool Element, Length 44
        "10 00 00 03"              //   PE Identifier 0x10000003
        "00 00 00 00"              //   Home ENRP Server Identifier 0
        "00 04 93 e0"              //   Registration Life 300000 ms
        "00 06 00 10"              //   UDP Transport, Length 16
        "00 07 00 00"              //     Port 7, Reserved 0
        "00 01 00 08"              //     IPv4 Address, Length 8
        "0a 00 00 02"              //       10.0.0.2
        "00 08 00 0c"              //   Pool Member Selection Policy, Length 12
        "00 00 00 02"              //     Weighted Round Robin
        "00 00 00 05",             //     Weight 5
        echo_registration(0x10000003,
                          transport(TransportKind::udp, 7, TransportUse::data_only,
                                    {v4(10, 0, 0, 2)}),
                          p)));
  }

  v.push_back(asap_vector("asap_registration_udplite_random",
      "01 00 00 38"              // ASAP_REGISTRATION, flags 0, Message Length 56
      "00 09 00 0c"              // Pool Handle, Length 12
      "45 63 68 6f 50 6f 6f 6c"  //   "EchoPool"
      "00 0a 00 28"              // Pool Element, Length 40
      "10 00 00 04"              //   PE Identifier 0x10000004
      "00 00 00 00"              //   Home ENRP Server Identifier 0
      "00 04 93 e0"              //   Registration Life 300000 ms
      "00 07 00 10"              //   UDP-Lite Transport, Length 16
      "00 07 00 00"              //     Port 7, Reserved 0
      "00 01 00 08"              //     IPv4 Address, Length 8
      "0a 00 00 03"              //       10.0.0.3
      "00 08 00 08"              //   Pool Member Selection Policy, Length 8
      "00 00 00 03",             //     Random
      echo_registration(0x10000004,
                        transport(TransportKind::udp_lite, 7, TransportUse::data_only,
                                  {v4(10, 0, 0, 3)}),
                        policy(PolicyType::random))));

  {
    Policy p = policy(PolicyType::weighted_random);
    p.weight = 10;
    v.push_back(asap_vector("asap_registration_dccp_wrand",
        "01 00 00 40"              // ASAP_REGISTRATION, flags 0, Message Length 64
        "00 09 00 0c"              // Pool Handle, Length 12
        "45 63 68 6f 50 6f 6f 6c"  //   "EchoPool"
        "00 0a 00 30"              // Pool Element, Length 48
        "10 00 00 05"              //   PE Identifier 0x10000005
        "00 00 00 00"              //   Home ENRP Server Identifier 0
        "00 04 93 e0"              //   Registration Life 300000 ms
        "00 03 00 14"              //   DCCP Transport, Length 20
        "00 07 00 00"              //     Port 7, Reserved 0
        "00 00 00 2a"              //     Service Code 42
        "00 01 00 08"              //     IPv4 Address, Length 8
        "0a 00 00 04"              //       10.0.0.4
        "00 08 00 0c"              //   Pool Member Selection Policy, Length 12
        "00 00 00 04"              //     Weighted Random
        "00 00 00 0a",             //     Weight 10
        echo_registration(0x10000005,
                          transport(TransportKind::dccp, 7, TransportUse::data_only,
                                    {v4(10, 0, 0, 4)}, 42),
                          p)));
  }

  {
    Policy p = policy(PolicyType::priority);
    p.priority = 3;
    v.push_back(asap_vector("asap_registration_ipv6_multihomed_priority",
        "01 00 00 50"              // ASAP_REGISTRATION, flags 0, Message Length 80
        "00 09 00 0c"              // Pool Handle, Length 12
        "45 63 68 6f 50 6f 6f 6c"  //   "EchoPool"
        "00 0a 00 40"              // Pool Element, Length 64
        "10 00 00 06"              //   PE Identifier 0x10000006
        "00 00 00 00"              //   Home ENRP Server Identifier 0
        "00 04 93 e0"              //   Registration Life 300000 ms
        "00 04 00 24"              //   SCTP Transport, Length 36
        "23 28 00 00"              //     Port 9000, Transport Use DATA ONLY
        "00 02 00 14"              //     IPv6 Address, Length 20
        "20 01 0d b8 00 00 00 00"  //       2001:db8::1
        "00 00 00 00 00 00 00 01"  //
        "00 01 00 08"              //     IPv4 Address, Length 8
        "c0 00 02 01"              //       192.0.2.1
        "00 08 00 0c"              //   Pool Member Selection Policy, Length 12
        "00 00 00 05"              //     Priority
        "00 00 00 03",             //     Priority 3
        echo_registration(0x10000006, sctp_multihomed(), p)));
  }

  v.push_back(asap_vector("asap_registration_lud",
      "01 00 00 40"              // ASAP_REGISTRATION, flags 0, Message Length 64
      "00 09 00 0c"              // Pool Handle, Length 12
      "45 63 68 6f 50 6f 6f 6c"  //   "EchoPool"
      "00 0a 00 30"              // Pool Element, Length 48
      "10 00 00 07"              //   PE Identifier 0x10000007
      "00 00 00 00"              //   Home ENRP Server Identifier 0
      "00 04 93 e0"              //   Registration Life 300000 ms
      "00 04 00 10"              //   SCTP Transport, Length 16
      "00 07 00 01"              //     Port 7, Transport Use DATA plus CONTROL
      "00 01 00 08"              //     IPv4 Address, Length 8
      "7f 00 00 01"              //       127.0.0.1
      "00 08 00 10"              //   Pool Member Selection Policy, Length 16
      "40 00 00 02"              //     Least Used with Degradation
      "20 00 00 00"              //     Load 12.5 %
      "01 00 00 00",             //     Load Degradation
      echo_registration(0x10000007, sctp_7_loopback(),
                        policy_load(PolicyType::least_used_degradation, 0x20000000,
                                    0x01000000))));

  v.push_back(asap_vector("asap_registration_plu",
      "01 00 00 40"              // ASAP_REGISTRATION, flags 0, Message Length 64
      "00 09 00 0c"              // Pool Handle, Length 12
      "45 63 68 6f 50 6f 6f 6c"  //   "EchoPool"
      "00 0a 00 30"              // Pool Element, Length 48
      "10 00 00 08"              //   PE Identifier 0x10000008
      "00 00 00 00"              //   Home ENRP Server Identifier 0
      "00 04 93 e0"              //   Registration Life 300000 ms
      "00 04 00 10"              //   SCTP Transport, Length 16
      "00 07 00 01"              //     Port 7, Transport Use DATA plus CONTROL
      "00 01 00 08"              //     IPv4 Address, Length 8
      "7f 00 00 01"              //       127.0.0.1
      "00 08 00 10"              //   Pool Member Selection Policy, Length 16 (both words)
      "40 00 00 03"              //     Priority Least Used
      "10 00 00 00"              //     Load
      "00 80 00 00",             //     Load Degradation
      echo_registration(0x10000008, sctp_7_loopback(),
                        policy_load(PolicyType::priority_least_used, 0x10000000,
                                    0x00800000))));

  v.push_back(asap_vector("asap_registration_rlu",
      "01 00 00 3c"              // ASAP_REGISTRATION, flags 0, Message Length 60
      "00 09 00 0c"              // Pool Handle, Length 12
      "45 63 68 6f 50 6f 6f 6c"  //   "EchoPool"
      "00 0a 00 2c"              // Pool Element, Length 44
      "10 00 00 09"              //   PE Identifier 0x10000009
      "00 00 00 00"              //   Home ENRP Server Identifier 0
      "00 04 93 e0"              //   Registration Life 300000 ms
      "00 04 00 10"              //   SCTP Transport, Length 16
      "00 07 00 01"              //     Port 7, Transport Use DATA plus CONTROL
      "00 01 00 08"              //     IPv4 Address, Length 8
      "7f 00 00 01"              //       127.0.0.1
      "00 08 00 0c"              //   Pool Member Selection Policy, Length 12
      "40 00 00 04"              //     Randomized Least Used
      "80 00 00 00",             //     Load 50 %
      echo_registration(0x10000009, sctp_7_loopback(),
                        policy_load(PolicyType::randomized_least_used, 0x80000000))));

  v.push_back(asap_vector("asap_registration_rsplib_rplu",
      "01 00 00 3c"              // ASAP_REGISTRATION, flags 0, Message Length 60
      "00 09 00 0c"              // Pool Handle, Length 12
      "45 63 68 6f 50 6f 6f 6c"  //   "EchoPool"
      "00 0a 00 2c"              // Pool Element, Length 44
      "10 00 00 0a"              //   PE Identifier 0x1000000a
      "00 00 00 00"              //   Home ENRP Server Identifier 0
      "00 04 93 e0"              //   Registration Life 300000 ms
      "00 04 00 10"              //   SCTP Transport, Length 16
      "00 07 00 01"              //     Port 7, Transport Use DATA plus CONTROL
      "00 01 00 08"              //     IPv4 Address, Length 8
      "7f 00 00 01"              //       127.0.0.1
      "00 08 00 0c"              //   Pool Member Selection Policy, Length 12
      "b0 00 10 01"              //     RSPLIB Randomized Priority Least Used
      "30 00 00 00",             //     Load
      echo_registration(0x1000000a, sctp_7_loopback(),
                        policy_load(PolicyType::randomized_priority_least_used,
                                    0x30000000))));

  v.push_back(asap_vector("asap_registration_rsplib_rlud",
      "01 00 00 40"              // ASAP_REGISTRATION, flags 0, Message Length 64
      "00 09 00 0c"              // Pool Handle, Length 12
      "45 63 68 6f 50 6f 6f 6c"  //   "EchoPool"
      "00 0a 00 30"              // Pool Element, Length 48
      "10 00 00 0b"              //   PE Identifier 0x1000000b
      "00 00 00 00"              //   Home ENRP Server Identifier 0
      "00 04 93 e0"              //   Registration Life 300000 ms
      "00 04 00 10"              //   SCTP Transport, Length 16
      "00 07 00 01"              //     Port 7, Transport Use DATA plus CONTROL
      "00 01 00 08"              //     IPv4 Address, Length 8
      "7f 00 00 01"              //       127.0.0.1
      "00 08 00 10"              //   Pool Member Selection Policy, Length 16
      "b0 00 10 02"              //     RSPLIB Randomized Least Used with Degradation
      "50 00 00 00"              //     Load
      "02 00 00 00",             //     Load Degradation
      echo_registration(0x1000000b, sctp_7_loopback(),
                        policy_load(PolicyType::randomized_least_used_degradation, 0x50000000,
                                    0x02000000))));

  v.push_back(asap_vector("asap_registration_rsplib_plud",
      "01 00 00 40"              // ASAP_REGISTRATION, flags 0, Message Length 64
      "00 09 00 0c"              // Pool Handle, Length 12
      "45 63 68 6f 50 6f 6f 6c"  //   "EchoPool"
      "00 0a 00 30"              // Pool Element, Length 48
      "10 00 00 0c"              //   PE Identifier 0x1000000c
      "00 00 00 00"              //   Home ENRP Server Identifier 0
      "00 04 93 e0"              //   Registration Life 300000 ms
      "00 04 00 10"              //   SCTP Transport, Length 16
      "00 07 00 01"              //     Port 7, Transport Use DATA plus CONTROL
      "00 01 00 08"              //     IPv4 Address, Length 8
      "7f 00 00 01"              //       127.0.0.1
      "00 08 00 10"              //   Pool Member Selection Policy, Length 16
      "b0 00 10 03"              //     RSPLIB Priority Least Used with Degradation
      "60 00 00 00"              //     Load
      "03 00 00 00",             //     Load Degradation
      echo_registration(0x1000000c, sctp_7_loopback(),
                        policy_load(PolicyType::priority_least_used_degradation, 0x60000000,
                                    0x03000000))));

  v.push_back(asap_vector("asap_registration_rsplib_rplud",
      "01 00 00 40"              // ASAP_REGISTRATION, flags 0, Message Length 64
      "00 09 00 0c"              // Pool Handle, Length 12
      "45 63 68 6f 50 6f 6f 6c"  //   "EchoPool"
      "00 0a 00 30"              // Pool Element, Length 48
      "10 00 00 0d"              //   PE Identifier 0x1000000d
      "00 00 00 00"              //   Home ENRP Server Identifier 0
      "00 04 93 e0"              //   Registration Life 300000 ms
      "00 04 00 10"              //   SCTP Transport, Length 16
      "00 07 00 01"              //     Port 7, Transport Use DATA plus CONTROL
      "00 01 00 08"              //     IPv4 Address, Length 8
      "7f 00 00 01"              //       127.0.0.1
      "00 08 00 10"              //   Pool Member Selection Policy, Length 16
      "b0 00 10 04"              //     RSPLIB Randomized Priority LU with Degradation
      "70 00 00 00"              //     Load
      "04 00 00 00",             //     Load Degradation
      echo_registration(0x1000000d, sctp_7_loopback(),
                        policy_load(PolicyType::randomized_priority_least_used_degradation,
                                    0x70000000, 0x04000000))));

  {
    Policy p = policy(PolicyType::weighted_random_dpf);
    p.weight = 7;
    p.weight_dpf = 0x00010000;
    p.distance = 150;
    v.push_back(asap_vector("asap_registration_wrand_dpf",
        "01 00 00 44"              // ASAP_REGISTRATION, flags 0, Message Length 68
        "00 09 00 0c"              // Pool Handle, Length 12
        "45 63 68 6f 50 6f 6f 6c"  //   "EchoPool"
        "00 0a 00 34"              // Pool Element, Length 52
        "10 00 00 0e"              //   PE Identifier 0x1000000e
        "00 00 00 00"              //   Home ENRP Server Identifier 0
        "00 04 93 e0"              //   Registration Life 300000 ms
        "00 04 00 10"              //   SCTP Transport, Length 16
        "00 07 00 01"              //     Port 7, Transport Use DATA plus CONTROL
        "00 01 00 08"              //     IPv4 Address, Length 8
        "7f 00 00 01"              //       127.0.0.1
        "00 08 00 14"              //   Pool Member Selection Policy, Length 20
        "b0 00 20 01"              //     WRAND-DPF
        "00 00 00 07"              //     Weight 7
        "00 01 00 00"              //     Weight DPF
        "00 00 00 96",             //     Distance 150 ms
        echo_registration(0x1000000e, sctp_7_loopback(), p)));
  }

  {
    Policy p = policy_load(PolicyType::least_used_dpf, 0x40000000);
    p.load_dpf = 0x00020000;
    p.distance = 200;
    v.push_back(asap_vector("asap_registration_lu_dpf",
        "01 00 00 44"              // ASAP_REGISTRATION, flags 0, Message Length 68
        "00 09 00 0c"              // Pool Handle, Length 12
        "45 63 68 6f 50 6f 6f 6c"  //   "EchoPool"
        "00 0a 00 34"              // Pool Element, Length 52
        "10 00 00 0f"              //   PE Identifier 0x1000000f
        "00 00 00 00"              //   Home ENRP Server Identifier 0
        "00 04 93 e0"              //   Registration Life 300000 ms
        "00 04 00 10"              //   SCTP Transport, Length 16
        "00 07 00 01"              //     Port 7, Transport Use DATA plus CONTROL
        "00 01 00 08"              //     IPv4 Address, Length 8
        "7f 00 00 01"              //       127.0.0.1
        "00 08 00 14"              //   Pool Member Selection Policy, Length 20
        "b0 00 20 02"              //     LU-DPF
        "40 00 00 00"              //     Load 25 %
        "00 02 00 00"              //     Load DPF
        "00 00 00 c8",             //     Distance 200 ms
        echo_registration(0x1000000f, sctp_7_loopback(), p)));
  }

  {
    Policy p = policy_load(PolicyType::least_used_degradation_dpf, 0x40000000, 0x00100000);
    p.load_dpf = 0x00030000;
    p.distance = 250;
    v.push_back(asap_vector("asap_registration_lud_dpf",
        "01 00 00 48"              // ASAP_REGISTRATION, flags 0, Message Length 72
        "00 09 00 0c"              // Pool Handle, Length 12
        "45 63 68 6f 50 6f 6f 6c"  //   "EchoPool"
        "00 0a 00 38"              // Pool Element, Length 56
        "10 00 00 10"              //   PE Identifier 0x10000010
        "00 00 00 00"              //   Home ENRP Server Identifier 0
        "00 04 93 e0"              //   Registration Life 300000 ms
        "00 04 00 10"              //   SCTP Transport, Length 16
        "00 07 00 01"              //     Port 7, Transport Use DATA plus CONTROL
        "00 01 00 08"              //     IPv4 Address, Length 8
        "7f 00 00 01"              //       127.0.0.1
        "00 08 00 18"              //   Pool Member Selection Policy, Length 24
        "b0 00 20 03"              //     RSPLIB LUD-DPF
        "40 00 00 00"              //     Load 25 %
        "00 10 00 00"              //     Load Degradation
        "00 03 00 00"              //     Load DPF
        "00 00 00 fa",             //     Distance 250 ms
        echo_registration(0x10000010, sctp_7_loopback(), p)));
  }

  // =====================================================================================
  // ASAP_DEREGISTRATION (0x02) and the responses (0x03, 0x04).
  // =====================================================================================

  {
    asap::Deregistration m;
    m.pool_handle = "EchoPool";
    m.pe_identifier = 0x1234abcd;
    v.push_back(asap_vector("asap_deregistration",
        "02 00 00 18"              // ASAP_DEREGISTRATION, flags 0, Message Length 24
        "00 09 00 0c"              // Pool Handle, Length 12
        "45 63 68 6f 50 6f 6f 6c"  //   "EchoPool"
        "00 0e 00 08"              // PE Identifier, Length 8
        "12 34 ab cd",             //   0x1234abcd
        std::move(m)));
  }

  {
    asap::RegistrationResponse m;
    m.pool_handle = "EchoPool";
    m.pe_identifier = 0x1234abcd;
    v.push_back(asap_vector("asap_registration_response",
        "03 00 00 18"              // ASAP_REGISTRATION_RESPONSE, flags 0, Message Length 24
        "00 09 00 0c"              // Pool Handle, Length 12
        "45 63 68 6f 50 6f 6f 6c"  //   "EchoPool"
        "00 0e 00 08"              // PE Identifier, Length 8
        "12 34 ab cd",             //   0x1234abcd
        std::move(m)));
  }

  {
    asap::RegistrationResponse m;
    m.reject = true;
    m.pool_handle = "CalcAppPool";
    m.pe_identifier = 0x1234abcd;
    m.error = op_error({cause(CauseCode::lack_of_resources)});
    v.push_back(asap_vector("asap_registration_response_reject",
        "03 01 00 24"              // ASAP_REGISTRATION_RESPONSE, R flag, Message Length 36
        "00 09 00 0f"              // Pool Handle, Length 15
        "43 61 6c 63 41 70 70 50"  //   "CalcAppP"
        "6f 6f 6c 00"              //   "ool" + 1 pad byte
        "00 0e 00 08"              // PE Identifier, Length 8
        "12 34 ab cd"              //   0x1234abcd
        "00 0c 00 08"              // Operation Error, Length 8
        "00 06 00 04",             //   Lack of Resources, Length 4
        std::move(m)));
  }

  {
    asap::DeregistrationResponse m;
    m.pool_handle = "EchoPool";
    m.pe_identifier = 0x1234abcd;
    v.push_back(asap_vector("asap_deregistration_response",
        "04 00 00 18"              // ASAP_DEREGISTRATION_RESPONSE, flags 0, Length 24
        "00 09 00 0c"              // Pool Handle, Length 12
        "45 63 68 6f 50 6f 6f 6c"  //   "EchoPool"
        "00 0e 00 08"              // PE Identifier, Length 8
        "12 34 ab cd",             //   0x1234abcd
        std::move(m)));
  }

  {
    asap::DeregistrationResponse m;
    m.pool_handle = "EchoPool";
    m.pe_identifier = 0x1234abcd;
    m.error = op_error({cause(CauseCode::unknown_pool_handle)});
    v.push_back(asap_vector("asap_deregistration_response_error",
        "04 00 00 20"              // ASAP_DEREGISTRATION_RESPONSE, flags 0, Length 32
        "00 09 00 0c"              // Pool Handle, Length 12
        "45 63 68 6f 50 6f 6f 6c"  //   "EchoPool"
        "00 0e 00 08"              // PE Identifier, Length 8
        "12 34 ab cd"              //   0x1234abcd
        "00 0c 00 08"              // Operation Error, Length 8
        "00 09 00 04",             //   Unknown Pool Handle, Length 4
        std::move(m)));
  }

  // =====================================================================================
  // ASAP_HANDLE_RESOLUTION (0x05) and its response (0x06).
  // =====================================================================================

  {
    asap::HandleResolution m;
    m.pool_handle = "EchoPool";
    v.push_back(asap_vector("asap_handle_resolution",
        "05 00 00 10"              // ASAP_HANDLE_RESOLUTION, flags 0, Message Length 16
        "00 09 00 0c"              // Pool Handle, Length 12
        "45 63 68 6f 50 6f 6f 6c", //   "EchoPool"
        std::move(m)));
  }

  {
    asap::HandleResolution m;
    m.pool_handle = "EchoPool";
    m.items = kAllItems;
    v.push_back(asap_vector("asap_handle_resolution_option_all",
        "05 00 00 18"              // ASAP_HANDLE_RESOLUTION, flags 0, Message Length 24
        "00 09 00 0c"              // Pool Handle, Length 12
        "45 63 68 6f 50 6f 6f 6c"  //   "EchoPool"
        "80 3f 00 08"              // Handle Resolution Option (RSPLIB 0x803f), Length 8
        "ff ff ff ff",             //   Items: as many as possible
        std::move(m)));
  }

  {
    asap::HandleResolution m;
    m.pool_handle = "CalcAppPool";
    m.items = 3;
    v.push_back(asap_vector("asap_handle_resolution_option_odd_handle",
        "05 00 00 1c"              // ASAP_HANDLE_RESOLUTION, flags 0, Message Length 28
        "00 09 00 0f"              // Pool Handle, Length 15
        "43 61 6c 63 41 70 70 50"  //   "CalcAppP"
        "6f 6f 6c 00"              //   "ool" + 1 pad byte
        "80 3f 00 08"              // Handle Resolution Option, Length 8
        "00 00 00 03",             //   Items 3
        std::move(m)));
  }

  {
    asap::HandleResolutionResponse m;
    m.pool_handle = "EchoPool";
    m.overall_policy = policy_load(PolicyType::least_used, 0);
    m.pool_elements.push_back(pe(0x1234abcd, 0x11111111, 300000, sctp_7_loopback(),
                                 policy_load(PolicyType::least_used, 0x40000000)));
    m.pool_elements.push_back(
        pe(0x5678ef01, 0x11111111, 300000, tcp_7(),
           policy_load(PolicyType::least_used, 0x80000000)));
    v.push_back(asap_vector("asap_handle_resolution_response_two_pes",
        "06 00 00 74"              // ASAP_HANDLE_RESOLUTION_RESPONSE, flags 0, Length 116
        "00 09 00 0c"              // Pool Handle, Length 12
        "45 63 68 6f 50 6f 6f 6c"  //   "EchoPool"
        "00 08 00 0c"              // Pool Member Selection Policy (overall), Length 12
        "40 00 00 01"              //   Least Used
        "00 00 00 00"              //   Load 0
        "00 0a 00 2c"              // Pool Element, Length 44
        "12 34 ab cd"              //   PE Identifier 0x1234abcd
        "11 11 11 11"              //   Home ENRP Server Identifier 0x11111111
        "00 04 93 e0"              //   Registration Life 300000 ms
        "00 04 00 10"              //   SCTP Transport, Length 16
        "00 07 00 01"              //     Port 7, Transport Use DATA plus CONTROL
        "00 01 00 08"              //     IPv4 Address, Length 8
        "7f 00 00 01"              //       127.0.0.1
        "00 08 00 0c"              //   Pool Member Selection Policy, Length 12
        "40 00 00 01"              //     Least Used
        "40 00 00 00"              //     Load 25 %
        "00 0a 00 2c"              // Pool Element, Length 44
        "56 78 ef 01"              //   PE Identifier 0x5678ef01
        "11 11 11 11"              //   Home ENRP Server Identifier 0x11111111
        "00 04 93 e0"              //   Registration Life 300000 ms
        "00 05 00 10"              //   TCP Transport, Length 16
        "00 07 00 00"              //     Port 7, Transport Use DATA ONLY
        "00 01 00 08"              //     IPv4 Address, Length 8
        "0a 00 00 01"              //       10.0.0.1
        "00 08 00 0c"              //   Pool Member Selection Policy, Length 12
        "40 00 00 01"              //     Least Used
        "80 00 00 00",             //     Load 50 %
        std::move(m)));
  }

  {
    asap::HandleResolutionResponse m;
    m.pool_handle = "EchoPool";
    m.error = op_error({cause(CauseCode::unknown_pool_handle)});
    v.push_back(asap_vector("asap_handle_resolution_response_error",
        "06 00 00 18"              // ASAP_HANDLE_RESOLUTION_RESPONSE, flags 0, Length 24
        "00 09 00 0c"              // Pool Handle, Length 12
        "45 63 68 6f 50 6f 6f 6c"  //   "EchoPool"
        "00 0c 00 08"              // Operation Error, Length 8
        "00 09 00 04",             //   Unknown Pool Handle, Length 4
        std::move(m)));
  }

  // =====================================================================================
  // ASAP_ENDPOINT_KEEP_ALIVE (0x07), _ACK (0x08), ASAP_ENDPOINT_UNREACHABLE (0x09).
  // =====================================================================================

  {
    asap::EndpointKeepAlive m;
    m.server_id = 0x0badcafe;
    m.pool_handle = "EchoPool";
    v.push_back(asap_vector("asap_endpoint_keep_alive",
        "07 00 00 14"              // ASAP_ENDPOINT_KEEP_ALIVE, flags 0, Message Length 20
        "0b ad ca fe"              // Server Identifier (bare u32)
        "00 09 00 0c"              // Pool Handle, Length 12
        "45 63 68 6f 50 6f 6f 6c", //   "EchoPool"
        std::move(m)));
  }

  {
    asap::EndpointKeepAlive m;
    m.home = true;
    m.server_id = 0x0badcafe;
    m.pool_handle = "EchoPool";
    m.pe_identifier = 0x1234abcd;
    v.push_back(asap_vector("asap_endpoint_keep_alive_home_pe_id",
        "07 01 00 1c"              // ASAP_ENDPOINT_KEEP_ALIVE, H flag, Message Length 28
        "0b ad ca fe"              // Server Identifier (bare u32)
        "00 09 00 0c"              // Pool Handle, Length 12
        "45 63 68 6f 50 6f 6f 6c"  //   "EchoPool"
        "00 0e 00 08"              // PE Identifier (RSPLIB addition), Length 8
        "12 34 ab cd",             //   0x1234abcd
        std::move(m)));
  }

  {
    asap::EndpointKeepAliveAck m;
    m.pool_handle = "EchoPool";
    m.pe_identifier = 0x1234abcd;
    v.push_back(asap_vector("asap_endpoint_keep_alive_ack",
        "08 00 00 18"              // ASAP_ENDPOINT_KEEP_ALIVE_ACK, flags 0, Length 24
        "00 09 00 0c"              // Pool Handle, Length 12
        "45 63 68 6f 50 6f 6f 6c"  //   "EchoPool"
        "00 0e 00 08"              // PE Identifier, Length 8
        "12 34 ab cd",             //   0x1234abcd
        std::move(m)));
  }

  {
    asap::EndpointUnreachable m;
    m.pool_handle = "CalcAppPool";
    m.pe_identifier = 0x5678ef01;
    v.push_back(asap_vector("asap_endpoint_unreachable",
        "09 00 00 1c"              // ASAP_ENDPOINT_UNREACHABLE, flags 0, Length 28
        "00 09 00 0f"              // Pool Handle, Length 15
        "43 61 6c 63 41 70 70 50"  //   "CalcAppP"
        "6f 6f 6c 00"              //   "ool" + 1 pad byte
        "00 0e 00 08"              // PE Identifier, Length 8
        "56 78 ef 01",             //   0x5678ef01
        std::move(m)));
  }

  // =====================================================================================
  // ASAP_SERVER_ANNOUNCE (0x0a).
  // =====================================================================================

  {
    asap::ServerAnnounce m;
    m.server_id = 0x0badcafe;
    v.push_back(asap_vector("asap_server_announce",
        "0a 00 00 08"              // ASAP_SERVER_ANNOUNCE, flags 0, Message Length 8
        "0b ad ca fe",             // Server Identifier (bare u32); RSPLIB sends nothing else
        std::move(m)));
  }

  {
    asap::ServerAnnounce m;
    m.server_id = 0x0badcafe;
    m.transports.push_back(transport(TransportKind::sctp, 3863, TransportUse::data_plus_control,
                                     {v6_2001_db8_1(), v4(192, 0, 2, 1)}));
    m.transports.push_back(asap_sctp(v4(127, 0, 0, 1)));
    v.push_back(asap_vector("asap_server_announce_transports",
        "0a 00 00 3c"              // ASAP_SERVER_ANNOUNCE, flags 0, Message Length 60
        "0b ad ca fe"              // Server Identifier (bare u32)
        "00 04 00 24"              // SCTP Transport, Length 36
        "0f 17 00 01"              //   Port 3863, Transport Use DATA plus CONTROL
        "00 02 00 14"              //   IPv6 Address, Length 20
        "20 01 0d b8 00 00 00 00"  //     2001:db8::1
        "00 00 00 00 00 00 00 01"  //
        "00 01 00 08"              //   IPv4 Address, Length 8
        "c0 00 02 01"              //     192.0.2.1
        "00 04 00 10"              // SCTP Transport, Length 16
        "0f 17 00 01"              //   Port 3863, Transport Use DATA plus CONTROL
        "00 01 00 08"              //   IPv4 Address, Length 8
        "7f 00 00 01",             //     127.0.0.1
        std::move(m)));
  }

  // =====================================================================================
  // ASAP_COOKIE (0x0b), ASAP_COOKIE_ECHO (0x0c).
  // =====================================================================================

  {
    asap::Cookie m;
    m.cookie = {0x01, 0x02, 0x03, 0x04, 0x05};
    v.push_back(asap_vector("asap_cookie",
        "0b 00 00 10"              // ASAP_COOKIE, flags 0, Message Length 16
        "00 0d 00 09"              // Cookie, Length 9 (5 bytes)
        "01 02 03 04 05"           //   cookie
        "00 00 00",                //   3 pad bytes
        std::move(m)));
  }

  {
    asap::CookieEcho m;
    m.cookie = {0xc0, 0xff, 0xee, 0x00, 0x11, 0x22, 0x33};
    v.push_back(asap_vector("asap_cookie_echo",
        "0c 00 00 10"              // ASAP_COOKIE_ECHO, flags 0, Message Length 16
        "00 0d 00 0b"              // Cookie, Length 11 (7 bytes)
        "c0 ff ee 00 11 22 33"     //   cookie
        "00",                      //   1 pad byte
        std::move(m)));
  }

  // =====================================================================================
  // ASAP_BUSINESS_CARD (0x0d).
  // =====================================================================================

  {
    asap::BusinessCard m;
    m.pool_handle = "CalcAppPool";
    m.policy = policy(PolicyType::round_robin);
    m.pool_elements.push_back(pe(0x20000001, 0, 300000, sctp_7_loopback(),
                                 policy(PolicyType::round_robin)));
    m.pool_elements.push_back(pe(0x20000002, 0, 300000, tcp_7(),
                                 policy(PolicyType::round_robin)));
    v.push_back(asap_vector("asap_business_card",
        "0d 00 00 6c"              // ASAP_BUSINESS_CARD, flags 0, Message Length 108
        "00 09 00 0f"              // Pool Handle, Length 15
        "43 61 6c 63 41 70 70 50"  //   "CalcAppP"
        "6f 6f 6c 00"              //   "ool" + 1 pad byte
        "00 08 00 08"              // Pool Member Selection Policy, Length 8
        "00 00 00 01"              //   Round Robin
        "00 0a 00 28"              // Pool Element, Length 40
        "20 00 00 01"              //   PE Identifier 0x20000001
        "00 00 00 00"              //   Home ENRP Server Identifier 0
        "00 04 93 e0"              //   Registration Life 300000 ms
        "00 04 00 10"              //   SCTP Transport, Length 16
        "00 07 00 01"              //     Port 7, Transport Use DATA plus CONTROL
        "00 01 00 08"              //     IPv4 Address, Length 8
        "7f 00 00 01"              //       127.0.0.1
        "00 08 00 08"              //   Pool Member Selection Policy, Length 8
        "00 00 00 01"              //     Round Robin
        "00 0a 00 28"              // Pool Element, Length 40
        "20 00 00 02"              //   PE Identifier 0x20000002
        "00 00 00 00"              //   Home ENRP Server Identifier 0
        "00 04 93 e0"              //   Registration Life 300000 ms
        "00 05 00 10"              //   TCP Transport, Length 16
        "00 07 00 00"              //     Port 7, Transport Use DATA ONLY
        "00 01 00 08"              //     IPv4 Address, Length 8
        "0a 00 00 01"              //       10.0.0.1
        "00 08 00 08"              //   Pool Member Selection Policy, Length 8
        "00 00 00 01",             //     Round Robin
        std::move(m)));
  }

  // =====================================================================================
  // ASAP_ERROR (0x0e): all ten cause codes between the two vectors plus the ones above.
  // =====================================================================================

  {
    asap::Error m;
    m.error = op_error({
        cause(CauseCode::unrecognized_parameter, {0x40, 0x30, 0x00, 0x08, 0xde, 0xad, 0xbe, 0xef}),
        cause(CauseCode::invalid_values, {0x00, 0x0f, 0x00, 0x06, 0x12, 0x34}),
        cause(CauseCode::inconsistent_pooling_policy,
              {0x00, 0x08, 0x00, 0x08, 0x00, 0x00, 0x00, 0x01}),
        cause(CauseCode::non_unique_pe_identifier),
        cause(CauseCode::lack_of_resources),
        cause(CauseCode::inconsistent_transport_type,
              {0x00, 0x05, 0x00, 0x10, 0x00, 0x07, 0x00, 0x00,
               0x00, 0x01, 0x00, 0x08, 0x0a, 0x00, 0x00, 0x01}),
        cause(CauseCode::inconsistent_data_control_configuration),
        cause(CauseCode::rejection_due_to_security),
    });
    v.push_back(asap_vector("asap_error_several_causes",
        "0e 00 00 50"              // ASAP_ERROR, flags 0, Message Length 80
        "00 0c 00 4c"              // Operation Error, Length 76 (counts the cause pads)
        "00 01 00 0c"              //   Unrecognized Parameter, Length 12
        "40 30 00 08 de ad be ef"  //     the offending TLV (type 0x4030, Length 8)
        "00 03 00 0a"              //   Invalid Values, Length 10
        "00 0f 00 06 12 34"        //     the offending PE Checksum TLV (Length 6)
        "00 00"                    //     2 pad bytes of the cause
        "00 05 00 0c"              //   Inconsistent Pooling Policy, Length 12
        "00 08 00 08 00 00 00 01"  //     the offending policy (Round Robin)
        "00 04 00 04"              //   Non-unique PE Identifier, Length 4
        "00 06 00 04"              //   Lack of Resources, Length 4
        "00 07 00 14"              //   Inconsistent Transport Type, Length 20
        "00 05 00 10 00 07 00 00"  //     TCP Transport, Length 16, port 7, DATA ONLY
        "00 01 00 08 0a 00 00 01"  //     IPv4 Address 10.0.0.1
        "00 08 00 04"              //   Inconsistent Data/Control Configuration, Length 4
        "00 0a 00 04",             //   Rejection due to security considerations, Length 4
        std::move(m)));
  }

  {
    // An error Wireshark decodes cleanly (no unknown nested types): the Wireshark
    // cross-check takes this one as it is.
    asap::Error m;
    m.error = op_error({cause(CauseCode::lack_of_resources),
                        cause(CauseCode::unknown_pool_handle)});
    v.push_back(asap_vector("asap_error_lack_of_resources",
        "0e 00 00 10"              // ASAP_ERROR, flags 0, Message Length 16
        "00 0c 00 0c"              // Operation Error, Length 12
        "00 06 00 04"              //   Lack of Resources, Length 4
        "00 09 00 04",             //   Unknown Pool Handle, Length 4
        std::move(m)));
  }

  {
    asap::Error m;
    m.error = op_error({cause(CauseCode::unrecognized_message,
                              {0x0f, 0x00, 0x00, 0x08, 0xde, 0xad, 0xbe, 0xef})});
    v.push_back(asap_vector("asap_error_unrecognized_message",
        "0e 00 00 14"              // ASAP_ERROR, flags 0, Message Length 20
        "00 0c 00 10"              // Operation Error, Length 16
        "00 02 00 0c"              //   Unrecognized Message, Length 12
        "0f 00 00 08"              //     the offending message: type 0x0f, Length 8
        "de ad be ef",             //     its body
        std::move(m)));
  }

  // =====================================================================================
  // ENRP: header, Sender Server ID, Receiver Server ID, body.
  // =====================================================================================

  {
    enrp::Presence m;
    m.sender = 0x11111111;
    m.receiver = 0x22222222;
    m.reply_required = true;
    m.pe_checksum = 0xd44f;
    m.server_information = server_info(
        0x11111111,
        transport(TransportKind::sctp, 9901, TransportUse::data_plus_control, {v4(127, 0, 0, 1)}));
    v.push_back(enrp_vector("enrp_presence_reply_required",
        "01 01 00 2c"              // ENRP_PRESENCE, R flag, Message Length 44
        "11 11 11 11"              // Sender Server's ID
        "22 22 22 22"              // Receiver Server's ID
        "00 0f 00 06"              // PE Checksum, Length 6
        "d4 4f 00 00"              //   0xd44f + 2 pad bytes
        "00 0b 00 18"              // Server Information, Length 24
        "11 11 11 11"              //   Server Identifier
        "00 04 00 10"              //   SCTP Transport, Length 16
        "26 ad 00 01"              //     Port 9901, Transport Use DATA plus CONTROL
        "00 01 00 08"              //     IPv4 Address, Length 8
        "7f 00 00 01",             //       127.0.0.1
        std::move(m)));
  }

  {
    enrp::Presence m;
    m.sender = 0x11111111;
    m.receiver = 0;
    m.pe_checksum = 0xabcd;
    v.push_back(enrp_vector("enrp_presence_checksum_only",
        "01 00 00 14"              // ENRP_PRESENCE, flags 0, Message Length 20
        "11 11 11 11"              // Sender Server's ID
        "00 00 00 00"              // Receiver Server's ID 0 (all)
        "00 0f 00 06"              // PE Checksum, Length 6
        "ab cd 00 00",             //   0xabcd + 2 pad bytes
        std::move(m)));
  }

  {
    enrp::HandleTableRequest m;
    m.sender = 0x11111111;
    m.receiver = 0x22222222;
    m.own_children_only = true;
    v.push_back(enrp_vector("enrp_handle_table_request_own_children",
        "02 01 00 0c"              // ENRP_HANDLE_TABLE_REQUEST, W flag, Message Length 12
        "11 11 11 11"              // Sender Server's ID
        "22 22 22 22",             // Receiver Server's ID
        std::move(m)));
  }

  {
    enrp::HandleTableRequest m;
    m.sender = 0x22222222;
    m.receiver = 0x11111111;
    v.push_back(enrp_vector("enrp_handle_table_request",
        "02 00 00 0c"              // ENRP_HANDLE_TABLE_REQUEST, flags 0, Message Length 12
        "22 22 22 22"              // Sender Server's ID
        "11 11 11 11",             // Receiver Server's ID
        std::move(m)));
  }

  {
    enrp::HandleTableResponse m;
    m.sender = 0x11111111;
    m.receiver = 0x22222222;
    m.more = true;
    enrp::PoolEntry echo;
    echo.pool_handle = "EchoPool";
    echo.pool_elements.push_back(pe(0x1234abcd, 0x11111111, 300000, sctp_7_loopback(),
                                    policy_load(PolicyType::least_used, 0x40000000),
                                    asap_sctp(v4(127, 0, 0, 1))));
    echo.pool_elements.push_back(
        pe(0x5678ef01, 0x11111111, 300000,
           transport(TransportKind::udp, 7, TransportUse::data_only, {v4(10, 0, 0, 2)}),
           policy_load(PolicyType::least_used, 0x80000000), asap_sctp(v4(10, 0, 0, 2))));
    enrp::PoolEntry calc;
    calc.pool_handle = "CalcAppPool";
    calc.pool_elements.push_back(pe(1, 0x22222222, 300000, tcp_7(),
                                    policy(PolicyType::round_robin),
                                    asap_sctp(v4(10, 0, 0, 1))));
    m.pools.push_back(std::move(echo));
    m.pools.push_back(std::move(calc));
    v.push_back(enrp_vector("enrp_handle_table_response_more",
        "03 02 00 d8"              // ENRP_HANDLE_TABLE_RESPONSE, M flag, Length 216
        "11 11 11 11"              // Sender Server's ID
        "22 22 22 22"              // Receiver Server's ID
        "00 09 00 0c"              // Pool Handle, Length 12
        "45 63 68 6f 50 6f 6f 6c"  //   "EchoPool"
        "00 0a 00 3c"              // Pool Element, Length 60
        "12 34 ab cd"              //   PE Identifier 0x1234abcd
        "11 11 11 11"              //   Home ENRP Server Identifier 0x11111111
        "00 04 93 e0"              //   Registration Life 300000 ms
        "00 04 00 10"              //   SCTP Transport (user), Length 16
        "00 07 00 01"              //     Port 7, Transport Use DATA plus CONTROL
        "00 01 00 08"              //     IPv4 Address, Length 8
        "7f 00 00 01"              //       127.0.0.1
        "00 08 00 0c"              //   Pool Member Selection Policy, Length 12
        "40 00 00 01"              //     Least Used
        "40 00 00 00"              //     Load 25 %
        "00 04 00 10"              //   SCTP Transport (ASAP), Length 16
        "0f 17 00 01"              //     Port 3863, Transport Use DATA plus CONTROL
        "00 01 00 08"              //     IPv4 Address, Length 8
        "7f 00 00 01"              //       127.0.0.1
        "00 0a 00 3c"              // Pool Element, Length 60
        "56 78 ef 01"              //   PE Identifier 0x5678ef01
        "11 11 11 11"              //   Home ENRP Server Identifier 0x11111111
        "00 04 93 e0"              //   Registration Life 300000 ms
        "00 06 00 10"              //   UDP Transport (user), Length 16
        "00 07 00 00"              //     Port 7, Reserved 0
        "00 01 00 08"              //     IPv4 Address, Length 8
        "0a 00 00 02"              //       10.0.0.2
        "00 08 00 0c"              //   Pool Member Selection Policy, Length 12
        "40 00 00 01"              //     Least Used
        "80 00 00 00"              //     Load 50 %
        "00 04 00 10"              //   SCTP Transport (ASAP), Length 16
        "0f 17 00 01"              //     Port 3863, Transport Use DATA plus CONTROL
        "00 01 00 08"              //     IPv4 Address, Length 8
        "0a 00 00 02"              //       10.0.0.2
        "00 09 00 0f"              // Pool Handle, Length 15
        "43 61 6c 63 41 70 70 50"  //   "CalcAppP"
        "6f 6f 6c 00"              //   "ool" + 1 pad byte
        "00 0a 00 38"              // Pool Element, Length 56
        "00 00 00 01"              //   PE Identifier 1
        "22 22 22 22"              //   Home ENRP Server Identifier 0x22222222
        "00 04 93 e0"              //   Registration Life 300000 ms
        "00 05 00 10"              //   TCP Transport (user), Length 16
        "00 07 00 00"              //     Port 7, Transport Use DATA ONLY
        "00 01 00 08"              //     IPv4 Address, Length 8
        "0a 00 00 01"              //       10.0.0.1
        "00 08 00 08"              //   Pool Member Selection Policy, Length 8
        "00 00 00 01"              //     Round Robin
        "00 04 00 10"              //   SCTP Transport (ASAP), Length 16
        "0f 17 00 01"              //     Port 3863, Transport Use DATA plus CONTROL
        "00 01 00 08"              //     IPv4 Address, Length 8
        "0a 00 00 01",             //       10.0.0.1
        std::move(m)));
  }

  {
    enrp::HandleTableResponse m;
    m.sender = 0x11111111;
    m.receiver = 0x22222222;
    m.reject = true;
    v.push_back(enrp_vector("enrp_handle_table_response_reject",
        "03 01 00 0c"              // ENRP_HANDLE_TABLE_RESPONSE, R flag, Message Length 12
        "11 11 11 11"              // Sender Server's ID
        "22 22 22 22",             // Receiver Server's ID
        std::move(m)));
  }

  {
    enrp::HandleUpdate m;
    m.sender = 0x11111111;
    m.receiver = 0x22222222;
    m.takeover_suggested = true;
    m.action = UpdateAction::del_pe;
    m.pool_handle = "EchoPool";
    m.pool_element = pe(0x1234abcd, 0x11111111, 300000, sctp_7_loopback(),
                        policy_load(PolicyType::least_used, 0x40000000),
                        asap_sctp(v4(127, 0, 0, 1)));
    v.push_back(enrp_vector("enrp_handle_update_takeover_del_pe",
        "04 01 00 58"              // ENRP_HANDLE_UPDATE, T flag, Message Length 88
        "11 11 11 11"              // Sender Server's ID
        "22 22 22 22"              // Receiver Server's ID
        "00 01 00 00"              // Update Action DEL_PE, Reserved 0
        "00 09 00 0c"              // Pool Handle, Length 12
        "45 63 68 6f 50 6f 6f 6c"  //   "EchoPool"
        "00 0a 00 3c"              // Pool Element, Length 60
        "12 34 ab cd"              //   PE Identifier 0x1234abcd
        "11 11 11 11"              //   Home ENRP Server Identifier 0x11111111
        "00 04 93 e0"              //   Registration Life 300000 ms
        "00 04 00 10"              //   SCTP Transport (user), Length 16
        "00 07 00 01"              //     Port 7, Transport Use DATA plus CONTROL
        "00 01 00 08"              //     IPv4 Address, Length 8
        "7f 00 00 01"              //       127.0.0.1
        "00 08 00 0c"              //   Pool Member Selection Policy, Length 12
        "40 00 00 01"              //     Least Used
        "40 00 00 00"              //     Load 25 %
        "00 04 00 10"              //   SCTP Transport (ASAP), Length 16
        "0f 17 00 01"              //     Port 3863, Transport Use DATA plus CONTROL
        "00 01 00 08"              //     IPv4 Address, Length 8
        "7f 00 00 01",             //       127.0.0.1
        std::move(m)));
  }

  {
    Policy p = policy_load(PolicyType::least_used_degradation_dpf, 0x40000000, 0x00100000);
    p.load_dpf = 0x00030000;
    p.distance = 250;
    enrp::HandleUpdate m;
    m.sender = 0x11111111;
    m.receiver = 0;
    m.action = UpdateAction::add_pe;
    m.pool_handle = "EchoPool";
    m.pool_element = pe(0x10000010, 0x11111111, 300000, sctp_multihomed(), p,
                        asap_sctp(v6_2001_db8_1()));
    v.push_back(enrp_vector("enrp_handle_update_add_pe_ipv6",
        "04 00 00 84"              // ENRP_HANDLE_UPDATE, flags 0, Message Length 132
        "11 11 11 11"              // Sender Server's ID
        "00 00 00 00"              // Receiver Server's ID 0 (all)
        "00 00 00 00"              // Update Action ADD_PE, Reserved 0
        "00 09 00 0c"              // Pool Handle, Length 12
        "45 63 68 6f 50 6f 6f 6c"  //   "EchoPool"
        "00 0a 00 68"              // Pool Element, Length 104
        "10 00 00 10"              //   PE Identifier 0x10000010
        "11 11 11 11"              //   Home ENRP Server Identifier 0x11111111
        "00 04 93 e0"              //   Registration Life 300000 ms
        "00 04 00 24"              //   SCTP Transport (user), Length 36
        "23 28 00 00"              //     Port 9000, Transport Use DATA ONLY
        "00 02 00 14"              //     IPv6 Address, Length 20
        "20 01 0d b8 00 00 00 00"  //       2001:db8::1
        "00 00 00 00 00 00 00 01"  //
        "00 01 00 08"              //     IPv4 Address, Length 8
        "c0 00 02 01"              //       192.0.2.1
        "00 08 00 18"              //   Pool Member Selection Policy, Length 24
        "b0 00 20 03"              //     RSPLIB LUD-DPF
        "40 00 00 00"              //     Load 25 %
        "00 10 00 00"              //     Load Degradation
        "00 03 00 00"              //     Load DPF
        "00 00 00 fa"              //     Distance 250 ms
        "00 04 00 1c"              //   SCTP Transport (ASAP), Length 28
        "0f 17 00 01"              //     Port 3863, Transport Use DATA plus CONTROL
        "00 02 00 14"              //     IPv6 Address, Length 20
        "20 01 0d b8 00 00 00 00"  //       2001:db8::1
        "00 00 00 00 00 00 00 01", //
        std::move(m)));
  }

  {
    enrp::ListRequest m;
    m.sender = 0x11111111;
    m.receiver = 0x22222222;
    v.push_back(enrp_vector("enrp_list_request",
        "05 00 00 0c"              // ENRP_LIST_REQUEST, flags 0, Message Length 12
        "11 11 11 11"              // Sender Server's ID
        "22 22 22 22",             // Receiver Server's ID
        std::move(m)));
  }

  {
    enrp::ListResponse m;
    m.sender = 0x22222222;
    m.receiver = 0x11111111;
    m.servers.push_back(server_info(
        0x11111111,
        transport(TransportKind::sctp, 9901, TransportUse::data_plus_control, {v4(127, 0, 0, 1)})));
    m.servers.push_back(server_info(
        0x33333333, transport(TransportKind::sctp, 9901, TransportUse::data_plus_control,
                              {v6_2001_db8_1(), v4(192, 0, 2, 1)})));
    v.push_back(enrp_vector("enrp_list_response",
        "06 00 00 50"              // ENRP_LIST_RESPONSE, flags 0, Message Length 80
        "22 22 22 22"              // Sender Server's ID
        "11 11 11 11"              // Receiver Server's ID
        "00 0b 00 18"              // Server Information, Length 24
        "11 11 11 11"              //   Server Identifier
        "00 04 00 10"              //   SCTP Transport, Length 16
        "26 ad 00 01"              //     Port 9901, Transport Use DATA plus CONTROL
        "00 01 00 08"              //     IPv4 Address, Length 8
        "7f 00 00 01"              //       127.0.0.1
        "00 0b 00 2c"              // Server Information, Length 44
        "33 33 33 33"              //   Server Identifier
        "00 04 00 24"              //   SCTP Transport, Length 36
        "26 ad 00 01"              //     Port 9901, Transport Use DATA plus CONTROL
        "00 02 00 14"              //     IPv6 Address, Length 20
        "20 01 0d b8 00 00 00 00"  //       2001:db8::1
        "00 00 00 00 00 00 00 01"  //
        "00 01 00 08"              //     IPv4 Address, Length 8
        "c0 00 02 01",             //       192.0.2.1
        std::move(m)));
  }

  {
    enrp::ListResponse m;
    m.sender = 0x22222222;
    m.receiver = 0x11111111;
    m.reject = true;
    v.push_back(enrp_vector("enrp_list_response_reject",
        "06 01 00 0c"              // ENRP_LIST_RESPONSE, R flag, Message Length 12
        "22 22 22 22"              // Sender Server's ID
        "11 11 11 11",             // Receiver Server's ID
        std::move(m)));
  }

  {
    enrp::InitTakeover m;
    m.sender = 0x11111111;
    m.receiver = 0;
    m.target = 0x33333333;
    v.push_back(enrp_vector("enrp_init_takeover",
        "07 00 00 10"              // ENRP_INIT_TAKEOVER, flags 0, Message Length 16
        "11 11 11 11"              // Sender Server's ID
        "00 00 00 00"              // Receiver Server's ID 0 (all)
        "33 33 33 33",             // Target Server's ID
        std::move(m)));
  }

  {
    enrp::InitTakeoverAck m;
    m.sender = 0x22222222;
    m.receiver = 0x11111111;
    m.target = 0x33333333;
    v.push_back(enrp_vector("enrp_init_takeover_ack",
        "08 00 00 10"              // ENRP_INIT_TAKEOVER_ACK, flags 0, Message Length 16
        "22 22 22 22"              // Sender Server's ID
        "11 11 11 11"              // Receiver Server's ID
        "33 33 33 33",             // Target Server's ID
        std::move(m)));
  }

  {
    enrp::TakeoverServer m;
    m.sender = 0x11111111;
    m.receiver = 0;
    m.target = 0x33333333;
    v.push_back(enrp_vector("enrp_takeover_server",
        "09 00 00 10"              // ENRP_TAKEOVER_SERVER, flags 0, Message Length 16
        "11 11 11 11"              // Sender Server's ID
        "00 00 00 00"              // Receiver Server's ID 0 (all)
        "33 33 33 33",             // Target Server's ID
        std::move(m)));
  }

  {
    enrp::Error m;
    m.sender = 0x22222222;
    m.receiver = 0x11111111;
    m.error = op_error({cause(CauseCode::unrecognized_message,
                              {0x0b, 0x00, 0x00, 0x0c, 0x11, 0x11, 0x11, 0x11,
                               0x22, 0x22, 0x22, 0x22})});
    v.push_back(enrp_vector("enrp_error_unrecognized_message",
        "0a 00 00 20"              // ENRP_ERROR, flags 0, Message Length 32
        "22 22 22 22"              // Sender Server's ID
        "11 11 11 11"              // Receiver Server's ID
        "00 0c 00 14"              // Operation Error, Length 20
        "00 02 00 10"              //   Unrecognized Message, Length 16
        "0b 00 00 0c"              //     nested ENRP message: type 0x0b (unknown), Length 12
        "11 11 11 11"              //       its Sender Server's ID
        "22 22 22 22",             //       its Receiver Server's ID
        std::move(m)));
  }

  {
    enrp::Error m;
    m.sender = 0x22222222;
    m.receiver = 0x11111111;
    m.error = op_error({cause(CauseCode::unrecognized_parameter, {0x70, 0x01, 0x00, 0x05, 0x99}),
                        cause(CauseCode::lack_of_resources)});
    v.push_back(enrp_vector("enrp_error_odd_cause",
        "0a 00 00 20"              // ENRP_ERROR, flags 0, Message Length 32
        "22 22 22 22"              // Sender Server's ID
        "11 11 11 11"              // Receiver Server's ID
        "00 0c 00 14"              // Operation Error, Length 20 (counts the 3 pad bytes)
        "00 01 00 09"              //   Unrecognized Parameter, Length 9
        "70 01 00 05 99"           //     the offending TLV (type 0x7001, Length 5)
        "00 00 00"                 //     3 pad bytes of the cause
        "00 06 00 04",             //   Lack of Resources, Length 4
        std::move(m)));
  }

  {
    enrp::Error m;
    m.sender = 0x11111111;
    m.receiver = 0x22222222;
    m.error = op_error({cause(CauseCode::lack_of_resources)});
    v.push_back(enrp_vector("enrp_error_lack_of_resources",
        "0a 00 00 14"              // ENRP_ERROR, flags 0, Message Length 20
        "11 11 11 11"              // Sender Server's ID
        "22 22 22 22"              // Receiver Server's ID
        "00 0c 00 08"              // Operation Error, Length 8
        "00 06 00 04",             //   Lack of Resources, Length 4
        std::move(m)));
  }

  return v;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

const std::vector<GoldenVector>& golden_vectors() {
  static const std::vector<GoldenVector> vectors = make_vectors();
  return vectors;
}

Bytes from_hex(std::string_view hex) {
  Bytes out;
  out.reserve(hex.size() / 2);
  int high = -1;
  for (char c : hex) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    int d = hex_digit(c);
    if (d < 0) {
      std::fprintf(stderr, "from_hex: invalid character '%c'\n", c);
      std::abort();
    }
    if (high < 0) {
      high = d;
    } else {
      out.push_back(static_cast<std::uint8_t>(high << 4 | d));
      high = -1;
    }
  }
  if (high >= 0) {
    std::fprintf(stderr, "from_hex: odd number of hex digits\n");
    std::abort();
  }
  return out;
}

const GoldenVector* find_golden(std::string_view name) {
  for (const auto& v : golden_vectors())
    if (v.name == name) return &v;
  return nullptr;
}

Bytes golden_bytes(const GoldenVector& v) { return from_hex(v.hex); }

}  // namespace rserpool::wire::testing
