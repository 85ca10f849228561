// The three tables: each role's options in the order of --help and of the command lines the
// runner writes (an experiment's run key hashes the file's options in this order: keep the
// relative order of the in_file rows). See options/roles.hpp.
#include "options/roles.hpp"

#include <array>

namespace rsplab::options {
namespace {

constexpr unsigned kFile = in_file;
constexpr unsigned kTimer = in_file | in_timers;
constexpr unsigned kShow = show_default;
constexpr unsigned kCalcApp = calcapp_only;
constexpr unsigned kEcho = echo_only;

constexpr std::string_view kLogLevel = "error|warning|info|debug";
constexpr std::string_view kEvents = "Write events as JSON lines to FILE ('-': stdout)";

using R = RegistrarOptions;
const std::array<Entry<R>, 24> kRegistrar{{
    {{"transport", Kind::transport, kShow, "auto|sctp|tcp: auto takes SCTP when the kernel has it"},
     &R::transport},
    {{"asap", Kind::text, kShow, "ASAP endpoint ADDR[,ADDR...][:PORT] (port 3863)"}, &R::asap},
    {{"enrp", Kind::text, kShow, "ENRP endpoint ADDR[,ADDR...][:PORT] (port 9901)"}, &R::enrp},
    {{"keepalive-interval", Kind::ms1, kTimer | kShow, "Endpoint keep-alive interval (ms)"},
     &R::keepalive_interval},
    {{"keepalive-timeout", Kind::ms1, kTimer | kShow,
      "Endpoint keep-alive timeout (ms): no ack, the PE is removed"},
     &R::keepalive_timeout},
    {{"max-bad-pe-reports", Kind::count1, kFile | kShow,
      "Endpoint Unreachable reports that remove a PE"},
     &R::max_bad_pe_reports},
    {{"max-hres-items", Kind::count1, kFile | kShow,
      "PEs per handle resolution without a Handle Resolution Option (at most 128)"},
     &R::max_hres_items},
    {{"max-hr-rate", Kind::rate, kFile | kShow,
      "Handle resolutions per second per PU; -1: unlimited"},
     &R::max_hr_rate},
    {{"max-eu-rate", Kind::rate, kFile | kShow,
      "Endpoint Unreachable reports per second per PU; -1: unlimited"},
     &R::max_eu_rate},
    {{"min-address-scope", Kind::scope, kFile,
      "loopback|site-local|global: narrowest PE address accepted (default\n"
      "site-local; loopback when every ASAP address is loopback)"},
     &R::min_address_scope},
    {{"announce", Kind::text, kShow,
      "off, or the multicast ADDR:PORT of ASAP server announces (e.g. 239.0.0.50:3863)"},
     &R::announce},
    {{"peer", Kind::text, 0,
      "ENRP peers ADDR[:PORT][,ADDR[:PORT]...] (port 9901), IPv6 in brackets: dialled\n"
      "at start (default: none)"},
     &R::peer},
    {{"enrp-announce", Kind::text, kShow,
      "off, or the multicast ADDR:PORT of ENRP presence, sent and heard (e.g.\n"
      "239.0.0.51:9901): peers found there beside --peer"},
     &R::enrp_announce},
    {{"peer-heartbeat-interval", Kind::ms1, kTimer | kShow,
      "ENRP Presence to every peer this often (ms, +-12.5 % jitter)"},
     &R::peer_heartbeat_interval},
    {{"peer-max-time-last-heard", Kind::ms1, kTimer | kShow,
      "A peer silent this long gets a Presence with the reply-required flag (ms)"},
     &R::peer_max_time_last_heard},
    {{"peer-max-time-no-response", Kind::ms1, kTimer | kShow,
      "No answer within this (ms): the peer is unreachable and taken over"},
     &R::peer_max_time_no_response},
    {{"mentor-discovery-timeout", Kind::ms1, kTimer | kShow,
      "At start, wait this long for a peer to download the handle table from (ms)"},
     &R::mentor_discovery_timeout},
    {{"takeover-expiry", Kind::ms1, kTimer | kShow,
      "A takeover whose acknowledgements are not all in after this (ms) is\n"
      "completed without them"},
     &R::takeover_expiry},
    {{"takeover-suggestion", Kind::text, kFile | kShow,
      "on|off: the T flag (takeover suggested) in Handle Updates"},
     &R::takeover_suggestion},
    {{"identifier", Kind::text, 0,
      "Registrar ID, non-zero 32 bits (default: random); the Server ID of keep-alives"},
     &R::identifier},
    {{"events", Kind::text, 0, kEvents}, &R::events},
    {{"log-level", Kind::level, kShow, kLogLevel}, &R::log_level},
    {{"seed", Kind::text, 0, "Seed of randomized policies (default: random)"}, &R::seed},
    {{"threads", Kind::count1, kShow,
      "Threads serving ASAP connections (at most 64): each its share of the connections,\n"
      "the handlespace under one lock"},
     &R::threads},
}};

using E = PeOptions;
const std::array<Entry<E>, 24> kPe{{
    {{"registrar", Kind::text, 0,
      "Registrars ADDR[:PORT][,ADDR[:PORT]...] (port 3863), IPv6 in brackets;\n"
      "required unless --announce"},
     &E::registrar},
    {{"pool", Kind::text, required, "Pool handle"}, &E::pool},
    {{"policy", Kind::policy, kShow, "Pool policy NAME[:V1[,V2...]] (see below)"}, &E::policy},
    {{"count", Kind::count1, kShow, "Host N independent PEs in this process"}, &E::count},
    {{"local", Kind::text, 0,
      "User transport addresses ADDR[,ADDR...] (a free port; TCP uses the first); "
      "default: every address of the host, connections leaving from the address "
      "the kernel routes by"},
     &E::local},
    {{"transport", Kind::transport, kShow, "auto|sctp|tcp: auto takes SCTP when the kernel has it"},
     &E::transport},
    {{"seed", Kind::text, kShow, "Seed of the random draws (0: random)"}, &E::seed},
    {{"control", Kind::control, 0,
      "'stdin': JSON-line commands kill/stop/resume/shutdown/restart a member (see below)"},
     &E::control},
    {{"service", Kind::service, kFile | kShow,
      "calcapp|echo: the service the PE serves (echo: docs/echo.md)"},
     &E::service},
    {{"capacity", Kind::capacity, kFile | kShow | kCalcApp,
      "Calculations per second, shared by the jobs; a distribution (exp:1e6, "
      "uniform:1e6,4e6) gives each member its own draw"},
     &E::capacity},
    {{"max-jobs", Kind::count1, kFile | kShow | kCalcApp,
      "Jobs served at once; more are rejected"},
     &E::max_jobs},
    {{"cookie-max-time", Kind::ms0, kTimer | kShow | kCalcApp,
      "A cookie at least this often per job (0: not by time)"},
     &E::cookie_max_time},
    {{"cookie-max-calculations", Kind::amount0, kFile | kShow | kCalcApp,
      "A cookie at least every so many calculations per job (0: not by work)"},
     &E::cookie_max_calculations},
    {{"shutdown-cookie-probability", Kind::probability, kFile | kShow,
      "On a clean shutdown each job gets a fresh cookie with this probability"},
     &E::shutdown_cookie_probability},
    {{"keepalive-interval", Kind::ms1, kTimer | kShow,
      "Session keep-alive to a PU silent this long"},
     &E::keepalive_interval},
    {{"keepalive-timeout", Kind::ms1, kTimer | kShow,
      "Session closed when the PU does not answer within this"},
     &E::keepalive_timeout},
    {{"reregistration-interval", Kind::ms1, kTimer | kShow, "Re-registration interval"},
     &E::reregistration_interval},
    {{"registration-life", Kind::ms1, kTimer,
      "Registration life (default: 3 x the re-registration interval)"},
     &E::registration_life},
    {{"usage-interval", Kind::ms0, kTimer | kShow | kCalcApp,
      "A 'usage' event (used and offered capacity) this often (0: none)"},
     &E::usage_interval},
    {{"cookie-every", Kind::count1, kFile | kShow | kEcho,
      "An ASAP cookie (the reply count) every N replies"},
     &E::cookie_every},
    {{"announce", Kind::text, kShow,
      "off, or the UDP ADDR:PORT where ASAP server announces arrive (a multicast\n"
      "group is joined, e.g. 239.0.0.50:3863): registrars learnt beside --registrar"},
     &E::announce},
    {{"identifier", Kind::text, 0,
      "PE identifier, non-zero 32 bits; member i of --count gets it + i (default: random)"},
     &E::identifier},
    {{"events", Kind::text, 0, kEvents}, &E::events},
    {{"log-level", Kind::level, kShow, kLogLevel}, &E::log_level},
}};

using U = PuOptions;
const std::array<Entry<U>, 22> kPu{{
    {{"registrar", Kind::text, required,
      "Registrars ADDR[:PORT][,ADDR[:PORT]...] (port 3863), IPv6 in brackets"},
     &U::registrar},
    {{"pool", Kind::text, required, "Pool handle"}, &U::pool},
    {{"count", Kind::count1, kShow, "Host N independent PUs in this process"}, &U::count},
    {{"local", Kind::text, 0,
      "Local addresses ADDR[,ADDR...] to bind (SCTP); default: every address of "
      "the host, connections leaving from the address the kernel routes by"},
     &U::local},
    {{"transport", Kind::transport, kShow,
      "auto|sctp|tcp towards registrars; PEs are reached over what they registered "
      "unless tcp or sctp is forced"},
     &U::transport},
    {{"seed", Kind::text, kShow, "Seed of the workload (member i: seed + i; 0: random)"},
     &U::seed},
    {{"name", Kind::text, 0, "Identity in the events (default pu-<pid>; member i: NAME-i)"},
     &U::name},
    {{"runtime", Kind::ms1, 0, "Stop after this long (default: no limit)"}, &U::runtime},
    {{"control", Kind::control, 0,
      "'stdin': JSON-line commands kill/stop/resume/shutdown a member (see below)"},
     &U::control},
    {{"service", Kind::service, kFile | kShow,
      "calcapp|echo: the service the PUs use (echo: docs/echo.md)"},
     &U::service},
    {{"job-size", Kind::dist_amount, kFile | kShow | kCalcApp,
      "Job size distribution (calculations)"},
     &U::job_size},
    {{"interval", Kind::interval, kFile | kShow | kCalcApp, "Job inter-arrival time distribution"},
     &U::interval},
    {{"reject-retry-delay", Kind::dist_time, kTimer | kShow,
      "Delay before retrying a rejected job (a distribution)"},
     &U::reject_retry_delay},
    {{"keepalive-interval", Kind::ms1, kTimer | kShow, "Session keep-alive to a PE silent this long"},
     &U::keepalive_interval},
    {{"keepalive-timeout", Kind::ms1, kTimer | kShow,
      "The PE counts as failed when it does not answer within this"},
     &U::keepalive_timeout},
    {{"stale-cache", Kind::ms0, kTimer | kShow,
      "Keep handle resolutions this long and select locally (0: always ask)"},
     &U::stale_cache},
    {{"resolution-items", Kind::count0, kFile | kShow,
      "Ask for this many PEs per resolution (0: the registrar's default)"},
     &U::resolution_items},
    {{"jobs", Kind::text, kShow | kCalcApp,
      "Generate this many jobs per member, stop when finished (0: no limit)"},
     &U::jobs},
    {{"ping-interval", Kind::ms1, kFile | kShow | kEcho, "A PING this often"},
     &U::ping_interval},
    {{"replies", Kind::count0, kFile | kShow | kEcho,
      "Stop each member after this many replies (0: no limit)"},
     &U::replies},
    {{"events", Kind::text, 0, kEvents}, &U::events},
    {{"log-level", Kind::level, kShow, kLogLevel}, &U::log_level},
}};

}  // namespace

std::span<const Entry<RegistrarOptions>> RegistrarOptions::table() { return kRegistrar; }
std::span<const Entry<PeOptions>> PeOptions::table() { return kPe; }
std::span<const Entry<PuOptions>> PuOptions::table() { return kPu; }

}  // namespace rsplab::options
