#include "stack/common/values.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <string>

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

}  // namespace

std::optional<Duration> parse_duration(std::string_view text, std::string_view default_unit,
                                       std::string* error) {
  const auto fail = [&](std::string why) -> std::optional<Duration> {
    if (error)
      *error = "'" + std::string(text) + "' is not a duration: " + why +
               " (write e.g. 250ms, 5s, 2min" +
               (default_unit.empty() ? "" : ", or a bare number of " + std::string(default_unit)) +
               ")";
    return std::nullopt;
  };
  double v = 0;
  std::string_view unit;
  if (!split_number(text, v, unit)) return fail("no number");
  if (v < 0) return fail("negative");
  if (unit.empty()) {
    if (default_unit.empty()) return fail("a unit is needed");
    unit = default_unit;
  }
  double ns_per_unit = 0;
  if (unit == "ns") ns_per_unit = 1;
  else if (unit == "us" || unit == "µs") ns_per_unit = 1e3;
  else if (unit == "ms") ns_per_unit = 1e6;
  else if (unit == "s") ns_per_unit = 1e9;
  else if (unit == "min") ns_per_unit = 60e9;
  else if (unit == "h") ns_per_unit = 3600e9;
  else return fail("unknown unit '" + std::string(unit) + "' (ns, us, ms, s, min, h)");
  const double ns = v * ns_per_unit;
  if (ns > 9.2e18) return fail("too long");
  return Duration(static_cast<Duration::rep>(std::llround(ns)));
}

std::optional<double> parse_amount(std::string_view text, bool integer, std::string* error) {
  const auto fail = [&](std::string why) -> std::optional<double> {
    if (error)
      *error = "'" + std::string(text) + "' is not " + (integer ? "a count" : "an amount") +
               ": " + why + " (write e.g. 10, 1e6, 5M, 250k)";
    return std::nullopt;
  };
  double v = 0;
  std::string_view suffix;
  if (!split_number(text, v, suffix)) return fail("no number");
  if (suffix == "k") v *= 1e3;
  else if (suffix == "M") v *= 1e6;
  else if (suffix == "G") v *= 1e9;
  else if (!suffix.empty()) return fail("unknown suffix '" + std::string(suffix) + "' (k, M, G)");
  if (integer && v != std::floor(v)) return fail("not a whole number");
  return v;
}

std::string format_duration(Duration d) {
  const auto ns = d.count();
  if (ns % 60'000'000'000 == 0 && ns != 0) return std::to_string(ns / 60'000'000'000) + "min";
  if (ns % 1'000'000'000 == 0) return std::to_string(ns / 1'000'000'000) + "s";
  if (ns % 1'000'000 == 0) return std::to_string(ns / 1'000'000) + "ms";
  if (ns % 1'000 == 0) return std::to_string(ns / 1'000) + "us";
  return std::to_string(ns) + "ns";
}

}  // namespace rserpool::values
