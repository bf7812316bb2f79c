#pragma once

// For tests: the loopback device loses some of one port's TCP segments (lossy_link.bpf.c), so
// that a receiver sees segments arrive past a hole and the lost one come again later. Attached
// to lo's tc ingress for the object's lifetime; only segments from the port given to drop_from()
// are touched, so other traffic on lo is not.
//
//   LossyLink link;               // fails the test when tc programs cannot be attached
//   link.drop_from(port, 2);      // every other body segment sent from `port`, once each
//   ... link.dropped() ...

#include <cstdint>
#include <memory>

namespace nodepack::bpf::test {

class LossyLink {
 public:
  LossyLink();
  ~LossyLink();
  LossyLink(const LossyLink&) = delete;
  LossyLink& operator=(const LossyLink&) = delete;

  // Drops every `every`-th segment with a payload not starting "HTTP" sent from `port`.
  void drop_from(std::uint16_t port, std::uint16_t every);
  std::uint64_t dropped() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nodepack::bpf::test
