#include "stack/common/values.hpp"

#include <cctype>
#include <cmath>
#include <charconv>
#include <cstdlib>
#include <numbers>
#include <vector>
#include <string>

#include "stack/common/split.hpp"

namespace rserpool::values {
namespace {

// The leading decimal number of `text` (sign, digits, point, exponent) and the rest.
bool split_number(std::string_view text, double& value, std::string_view& rest) {
  std::string s(text);
  const char* begin = s.c_str();
  char* end = nullptr;
  if (s.empty() || std::isspace(static_cast<unsigned char>(s[0]))) return false;
  value = std::strtod(begin, &end);
  if (end == begin || !std::isfinite(value)) return false;
  // strtod also takes hex floats, "inf" and "nan": only plain decimals are values here.
  for (const char* p = begin; p < end; ++p)
    if (!(std::isdigit(static_cast<unsigned char>(*p)) || *p == '.' || *p == 'e' || *p == 'E' ||
          *p == '+' || *p == '-'))
      return false;
  rest = text.substr(static_cast<std::size_t>(end - begin));
  return true;
}

// The checks behind parse_duration and parse_amount: an empty string on success, else why
// the text is not a value (the callers add the value and the examples).
std::string duration_why(std::string_view text, std::string_view default_unit, Duration& out) {
  double v = 0;
  std::string_view unit;
  if (!split_number(text, v, unit)) return "no number";
  if (v < 0) return "negative";
  if (unit.empty()) {
    if (default_unit.empty()) return "a unit is needed";
    unit = default_unit;
  }
  double ns_per_unit = 0;
  if (unit == "ns") ns_per_unit = 1;
  else if (unit == "us" || unit == "µs") ns_per_unit = 1e3;
  else if (unit == "ms") ns_per_unit = 1e6;
  else if (unit == "s") ns_per_unit = 1e9;
  else if (unit == "min") ns_per_unit = 60e9;
  else if (unit == "h") ns_per_unit = 3600e9;
  else return "unknown unit '" + std::string(unit) + "' (ns, us, ms, s, min, h)";
  const double ns = v * ns_per_unit;
  if (ns > 9.2e18) return "too long";
  out = Duration(static_cast<Duration::rep>(std::llround(ns)));
  return {};
}

std::string amount_why(std::string_view text, bool integer, double& out) {
  double v = 0;
  std::string_view suffix;
  if (!split_number(text, v, suffix)) return "no number";
  if (suffix == "k") v *= 1e3;
  else if (suffix == "M") v *= 1e6;
  else if (suffix == "G") v *= 1e9;
  else if (!suffix.empty()) return "unknown suffix '" + std::string(suffix) + "' (k, M, G)";
  if (!std::isfinite(v)) return "too large";
  if (integer && v != std::floor(v)) return "not a whole number";
  out = v;
  return {};
}

}  // namespace

std::optional<Duration> parse_duration(std::string_view text, std::string_view default_unit,
                                       std::string* error) {
  Duration d{};
  const std::string why = duration_why(text, default_unit, d);
  if (why.empty()) return d;
  if (error)
    *error = "'" + std::string(text) + "' is not a duration: " + why +
             " (write e.g. 250ms, 5s, 2min" +
             (default_unit.empty() ? "" : ", or a bare number of " + std::string(default_unit)) +
             ")";
  return std::nullopt;
}

std::optional<double> parse_amount(std::string_view text, bool integer, std::string* error) {
  double v = 0;
  const std::string why = amount_why(text, integer, v);
  if (why.empty()) return v;
  if (error)
    *error = "'" + std::string(text) + "' is not " + (integer ? "a count" : "an amount") + ": " +
             why + " (write e.g. 10, 1e6, 5M, 250k)";
  return std::nullopt;
}

std::string format_duration(Duration d) {
  const auto ns = d.count();
  if (ns % 60'000'000'000 == 0 && ns != 0) return std::to_string(ns / 60'000'000'000) + "min";
  if (ns % 1'000'000'000 == 0) return std::to_string(ns / 1'000'000'000) + "s";
  if (ns % 1'000'000 == 0) return std::to_string(ns / 1'000'000) + "ms";
  if (ns % 1'000 == 0) return std::to_string(ns / 1'000) + "us";
  return std::to_string(ns) + "ns";
}

namespace {

struct Shape {
  std::string_view name;
  Distribution::Kind kind;
  std::size_t arity;
  std::string_view first, second;  // what the parameters are called in errors
  std::string_view usage;
};
constexpr Shape kShapes[] = {
    {"exp", Distribution::exponential, 1, "mean", "", "exp:MEAN"},
    {"uniform", Distribution::uniform, 2, "minimum", "maximum", "uniform:MIN,MAX"},
    {"fixed", Distribution::fixed, 1, "value", "", "fixed:V"},
    {"normal", Distribution::normal, 2, "mean", "standard deviation", "normal:MEAN,SD"},
};

std::string format_amount(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-tripping form
  return std::string(buf, r.ptr);
}

std::string format_value(double v, ValueKind values) {
  if (values == ValueKind::amount) return format_amount(v);
  return format_duration(Duration(static_cast<Duration::rep>(std::llround(v * 1e9))));
}

}  // namespace

std::optional<Distribution> parse_distribution(std::string_view text, ValueKind values,
                                               std::string* error) {
  const auto fail = [&](const std::string& why) -> std::optional<Distribution> {
    if (error)
      *error = "'" + std::string(text) + "' is not a distribution: " + why +
               (values == ValueKind::duration
                    ? " (write e.g. exp:4s, uniform:100ms,2s, fixed:1s, normal:5s,1s)"
                    : " (write e.g. exp:5M, uniform:1e6,1e7, fixed:1e6, normal:5M,1M)");
    return std::nullopt;
  };
  const auto colon = text.find(':');
  if (colon == std::string_view::npos)
    return fail("no kind (exp:, uniform:, fixed:, normal:)");
  const std::string_view name = text.substr(0, colon);
  const Shape* shape = nullptr;
  for (const Shape& s : kShapes)
    if (s.name == name) shape = &s;
  if (!shape)
    return fail("unknown kind '" + std::string(name) + "' (exp, uniform, fixed, normal)");

  const std::vector<std::string> parts = rsplab::common::split(text.substr(colon + 1), ',');
  const std::string usage(shape->usage);
  if (parts.size() == 1 && parts[0].empty())
    return fail(std::string(shape->name) + " needs " +
                (shape->arity == 1 ? "a value" : "two values") + ", " + usage);
  if (parts.size() != shape->arity)
    return fail(std::string(shape->name) + " takes " +
                (shape->arity == 1 ? "one value" : "two values") + ", not " +
                std::to_string(parts.size()) + ", " + usage);

  Distribution d;
  d.kind = shape->kind;
  d.values = values;
  double* slots[2] = {&d.a, &d.b};
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string_view what = i == 0 ? shape->first : shape->second;
    std::string why;
    if (values == ValueKind::duration) {
      Duration v{};
      why = duration_why(parts[i], "", v);
      *slots[i] = std::chrono::duration<double>(v).count();
    } else {
      why = amount_why(parts[i], false, *slots[i]);
      if (why.empty() && *slots[i] < 0) why = "negative";
    }
    if (!why.empty())
      return fail("the " + std::string(what) + " '" + std::string(parts[i]) + "': " + why);
  }
  if (d.kind == Distribution::exponential && d.a <= 0) return fail("the mean must be above 0");
  if (d.kind == Distribution::uniform && d.a > d.b)
    return fail("the minimum is above the maximum");
  return d;
}

std::string to_string(const Distribution& d) {
  for (const Shape& s : kShapes)
    if (s.kind == d.kind)
      return std::string(s.name) + ":" + format_value(d.a, d.values) +
             (s.arity == 2 ? "," + format_value(d.b, d.values) : "");
  return "?";
}

double mean(const Distribution& d) {
  switch (d.kind) {
    case Distribution::exponential: return d.a;
    case Distribution::uniform: return (d.a + d.b) / 2;
    case Distribution::fixed: return d.a;
    case Distribution::normal: {
      if (d.b == 0) return d.a;
      const double alpha = d.a / d.b;
      const double phi = std::exp(-alpha * alpha / 2) / std::sqrt(2 * std::numbers::pi);
      const double cdf = 0.5 * std::erfc(-alpha / std::sqrt(2.0));
      return d.a + d.b * phi / cdf;
    }
  }
  return d.a;
}

}  // namespace rserpool::values
