// The options of the three components `rsplab run` starts (registrar, pool element, pool
// user), defined once: a typed struct per role (options/roles.hpp) and a table per role
// naming each option's key, value grammar, help text, default and where it may be set.
// Everything else comes from the table:
//
//   table ─► add_to_cli   the command's flags and --help      (apps/*_command.cpp)
//         ─► validate     every value given, one grammar       (the commands)
//         ─► set          a value of an experiment file        (experiments/, per sweep point)
//         ─► from_yaml    a YAML map of options, file:line:col (tests; plain maps)
//         ─► to_args      the command line that starts it      (experiments/runner.cpp)
//
// A Setting remembers whether it was given: to_args writes the given options only (an
// experiment's run key hashes them, so an option left at its default stays out of it).
// Pure: no I/O; thread-safe (the tables are constants).
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace CLI {
class App;
}
namespace YAML {
class Node;
}

namespace rsplab::options {

// A value's grammar. check_value() says what each accepts.
enum class Kind {
  text,         // anything (checked where it is used: endpoints, identifiers, names)
  ms1,          // duration, 1 ms .. 2^31-1 ms
  ms0,          // the same, 0 allowed
  count1,       // whole number 1 .. 2^32-1
  count0,       // whole number 0 .. 2^32-1
  rate,         // number >= 0, or -1 (unlimited)
  probability,  // number 0 .. 1
  scope,        // loopback | site-local | global
  amount0,      // amount >= 0
  capacity,     // amount > 0, or an amount distribution with mean > 0
  dist_amount,  // amount distribution
  dist_time,    // time distribution
  interval,     // time distribution with mean > 0
  policy,       // NAME[:V1[,V2...]] (stack/common/policy_text.hpp)
  transport,    // auto | sctp | tcp
  level,        // error | warning | info | debug
  control,      // stdin
  service,      // calcapp | echo
};

// Where a text comes from. The command line takes a bare number as milliseconds and a
// duration to the millisecond below ("5000", "1.5ms"); an experiment file wants a unit and
// whole milliseconds ("5s", "250ms"). Everything else is the same for both.
enum class Source { command_line, file };

// Checks `text` as a value of `kind`. Empty when it is one, and then `*arg` (if not null) is
// its text on a command line: as written, except numbers CLI11 reads as integers or doubles
// ("1e3" → "1000", "0.50" → "0.5"). Else one text saying why not, e.g. "'0' must be 1 to
// 4294967295".
std::string check_value(Kind kind, const std::string& text, Source from, std::string* arg);

// A valid value of `kind` as an experiment file writes it (documentation and tests).
std::string_view example(Kind kind);

// One option's value and whether it was given (on the command line, in the file, or by
// assignment). Reads as the value: *s, s->.
template <class T>
class Setting {
 public:
  Setting(T value) : value_(std::move(value)) {}  // the default: not given
  Setting& operator=(T value) {
    value_ = std::move(value);
    given_ = true;
    return *this;
  }
  const T& operator*() const { return value_; }
  const T* operator->() const { return &value_; }
  bool given() const { return given_; }

 private:
  T value_;
  bool given_ = false;
};

// Where an option may be set besides the command line.
enum Where : unsigned {
  command_line_only = 0,
  in_file = 1,       // a component of an experiment file (`- { site: a, capacity: 2e6 }`)
  in_timers = 2,     // also `timers:` (defaults of every component of the role)
  required = 4,      // the command refuses to start without it
  show_default = 8,  // --help shows the default
  // One service's option (PE, PU: `--service`); with the other service it is refused, and
  // an experiment's `timers:` default of it does not reach that component. The `service`
  // row comes before every row so marked.
  calcapp_only = 16,
  echo_only = 32,
};

struct Spec {
  std::string_view key;  // the flag without "--"; the key in an experiment file
  Kind kind;
  unsigned where;        // Where bits
  std::string_view help;
};

template <class T>
using Member = std::variant<Setting<std::string> T::*, Setting<std::uint32_t> T::*,
                            Setting<std::uint64_t> T::*, Setting<double> T::*>;

// One row of a role's table. T::table() lists them in the order of --help and of to_args.
template <class T>
struct Entry {
  Spec spec;
  Member<T> member;
};

// An option of a YAML map that is not valid; what() reads "FILE:LINE:COL: KEY: why".
class OptionError : public std::runtime_error {
 public:
  OptionError(std::string file, int line, int column, const std::string& message);
  int line() const { return line_; }
  int column() const { return column_; }

 private:
  int line_, column_;
};

// The row of `key`, or null.
template <class T>
const Entry<T>* find(std::string_view key);

// The text of an option's value as a command line writes it.
template <class T>
std::string text_of(const T& o, const Entry<T>& e);

// Sets option `key` of `o` from `text` (checked as check_value does). Empty on success, else
// why not (an unknown key: "unknown option 'KEY'").
template <class T>
std::string set(T& o, std::string_view key, const std::string& text, Source from);

// Empty when option `e` concerns the service `o` runs (always for a role without
// `service`, or a row of no one service); else why not, e.g. "CalcApp's, not echo's".
template <class T>
std::string out_of_service(const T& o, const Entry<T>& e);

// Every given option checked as the command line reads it, and for its service; empty, or
// "--KEY: why" for the first bad one in table order.
template <class T>
std::string validate(const T& o);

// "--KEY", "VALUE" for every given option, in table order.
template <class T>
std::vector<std::string> to_args(const T& o);

// The table's options as flags of `cmd` (help text, defaults, required), writing into `o`.
// REQUIRES: `o` outlives the parse.
template <class T>
void add_to_cli(CLI::App& cmd, T& o);

// `args` (no program name) parsed as the command does, not validated. Throws
// std::invalid_argument with CLI11's message (an unknown flag, a missing required one).
template <class T>
T from_args(const std::vector<std::string>& args);

// A YAML map of options (keys with in_file; `timers`: in_timers only) read from `file`.
// Throws OptionError at the first unknown key or bad value.
template <class T>
T from_yaml(const YAML::Node& map, const std::string& file, bool timers = false);

}  // namespace rsplab::options
