// The PE node (pe.hpp): its options checked into the registration core's and the service's
// configurations, its members made (identifiers, capacities, services), restarted and
// stopped, and when it is finished.
#include "node/pe.hpp"

#include <algorithm>
#include <chrono>

#include "stack/common/policy_text.hpp"
#include "stack/handlespace/rng.hpp"
#include "stack/wire/names.hpp"
#include "stack/wire/parameters.hpp"

namespace rsplab::node {

namespace asio = boost::asio;
namespace calcapp = rserpool::calcapp;
namespace session = rserpool::session;
namespace transport = rserpool::transport;
namespace values = rserpool::values;
namespace wire = rserpool::wire;
using common::Level;

struct PeSetup {
  std::vector<transport::Endpoint> registrars;  // the static list (may be empty)
  std::optional<asio::ip::udp::endpoint> announce;
  transport::Endpoint local;
  session::PeConfig config;
  calcapp::ServiceConfig service;
  // A fixed capacity, or a distribution each member draws its own from.
  values::Distribution capacity;
  std::uint64_t seed = 0;
  std::optional<std::uint32_t> first_id;
  transport::Kind kind = transport::Kind::tcp;
  // What makes a member's service afresh (at its start and at each restart): CalcApp with
  // `sc`, or echo with its session settings (keep-alives, shutdown cookies, seed).
  std::function<std::function<std::unique_ptr<PeApp>()>(const calcapp::ServiceConfig& sc)>
      service_maker;
};

namespace {

// Where the PE registers: the --registrar list and --announce, and its local endpoint.
void read_registration(const options::PeOptions& o, PeSetup& s) {
  std::string error;
  const bool announces = *o.announce != "off";
  if (o.registrar->empty() && !announces)
    throw UsageError("--registrar: required unless --announce is given");
  if (!o.registrar->empty()) {
    const auto list = parse_registrars(*o.registrar, &error);
    if (!list) throw UsageError("--registrar: " + error);
    s.registrars = *list;
  }
  if (announces) {
    const auto e = transport::parse_endpoint(*o.announce, wire::kAsapPort, &error);
    if (!e || e->addresses.size() != 1)
      throw UsageError("--announce: 'off' or ADDR:PORT: " + error);
    s.announce = asio::ip::udp::endpoint(e->addresses[0], e->port);
  }
  if (o.pool->empty()) throw UsageError("--pool: a non-empty pool handle");
  const auto policy = rserpool::values::parse_policy(*o.policy, &error);
  const auto local = o.local->empty() ? every_address(s.registrars)
                                      : transport::parse_endpoint(*o.local, 0, &error);
  if (!local) throw UsageError("--local: " + error);
  s.local = *local;
  s.config.pool_handle = *o.pool;
  s.config.policy = *policy;
  s.config.registrar_count = s.registrars.size();
  s.config.reregistration_interval = *parse_ms(*o.reregistration_interval, false, &error);
  s.config.registration_life = o.registration_life->empty()
                                   ? 3 * s.config.reregistration_interval
                                   : *parse_ms(*o.registration_life, false, &error);
  if (s.config.registration_life.count() > 0x7fffffff)
    throw UsageError("--registration-life: at most 2^31-1 ms");
}

// The service's settings, the seed and the identifiers.
void read_service(const options::PeOptions& o, PeSetup& s) {
  std::string error;
  if (const auto fixed = values::parse_amount(*o.capacity, false, &error)) {
    s.capacity = values::Distribution{values::Distribution::fixed, values::ValueKind::amount,
                                      *fixed, 0};
  } else {
    s.capacity = *values::parse_distribution(*o.capacity, values::ValueKind::amount, &error);
  }
  auto& service = s.service;
  service.server.max_jobs = *o.max_jobs;
  service.server.cookie_interval = *parse_ms(*o.cookie_max_time, true, &error);
  service.server.cookie_calculations =
      *values::parse_amount(*o.cookie_max_calculations, false, &error);
  service.shutdown_cookie_probability = *o.shutdown_cookie_probability;
  service.keepalive_interval = *parse_ms(*o.keepalive_interval, false, &error);
  service.keepalive_timeout = *parse_ms(*o.keepalive_timeout, false, &error);
  service.usage_interval = *parse_ms(*o.usage_interval, true, &error);
  std::random_device rd;
  s.seed = *o.seed != 0 ? *o.seed : (std::uint64_t{rd()} << 32 | rd());
  if (!o.identifier->empty()) {
    s.first_id = parse_identifier(*o.identifier);
    if (!s.first_id || std::uint64_t{*s.first_id} + *o.count - 1 > 0xffffffffULL)
      throw UsageError("--identifier: '" + *o.identifier +
                       "' (a non-zero 32-bit number, e.g. 0x1234abcd; member i gets it + i)");
  }
  if (*o.service != "echo") {
    s.service_maker = [](const calcapp::ServiceConfig& sc) {
      return std::function<std::unique_ptr<PeApp>()>(
          [sc] { return make_pe_app(sc, Clock::now()); });
    };
    return;
  }
  const std::uint64_t cookie_every = *o.cookie_every;
  s.service_maker = [cookie_every](const calcapp::ServiceConfig& sc) {
    rserpool::echo::ServiceConfig ec;
    ec.session = {sc.keepalive_interval, sc.keepalive_timeout, sc.shutdown_cookie_probability,
                  sc.seed};
    ec.cookie_every = cookie_every;
    return std::function<std::unique_ptr<PeApp>()>([ec] { return make_pe_app(ec); });
  };
}

}  // namespace

PeNode::PeNode(asio::io_context& io, const options::PeOptions& o, EventLog::Sink sink,
               std::function<void()> on_finished)
    : io_(io),
      setup_(std::make_unique<PeSetup>()),
      on_finished_(std::move(on_finished)),
      exit_timer_(io) {
  // Each value by its grammar (options/roles.cpp); below, what needs more than one value.
  if (const auto why = options::validate(o); !why.empty()) throw UsageError(why);
  pe_log().level = *common::parse_level(*o.log_level);
  read_registration(o, *setup_);
  read_service(o, *setup_);
  const auto choice = transport::parse_choice(*o.transport);
  setup_->kind = transport::resolve(*choice);
  pe_log()(Level::info, "transport %s (asked: %s)",
           std::string(transport::name(setup_->kind)).c_str(), o.transport->c_str());
  try {
    events_.open(*o.events, std::move(sink), {{"component", "pe"}});
  } catch (const std::exception& e) {
    throw UsageError(e.what());
  }
  ids_.seed(setup_->seed);
  try {
    for (std::size_t i = 0; i < *o.count; ++i) make_member();
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("user transport: ") + e.what());
  }
  if (!setup_->announce) return;
  try {
    announce_receiver_.emplace(io, *setup_->announce, setup_->kind, pe_log(),
                               [this](std::uint32_t server_id, const transport::Endpoint& e) {
                                 for (auto& m : members_) m->announced(server_id, e);
                               });
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("--announce: ") + e.what());
  }
}

PeNode::~PeNode() = default;

// The next member: its identifier, its capacity drawn, its service.
void PeNode::make_member() {
  static constexpr std::uint64_t kCapacityStream = 0x63617061u;
  if (!capacity_rng_) capacity_rng_.emplace(setup_->seed ^ kCapacityStream);
  const std::size_t i = members_.size();
  session::PeConfig c = setup_->config;
  c.pe_identifier =
      setup_->first_id ? static_cast<std::uint32_t>(*setup_->first_id + i) : random_id();
  calcapp::ServiceConfig sc = setup_->service;
  sc.seed = setup_->seed + i;
  do sc.server.capacity = values::sample(setup_->capacity, *capacity_rng_);
  while (!(sc.server.capacity > 0));
  services_.push_back(setup_->service_maker(sc));
  members_.push_back(std::make_unique<PeMember>(io_, i, std::move(c), services_[i](),
                                                setup_->kind, setup_->registrars, setup_->local,
                                                events_, [this] { member_done(); }));
}

std::uint32_t PeNode::random_id() {
  std::uint32_t id;
  do id = static_cast<std::uint32_t>(ids_() ^ rd_()); while (id == 0);
  return id;
}

void PeNode::start() {
  for (auto& m : members_) m->start();
}

// With --control stdin a crashed member may be restarted: the node outlives its members
// while held (until its controller's input ends, or stop()), unless one failed (its
// registration cannot succeed).
void PeNode::member_done() {
  if (++finished_ < members_.size() || restarting_) return;
  if (!held_ || failed()) finish();
}

void PeNode::finish() {
  ended_ = true;
  if (on_finished_) on_finished_();
}

bool PeNode::failed() const {
  return std::any_of(members_.begin(), members_.end(), [](const auto& m) { return m->failed(); });
}

void PeNode::hold(bool held) {
  held_ = held;
  if (!held_ && finished_ == members_.size()) finish();
}

void PeNode::restart(std::size_t i) {
  if (ended_) return;
  const std::string previous = members_[i]->id();
  if (!members_[i]->done()) {  // alive: a crash first
    restarting_ = true;
    members_[i]->kill();
    restarting_ = false;
  }
  session::PeConfig c = setup_->config;
  const auto in_use = [&](std::uint32_t id) {
    return std::any_of(members_.begin(), members_.end(),
                       [&](const auto& m) { return m->id() == wire::hex_id(id); });
  };
  do c.pe_identifier = random_id(); while (in_use(c.pe_identifier));
  std::unique_ptr<PeMember> fresh;
  try {
    fresh = std::make_unique<PeMember>(io_, i, std::move(c), services_[i](), setup_->kind,
                                       setup_->registrars, setup_->local, events_,
                                       [this] { member_done(); });
  } catch (const std::exception& e) {
    pe_log()(Level::error, "restart of member %zu: user transport: %s", i, e.what());
    if (finished_ == members_.size()) finish();
    return;
  }
  graveyard_.push_back(std::move(members_[i]));
  members_[i] = std::move(fresh);
  --finished_;  // the old member's end; the fresh one is running
  members_[i]->start(previous);
}

void PeNode::stop() {
  held_ = false;
  if (announce_receiver_) announce_receiver_->close();
  for (auto& m : members_) m->shutdown();
  if (finished_ == members_.size()) finish();  // every member was down already
  exit_timer_.expires_after(std::chrono::seconds(5));
  exit_timer_.async_wait([this](const boost::system::error_code& e) {
    if (e) return;
    pe_log()(Level::warning, "not done 5 s after the signal: stopping anyway");
    for (auto& m : members_) m->abandon();
    finish();
  });
}

}  // namespace rsplab::node
