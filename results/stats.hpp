// Statistics over repetitions: the mean of a sample with its 95 % confidence interval
// (Student t, two-sided), as `rsplab report`, the closing table and `--until-ci` show it.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace rsplab::results {

// The quantile t(p, df) of Student's t distribution with df ≥ 1 degrees of freedom, for
// 0 < p < 1: t(0.975, 4) = 2.776… Computed from the regularized incomplete beta function,
// accurate to about 1e-9.
double t_quantile(double p, std::int64_t df);

// A sample's mean with its 95 % interval: mean ± t(0.975, n − 1) · sd / √n.
struct Estimate {
  std::int64_t n = 0;                 // values in the sample
  std::optional<double> mean;         // nullopt when n = 0
  std::optional<double> sd;           // sample standard deviation (n − 1); nullopt when n < 2
  std::optional<double> half_width;   // of the 95 % interval; nullopt when n < 2
  std::optional<double> min, max;     // nullopt when n = 0
  std::optional<double> low() const;   // mean − half_width
  std::optional<double> high() const;  // mean + half_width
  // half_width / |mean|: the interval's relative half-width; nullopt when n < 2 or mean = 0.
  std::optional<double> relative_half_width() const;
};

Estimate estimate(const std::vector<double>& sample);

}  // namespace rsplab::results
