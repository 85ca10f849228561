#include "stack/common/policy_text.hpp"

#include <charconv>
#include <cmath>
#include <vector>

#include "stack/common/split.hpp"

namespace rserpool::values {
namespace {

bool is_fraction(wire::PolicyField f) {
  return f == wire::PolicyField::load || f == wire::PolicyField::load_degradation ||
         f == wire::PolicyField::load_dpf || f == wire::PolicyField::weight_dpf;
}

// One field's value: a fraction of wire::kFractionOne, or a whole u32.
std::optional<std::uint32_t> field_value(wire::PolicyField f, std::string_view v) {
  if (is_fraction(f)) {
    const bool pct = !v.empty() && v.back() == '%';
    if (pct) v.remove_suffix(1);
    double d = 0;
    const auto r = std::from_chars(v.data(), v.data() + v.size(), d);
    if (v.empty() || r.ec != std::errc() || r.ptr != v.data() + v.size()) return std::nullopt;
    if (pct) d /= 100.0;
    if (!(d >= 0.0 && d <= 1.0)) return std::nullopt;
    return static_cast<std::uint32_t>(std::llround(d * double{wire::kFractionOne}));
  }
  std::uint32_t n = 0;
  const auto r = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || r.ec != std::errc() || r.ptr != v.data() + v.size()) return std::nullopt;
  return n;
}

std::string field_list(const wire::PolicyInfo& info) {
  std::string fields;
  for (std::size_t k = 0; k < info.field_count; ++k)
    fields += (k ? ", " : "") + std::string(wire::field_name(info.fields[k]));
  return fields;
}

}  // namespace

std::optional<wire::Policy> parse_policy(std::string_view text, std::string* error) {
  const auto colon = text.find(':');
  const std::string name(text.substr(0, colon));
  const wire::PolicyInfo* info = wire::policy_by_short_name(name);
  if (!info) {
    std::string names;
    for (const auto& p : wire::all_policies())
      names += (names.empty() ? "" : ", ") + std::string(p.short_name);
    *error = "unknown policy '" + name + "' (" + names + ")";
    return std::nullopt;
  }
  wire::Policy p;
  p.type = info->type;
  const auto values = colon == std::string_view::npos ? std::vector<std::string>{}
                                                       : rsplab::common::split(text.substr(colon + 1), ',');
  if (values.size() > info->field_count) {
    const std::string fields = field_list(*info);
    *error = "policy " + name + " takes at most " + std::to_string(info->field_count) +
             " value" + (info->field_count == 1 ? "" : "s") +
             (fields.empty() ? std::string() : " (" + fields + ")") + ", not " +
             std::to_string(values.size());
    return std::nullopt;
  }
  for (std::size_t k = 0; k < values.size(); ++k) {
    const wire::PolicyField f = info->fields[k];
    const auto v = field_value(f, values[k]);
    if (!v) {
      *error = "policy " + name + ": bad " + std::string(wire::field_name(f)) + " '" +
               std::string(values[k]) + "'" +
               (is_fraction(f) ? " (a fraction 0..1 or a percentage like 5%)"
                               : " (a whole number)");
      return std::nullopt;
    }
    wire::set_policy_field(p, f, *v);
  }
  for (std::size_t k = values.size(); k < info->field_count; ++k) {
    if (info->fields[k] != wire::PolicyField::weight) continue;
    *error = "policy " + name + " needs a Weight, a whole number (e.g. " + name +
             ":10): a PE of weight 0 is never selected";
    return std::nullopt;
  }
  return p;
}

}  // namespace rserpool::values
