#pragma once

// The counter lines of finished containers, kept from one scrape to the next. A finished or
// deleted pod's containers stay exported for the retention (5 minutes by default) with values
// that no longer move; on a node that churns they outnumber the running ones several times
// (about 720 of 800 accounts after five minutes of 4-5 pod events a second), and writing their
// labels and values again at every scrape was most of the accounting collector's cost. Each
// scrape walks the accounts in the integrator's key order; a finished account whose values are
// those its kept lines were written from gets those lines again, byte for byte; any other is
// written afresh (and kept, when finished). Lines not visited in a scrape are dropped with it.

#include "agent/accounting/request_integrator.hpp"
#include "metrics/streamed_collector.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nodepack::agent::accounting {

class FinishedLines {
 public:
  // The families an account's integrals are written to: CPU requested, CPU limited, memory
  // requested, memory used, GPU seconds. Text outputs only.
  static constexpr std::size_t kFamilies = 5;
  using Streams = std::array<metrics::FamilyStream*, kFamilies>;

  // Starts a scrape's walk over the accounts.
  void begin();
  // Writes finished account `a`'s lines to `streams`: the kept ones if they still hold, else by
  // calling write_lines() (which writes them to those streams) and keeping what it wrote. Called
  // in the integrator's key order. Returns whether the kept lines were used.
  template <class WriteLines>
  bool write(const ContainerAccount& a, const Streams& streams, WriteLines&& write_lines) {
    if (Kept* kept = find(a)) {
      for (std::size_t i = 0; i < kFamilies; ++i) {
        streams[i]->append_lines(kept->lines(i), kept->samples[i]);
      }
      next_.push_back(std::move(*kept));
      return true;
    }
    std::array<std::size_t, kFamilies> start{}, samples{};
    for (std::size_t i = 0; i < kFamilies; ++i) {
      start[i] = streams[i]->text_size();
      samples[i] = streams[i]->samples();
    }
    write_lines();
    Kept kept = values_of(a);
    std::size_t bytes = 0;
    for (std::size_t i = 0; i < kFamilies; ++i) {
      bytes += streams[i]->text_size() - start[i];
    }
    kept.text.reserve(bytes);
    for (std::size_t i = 0; i < kFamilies; ++i) {
      kept.text += streams[i]->text_since(start[i]);
      kept.ends[i] = static_cast<std::uint32_t>(kept.text.size());
      kept.samples[i] = static_cast<std::uint32_t>(streams[i]->samples() - samples[i]);
    }
    next_.push_back(std::move(kept));
    return false;
  }
  // Ends the walk: what it did not visit goes.
  void end();
  std::size_t size() const { return kept_.size(); }

 private:
  struct Kept {
    std::string pod_uid;
    std::string container;
    // What the lines were written from (exact integrals: equal ones write equal lines).
    ExactIntegral cpu_requested, cpu_limited, memory_requested, memory_used;
    bool has_cpu_limit = false, has_memory_used = false;
    std::map<std::string, ExactIntegral> gpu_seconds;
    // Every family's lines in one string (one allocation per account), family i's ending at ends[i].
    std::string text;
    std::array<std::uint32_t, kFamilies> ends{};
    std::array<std::uint32_t, kFamilies> samples{};
    std::string_view lines(std::size_t i) const {
      const std::size_t begin = i == 0 ? 0 : ends[i - 1];
      return std::string_view(text).substr(begin, ends[i] - begin);
    }
  };
  static Kept values_of(const ContainerAccount& a);
  static bool same_values(const Kept& kept, const ContainerAccount& a);
  // The kept lines of `a` if they still hold, moving the walk's cursor past it.
  Kept* find(const ContainerAccount& a);

  std::vector<Kept> kept_;  // by key, as the last scrape visited them
  std::vector<Kept> next_;  // this scrape's
  std::size_t cursor_ = 0;  // into kept_
};

}  // namespace nodepack::agent::accounting
