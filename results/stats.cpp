#include "results/stats.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace rsplab::results {

namespace {

// The continued fraction of the incomplete beta function (modified Lentz's method).
double beta_fraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300, kEpsilon = 1e-15;
  double c = 1, d = 1 - (a + b) * x / (a + 1);
  d = 1 / (std::abs(d) < kTiny ? kTiny : d);
  double h = d;
  for (int m = 1; m <= 500; ++m) {
    for (int odd = 0; odd < 2; ++odd) {
      const double aa = odd == 0 ? m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
                                 : -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
      d = 1 + aa * d;
      d = 1 / (std::abs(d) < kTiny ? kTiny : d);
      c = 1 + aa / c;
      if (std::abs(c) < kTiny) c = kTiny;
      h *= d * c;
      if (odd == 1 && std::abs(d * c - 1) < kEpsilon) return h;
    }
  }
  return h;
}

// I_x(a, b), the regularized incomplete beta function.
double incomplete_beta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double front = std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) +
                                a * std::log(x) + b * std::log1p(-x));
  if (x < (a + 1) / (a + b + 2)) return front * beta_fraction(a, b, x) / a;
  return 1 - front * beta_fraction(b, a, 1 - x) / b;
}

// P(T ≤ t) for Student's t with `df` degrees of freedom.
double t_cdf(double t, double df) {
  const double tail = 0.5 * incomplete_beta(df / 2, 0.5, df / (df + t * t));
  return t >= 0 ? 1 - tail : tail;
}

}  // namespace

double t_quantile(double p, std::int64_t df) {
  if (df < 1 || !(p > 0 && p < 1)) throw std::invalid_argument("t_quantile: df >= 1, 0 < p < 1");
  if (p < 0.5) return -t_quantile(1 - p, df);
  double low = 0, high = 1;
  while (t_cdf(high, static_cast<double>(df)) < p) high *= 2;
  for (int i = 0; i < 200 && high - low > 1e-12 * high; ++i) {
    const double mid = (low + high) / 2;
    (t_cdf(mid, static_cast<double>(df)) < p ? low : high) = mid;
  }
  return (low + high) / 2;
}

Estimate estimate(const std::vector<double>& sample) {
  Estimate e;
  e.n = static_cast<std::int64_t>(sample.size());
  if (sample.empty()) return e;
  const double mean = std::accumulate(sample.begin(), sample.end(), 0.0) / e.n;
  e.mean = mean;
  const auto [lo, hi] = std::minmax_element(sample.begin(), sample.end());
  e.min = *lo;
  e.max = *hi;
  if (e.n < 2) return e;
  double squares = 0;
  for (const double v : sample) squares += (v - mean) * (v - mean);
  e.sd = std::sqrt(squares / static_cast<double>(e.n - 1));
  e.half_width = t_quantile(0.975, e.n - 1) * *e.sd / std::sqrt(static_cast<double>(e.n));
  return e;
}

std::optional<double> Estimate::low() const {
  if (!mean || !half_width) return std::nullopt;
  return *mean - *half_width;
}

std::optional<double> Estimate::high() const {
  if (!mean || !half_width) return std::nullopt;
  return *mean + *half_width;
}

std::optional<double> Estimate::relative_half_width() const {
  if (!mean || !half_width || *mean == 0) return std::nullopt;
  return *half_width / std::abs(*mean);
}

}  // namespace rsplab::results
