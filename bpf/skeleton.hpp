#pragma once

#include "common/result.hpp"

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace nodepack::bpf {

// Owns one bpftool-generated skeleton (`struct <name>_bpf` with its C++ static members).
// Move-only; destroys (detaches, unloads, frees) exactly once.
template <class Skel>
class Skeleton {
 public:
  Skeleton() = default;
  Skeleton(const Skeleton&) = delete;
  Skeleton& operator=(const Skeleton&) = delete;
  Skeleton(Skeleton&& o) noexcept : skel_(std::exchange(o.skel_, nullptr)) {}
  Skeleton& operator=(Skeleton&& o) noexcept {
    if (this != &o) {
      reset();
      skel_ = std::exchange(o.skel_, nullptr);
    }
    return *this;
  }
  ~Skeleton() { reset(); }

  static Result<Skeleton> open() {
    errno = 0;
    Skel* s = Skel::open();
    if (s == nullptr) {
      return fail(std::string("open BPF object: ") + std::strerror(errno ? errno : EINVAL));
    }
    Skeleton out;
    out.skel_ = s;
    return out;
  }

  Result<void> load() {
    if (int err = Skel::load(skel_); err != 0) {
      return fail(std::string("load BPF programs: ") + std::strerror(-err));
    }
    return {};
  }

  Result<void> attach() {
    if (int err = Skel::attach(skel_); err != 0) {
      return fail(std::string("attach BPF programs: ") + std::strerror(-err));
    }
    return {};
  }

  void reset() {
    if (skel_ != nullptr) {
      Skel::destroy(skel_);
      skel_ = nullptr;
    }
  }

  explicit operator bool() const { return skel_ != nullptr; }
  Skel* get() const { return skel_; }
  Skel* operator->() const { return skel_; }

 private:
  Skel* skel_ = nullptr;
};

}  // namespace nodepack::bpf
