#pragma once
// Exact decimal values: money in cents, quantities in thousandths, percentages in hundredths of
// a percent. No binary floating point ever holds money.

#include <cstdint>
#include <optional>
#include <string>

#include "protocols/fields.hpp"

namespace wassally {

/// An amount of money in cents ("12.50" ⇔ 1250).
struct money {
  int64_t cents = 0;

  /// Parses "12", "12.5", "12.50" (at most two decimals, optional leading '-'); nullopt for
  /// anything else, including exponents, spaces, more decimals and values past ±10^13.
  static std::optional<money> parse(const std::string& text);
  /// "12.50": always two decimals.
  std::string str() const;

  friend bool operator==(money a, money b) { return a.cents == b.cents; }
  friend bool operator<(money a, money b) { return a.cents < b.cents; }
  friend money operator+(money a, money b) { return {a.cents + b.cents}; }
  friend money operator-(money a, money b) { return {a.cents - b.cents}; }
  WASSALLY_FIELDS(money, cents)
};

/// A quantity or stock in thousandths of the product's unit (1.5 kg ⇔ 1500).
struct quantity {
  int64_t milli = 0;

  /// From a decimal string with at most three decimals.
  static std::optional<quantity> parse(const std::string& text);
  /// From a JSON number: must be finite and have at most three decimals.
  static std::optional<quantity> from_double(double value);
  /// "1.5", "2", "0.125": the shortest exact decimal.
  std::string str() const;
  double as_double() const { return static_cast<double>(milli) / 1000.0; }

  friend bool operator==(quantity a, quantity b) { return a.milli == b.milli; }
  friend bool operator<(quantity a, quantity b) { return a.milli < b.milli; }
  WASSALLY_FIELDS(quantity, milli)
};

/// A percentage in hundredths of a percent ("20.00" ⇔ 2000).
struct percent {
  int64_t basis_points = 0;
  static std::optional<percent> parse(const std::string& text);
  std::string str() const;
  WASSALLY_FIELDS(percent, basis_points)
};

/// `price` reduced by `discount`, rounded half up to cents.
money apply_discount(money price, percent discount);
/// `unit_price` × `q`, rounded half up to cents.
money line_total(money unit_price, quantity q);

/// Whether `q` is allowed for a product: q >= minimum and (q - minimum) a whole multiple of
/// increment.
bool quantity_allowed(quantity q, quantity minimum, quantity increment);

}  // namespace wassally
