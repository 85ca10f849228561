// DESIGN.md's one grammar for values, shared by the command line and YAML experiments:
// durations with a unit (250ms, 5s, 2min, 1.5h; a bare number only where a flag names a
// default unit), counts and sizes (10, 1e6, 5M, 250k), and distributions (exp:MEAN,
// uniform:MIN,MAX, fixed:V, normal:MEAN,SD, with a unit where the value is a time).
// Pure functions; one error text per kind of mistake. Thread-safe.
#pragma once

#include <chrono>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <numbers>
#include <optional>
#include <random>
#include <string>
#include <string_view>

namespace rserpool::values {

using Duration = std::chrono::nanoseconds;

// `default_unit`: the unit of a bare number ("ms", "s"), or empty when a unit is required.
// On failure returns nullopt and sets `error` to a message naming the value.
std::optional<Duration> parse_duration(std::string_view text, std::string_view default_unit,
                                       std::string* error);
// Counts and sizes: 10, 1e6, 2.5e3, 5M, 250k, 1G; `integer` requires a whole number.
std::optional<double> parse_amount(std::string_view text, bool integer, std::string* error);

std::string format_duration(Duration d);  // "250ms", "5s", "2min"

// What a distribution's values are: amounts (job sizes: 1e6, 5M) or durations with a unit
// (inter-arrival times: 4s, 100ms).
enum class ValueKind { amount, duration };

// exp:MEAN, uniform:MIN,MAX, fixed:V, normal:MEAN,SD. `a` and `b` are the parameters in
// that order (MEAN/MIN/V, MAX/SD; `b` is 0 where unused). Durations are held in SECONDS as
// doubles (so a duration distribution samples seconds; see sample_duration); amounts as
// plain numbers. Every parameter is finite and >= 0; exp's mean > 0; uniform's MIN <= MAX.
struct Distribution {
  enum Kind { exponential, uniform, fixed, normal };
  Kind kind = fixed;
  ValueKind values = ValueKind::amount;
  double a = 0, b = 0;
  bool operator==(const Distribution&) const = default;
};

// On failure returns nullopt and sets `error` to one text naming the value and the mistake,
// e.g. "'exp:' is not a distribution: exp needs a value, exp:MEAN (write e.g. exp:4s, ...)".
std::optional<Distribution> parse_distribution(std::string_view text, ValueKind values,
                                               std::string* error);
// The text parse_distribution reads back to the same distribution (durations to the
// nanosecond; amounts in their shortest exact form): "exp:4s", "uniform:100ms,2s",
// "fixed:5e+06", "exp:1234567".
std::string to_string(const Distribution& d);
// The mean of what sample() draws: for normal, the mean of the normal truncated at 0
// (MEAN + SD·φ(α)/Φ(α), α = MEAN/SD), which is MEAN unless SD is comparable to MEAN.
double mean(const Distribution& d);

// A 64-bit generator such as handlespace::Rng (rng.hpp). Templated so that this library
// stays independent of the handlespace: the caller brings the generator.
template <class G>
concept Uniform64 = std::uniform_random_bit_generator<G> && (G::min() == 0) &&
                    (G::max() == std::numeric_limits<std::uint64_t>::max());

// Uniform in [0, 1) with 53 random bits.
template <Uniform64 G>
double uniform01(G& g) {
  return static_cast<double>(g() >> 11) * 0x1.0p-53;
}

// One draw, in the unit of the distribution's values (seconds for durations). The draw
// is computed here, not by <random>'s distributions, so a seed gives the same sequence on
// every standard library. exp: inversion; uniform: MIN + (MAX-MIN)·U; normal: Box-Muller,
// TRUNCATED AT 0 by rejection (a negative draw is drawn again: a job size or an interval
// is never negative; MEAN >= 0, as parsed, keeps the acceptance rate >= 1/2). Never negative.
template <Uniform64 G>
double sample(const Distribution& d, G& g) {
  switch (d.kind) {
    case Distribution::exponential:
      return -d.a * std::log1p(-uniform01(g));  // 1-U in (0,1]: log is finite
    case Distribution::uniform:
      return d.a + (d.b - d.a) * uniform01(g);
    case Distribution::fixed:
      return d.a;
    case Distribution::normal:
      for (;;) {
        const double u1 = 1.0 - uniform01(g);  // (0,1]
        const double u2 = uniform01(g);
        const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
        const double x = d.a + d.b * z;
        if (x >= 0) return x;
      }
  }
  return d.a;
}

// A draw of a duration distribution, rounded to the nanosecond.
template <Uniform64 G>
Duration sample_duration(const Distribution& d, G& g) {
  const double ns = sample(d, g) * 1e9;
  return Duration(ns >= 9.2e18 ? Duration::rep{9'200'000'000'000'000'000}
                               : static_cast<Duration::rep>(std::llround(ns)));
}

}  // namespace rserpool::values
