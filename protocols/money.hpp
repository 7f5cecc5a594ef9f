#pragma once
// Exact decimal values: money in cents, quantities in thousandths, percentages in hundredths of
// a percent. No binary floating point ever holds money.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

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
  /// Saturating at the int64 limits (never undefined behaviour); sums that matter are checked
  /// against the column with fits_money_column first.
  friend money operator+(money a, money b) {
    int64_t r = 0;
    if (__builtin_add_overflow(a.cents, b.cents, &r)) r = b.cents > 0 ? INT64_MAX : INT64_MIN;
    return {r};
  }
  friend money operator-(money a, money b) {
    int64_t r = 0;
    if (__builtin_sub_overflow(a.cents, b.cents, &r)) r = b.cents < 0 ? INT64_MAX : INT64_MIN;
    return {r};
  }
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

/// The largest amount a money column (numeric(12,2)) holds: 9999999999.99. API.md: money
/// >= 10^10 is 400 validation_error on that field.
constexpr int64_t max_money_cents = 999999999999;
/// The largest quantity or stock a quantity column (numeric(12,3)) holds: 999999999.999.
/// API.md: quantities >= 10^9 are 400 validation_error on that field.
constexpr int64_t max_quantity_milli = 999999999999;

/// Whether `m` fits a numeric(12,2) column (|m| < 10^10).
bool fits_money_column(money m);
/// Whether `q` fits a numeric(12,3) column (|q| < 10^9).
bool fits_quantity_column(quantity q);

/// `price` reduced by `discount`, rounded half up to cents.
money apply_discount(money price, percent discount);
/// `unit_price` × `q`, rounded half up to cents; saturates at the int64 limits instead of
/// wrapping (use checked_line_total where the result is stored).
money line_total(money unit_price, quantity q);
/// `unit_price` × `q` as line_total, or nullopt when the result does not fit a money column.
std::optional<money> checked_line_total(money unit_price, quantity q);
/// The items total of (unit price, quantity) lines plus `fee`, or nullopt when any line total,
/// the items total or the total does not fit a money column (the order would overflow
/// items_total or total: 400 validation_error on `items`).
std::optional<money> checked_order_total(const std::vector<std::pair<money, quantity>>& lines,
                                         money fee = money{});

/// Whether `q` is allowed for a product: q >= minimum and (q - minimum) a whole multiple of
/// increment.
bool quantity_allowed(quantity q, quantity minimum, quantity increment);

}  // namespace wassally
