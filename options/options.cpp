// The value grammars and the table-driven functions of options/options.hpp, instantiated for
// the three roles of options/roles.hpp.
#include "options/options.hpp"

#include <yaml-cpp/yaml.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <chrono>
#include <type_traits>

#include "options/roles.hpp"
#include "stack/common/log.hpp"
#include "stack/common/policy_text.hpp"
#include "stack/common/values.hpp"

namespace rsplab::options {
namespace {

namespace values = rserpool::values;
using namespace std::chrono_literals;

std::string format_number(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string check_ms(Kind kind, const std::string& text, Source from) {
  std::string err;
  const bool zero = kind == Kind::ms0;
  const auto d = values::parse_duration(text, from == Source::file ? "" : "ms", &err);
  if (!d) return err;
  if (from == Source::file && *d % 1ms != 0ns)
    return "'" + text + "' is not a whole number of milliseconds";
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*d).count();
  if (ms < (zero ? 0 : 1) || ms > 0x7fffffff)
    return "'" + text + "' must be " + (zero ? "0ms" : "1ms") + " to 2147483647ms";
  return {};
}

std::string check_number(Kind kind, const std::string& text, std::string& arg) {
  std::string err;
  const bool whole = kind == Kind::count1 || kind == Kind::count0;
  const auto v = values::parse_amount(text, whole, &err);
  if (!v) return err;
  switch (kind) {
    case Kind::count1:
    case Kind::count0: {
      const int low = kind == Kind::count1 ? 1 : 0;
      if (*v < low || *v > 4294967295.0)
        return "'" + text + "' must be " + std::to_string(low) + " to 4294967295";
      arg = std::to_string(static_cast<std::uint64_t>(*v));
      return {};
    }
    case Kind::rate:
      if (!(*v >= 0 || *v == -1)) return "'" + text + "' must be >= 0, or -1 for unlimited";
      arg = format_number(*v);
      return {};
    case Kind::probability:
      if (!(*v >= 0 && *v <= 1)) return "'" + text + "' is not a probability (0 to 1)";
      arg = format_number(*v);
      return {};
    default:  // amount0
      if (*v < 0) return "'" + text + "' must be >= 0";
      return {};
  }
}

std::string check_distribution(Kind kind, const std::string& text) {
  std::string err;
  if (kind == Kind::capacity && text.find(':') == std::string::npos) {
    const auto v = values::parse_amount(text, false, &err);
    if (!v) return err + ", or a distribution such as uniform:1e6,4e6";
    if (!(*v > 0)) return "'" + text + "': the capacity must be above 0";
    return {};
  }
  const auto vk = kind == Kind::capacity || kind == Kind::dist_amount ? values::ValueKind::amount
                                                                       : values::ValueKind::duration;
  const auto d = values::parse_distribution(text, vk, &err);
  if (!d) return err;
  if (kind == Kind::capacity && !(values::mean(*d) > 0))
    return "'" + text + "': the mean capacity must be above 0";
  if (kind == Kind::interval && !(values::mean(*d) > 0))
    return "'" + text + "': the mean interval must be above 0";
  return {};
}

// A checked value's text into the member's type.
template <class V>
std::string assign(Setting<V>& s, const std::string& arg, const std::string& text) {
  if constexpr (std::is_same_v<V, std::string>) {
    s = arg;
  } else {
    V v{};
    const auto r = std::from_chars(arg.data(), arg.data() + arg.size(), v);
    if (arg.empty() || r.ec != std::errc() || r.ptr != arg.data() + arg.size())
      return "'" + text + "' is not a " +
             (std::is_integral_v<V> ? "whole number" : "number");
    s = v;
  }
  return {};
}

template <class V>
std::string value_text(const V& v) {
  if constexpr (std::is_same_v<V, std::string>) return v;
  else if constexpr (std::is_integral_v<V>) return std::to_string(v);
  else return format_number(v);
}

template <class T>
void add_one(CLI::App& cmd, T& o, const Entry<T>& e) {
  std::visit(
      [&](auto member) {
        using V = std::remove_cvref_t<decltype(*(o.*member))>;
        CLI::Option* opt = cmd.add_option_function<V>(
            "--" + std::string(e.spec.key), [&o, member](const V& v) { o.*member = v; },
            std::string(e.spec.help));
        if (e.spec.where & show_default) opt->default_str(value_text(*(o.*member)));
        if (e.spec.where & required) opt->required();
      },
      e.member);
}

}  // namespace

std::string check_value(Kind kind, const std::string& text, Source from, std::string* arg) {
  std::string ignored;
  std::string& out = arg ? *arg : ignored;
  out = text;
  std::string error;
  switch (kind) {
    case Kind::text: return {};
    case Kind::ms1:
    case Kind::ms0: return check_ms(kind, text, from);
    case Kind::count1:
    case Kind::count0:
    case Kind::rate:
    case Kind::probability:
    case Kind::amount0: return check_number(kind, text, out);
    case Kind::capacity:
    case Kind::dist_amount:
    case Kind::dist_time:
    case Kind::interval: return check_distribution(kind, text);
    case Kind::scope:
      if (text == "loopback" || text == "site-local" || text == "global") return {};
      return "'" + text + "' is not an address scope (loopback, site-local, global)";
    case Kind::policy:
      if (values::parse_policy(text, &error)) return {};
      return error;
    case Kind::transport:
      if (text == "auto" || text == "sctp" || text == "tcp") return {};
      return "'" + text + "' is not a transport (auto, sctp, tcp)";
    case Kind::level:
      if (common::parse_level(text)) return {};
      return "'" + text + "' is not a log level (error, warning, info, debug)";
    case Kind::control:
      if (text == "stdin") return {};
      return "'" + text + "': only 'stdin'";
    case Kind::service:
      if (text == "calcapp" || text == "echo") return {};
      return "'" + text + "' is not a service (calcapp, echo)";
  }
  return "?";
}

std::string_view example(Kind kind) {
  switch (kind) {
    case Kind::text: return "x";
    case Kind::ms1: return "250ms";
    case Kind::ms0: return "0s";
    case Kind::count1: return "2";
    case Kind::count0: return "0";
    case Kind::rate: return "-1";
    case Kind::probability: return "0.5";
    case Kind::scope: return "global";
    case Kind::amount0: return "1e6";
    case Kind::capacity: return "uniform:1e6,4e6";
    case Kind::dist_amount: return "exp:1e6";
    case Kind::dist_time: return "fixed:1s";
    case Kind::interval: return "exp:2s";
    case Kind::policy: return "wrand:5";
    case Kind::transport: return "tcp";
    case Kind::level: return "debug";
    case Kind::control: return "stdin";
    case Kind::service: return "echo";
  }
  return "";
}

OptionError::OptionError(std::string file, int line, int column, const std::string& message)
    : std::runtime_error(file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " +
                         message),
      line_(line),
      column_(column) {}

template <class T>
const Entry<T>* find(std::string_view key) {
  for (const Entry<T>& e : T::table())
    if (e.spec.key == key) return &e;
  return nullptr;
}

template <class T>
std::string text_of(const T& o, const Entry<T>& e) {
  return std::visit([&](auto member) { return value_text(*(o.*member)); }, e.member);
}

template <class T>
std::string set(T& o, std::string_view key, const std::string& text, Source from) {
  const Entry<T>* e = find<T>(key);
  if (!e) return "unknown option '" + std::string(key) + "'";
  std::string arg;
  if (auto why = check_value(e->spec.kind, text, from, &arg); !why.empty()) return why;
  return std::visit([&](auto member) { return assign(o.*member, arg, text); }, e->member);
}

template <class T>
std::string out_of_service(const T& o, const Entry<T>& e) {
  if constexpr (requires { *o.service; }) {
    const bool calcapp = *o.service == "calcapp";
    if ((e.spec.where & calcapp_only) && !calcapp) return "CalcApp's, not " + *o.service + "'s";
    if ((e.spec.where & echo_only) && *o.service != "echo")
      return "the echo service's, not " + *o.service + "'s";
  }
  return {};
}

template <class T>
std::string validate(const T& o) {
  for (const Entry<T>& e : T::table()) {
    const bool given = std::visit([&](auto member) { return (o.*member).given(); }, e.member);
    if (!given) continue;
    auto why = check_value(e.spec.kind, text_of(o, e), Source::command_line, nullptr);
    if (why.empty()) why = out_of_service(o, e);
    if (!why.empty()) return "--" + std::string(e.spec.key) + ": " + why;
  }
  return {};
}

template <class T>
std::vector<std::string> to_args(const T& o) {
  std::vector<std::string> args;
  for (const Entry<T>& e : T::table()) {
    if (!std::visit([&](auto member) { return (o.*member).given(); }, e.member)) continue;
    args.push_back("--" + std::string(e.spec.key));
    args.push_back(text_of(o, e));
  }
  return args;
}

template <class T>
void add_to_cli(CLI::App& cmd, T& o) {
  for (const Entry<T>& e : T::table()) add_one(cmd, o, e);
}

template <class T>
T from_args(const std::vector<std::string>& args) {
  T o;
  CLI::App app;
  add_to_cli(app, o);
  std::vector<const char*> argv{"rsplab"};
  for (const auto& a : args) argv.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    throw std::invalid_argument(e.what());
  }
  return o;
}

template <class T>
T from_yaml(const YAML::Node& map, const std::string& file, bool timers) {
  const auto at = [&](const YAML::Mark& m, const std::string& message) {
    return OptionError(file, m.line + 1, m.column + 1, message);
  };
  if (!map.IsMap()) throw at(map.Mark(), "a map of options");
  T o;
  for (const auto& kv : map) {
    const std::string key = kv.first.Scalar();
    const Entry<T>* e = find<T>(key);
    const unsigned want = timers ? in_timers : in_file;
    if (!e || !(e->spec.where & want)) throw at(kv.first.Mark(), "unknown option '" + key + "'");
    if (!kv.second.IsScalar()) throw at(kv.second.Mark(), key + ": a single value");
    if (auto why = set(o, key, kv.second.Scalar(), Source::file); !why.empty())
      throw at(kv.second.Mark(), key + ": " + why);
  }
  return o;
}

#define RSPLAB_OPTIONS_ROLE(T)                                                              \
  template const Entry<T>* find<T>(std::string_view);                                     \
  template std::string text_of<T>(const T&, const Entry<T>&);                             \
  template std::string set<T>(T&, std::string_view, const std::string&, Source);          \
  template std::string out_of_service<T>(const T&, const Entry<T>&);                     \
  template std::string validate<T>(const T&);                                             \
  template std::vector<std::string> to_args<T>(const T&);                                 \
  template void add_to_cli<T>(CLI::App&, T&);                                             \
  template T from_args<T>(const std::vector<std::string>&);                               \
  template T from_yaml<T>(const YAML::Node&, const std::string&, bool);
RSPLAB_OPTIONS_ROLE(RegistrarOptions)
RSPLAB_OPTIONS_ROLE(PeOptions)
RSPLAB_OPTIONS_ROLE(PuOptions)
#undef RSPLAB_OPTIONS_ROLE

}  // namespace rsplab::options
