#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

namespace wassally::http {

/// Request counts by (route template, method, status) and latency histograms by route.
class http_metrics {
 public:
  void observe(const std::string& route, const std::string& method, int status, double seconds);
  /// A figure kept outside the edge (caches, housekeeping), read at every render: the sample
  /// `family{labels} read()` under the family's HELP and TYPE (samples of one family together).
  void add_figure(const std::string& family, const std::string& type, const std::string& help,
                  const std::string& labels, std::function<int64_t()> read);
  /// Prometheus text of the http_* families.
  std::string render() const;
  static const std::vector<double>& latency_bounds();

 private:
  struct histogram {
    std::vector<long long> buckets;
    double sum = 0;
    long long count = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, int>, long long> requests_;
  std::map<std::string, histogram> latency_;
  struct figure {
    std::string family, type, help, labels;
    std::function<int64_t()> read;
  };
  std::vector<figure> figures_;
};

}  // namespace wassally::http
