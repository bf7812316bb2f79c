#include "agent/accounting/state_file.hpp"

#include <boost/json.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace nodepack::agent::accounting {
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

std::int64_t to_unix_nanos(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

std::chrono::system_clock::time_point from_unix_nanos(std::int64_t ns) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(ns)));
}

Result<std::string> string_field(const json::object& o, std::string_view key, const std::string& where) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) {
    return fail(where + ": \"" + std::string(key) + "\" must be a string");
  }
  return std::string(v->get_string());
}

Result<ExactIntegral> integral_field(const json::object& o, std::string_view key, const std::string& where) {
  auto text = string_field(o, key, where);
  if (!text) {
    return text.error();
  }
  auto value = ExactIntegral::parse(*text);
  if (!value) {
    return fail(where + ": \"" + std::string(key) + "\" is not an exact decimal with 18 fractional digits");
  }
  return *value;
}

Result<std::int64_t> int_field(const json::object& o, std::string_view key, const std::string& where) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_int64()) {
    return fail(where + ": \"" + std::string(key) + "\" must be an integer");
  }
  return v->get_int64();
}

Result<StoredContainer> parse_container(const json::value& v, const std::string& where) {
  if (!v.is_object()) {
    return fail(where + ": not an object");
  }
  const json::object& o = v.get_object();
  StoredContainer c;
#define NODEPACK_STATE_FIELD(target, expr) \
  do {                                     \
    auto r_ = (expr);                      \
    if (!r_) {                             \
      return r_.error();                   \
    }                                      \
    (target) = std::move(*r_);             \
  } while (false)
  NODEPACK_STATE_FIELD(c.pod_uid, string_field(o, "pod_uid", where));
  NODEPACK_STATE_FIELD(c.container, string_field(o, "container", where));
  NODEPACK_STATE_FIELD(c.namespace_name, string_field(o, "namespace", where));
  NODEPACK_STATE_FIELD(c.pod, string_field(o, "pod", where));
  std::int64_t until = 0;
  NODEPACK_STATE_FIELD(until, int_field(o, "integrated_until_unix_nanos", where));
  c.integrated_until = from_unix_nanos(until);
  NODEPACK_STATE_FIELD(c.cpu_requested, integral_field(o, "cpu_requested_core_seconds", where));
  NODEPACK_STATE_FIELD(c.memory_requested, integral_field(o, "memory_requested_byte_seconds", where));
  if (o.contains("cpu_limited_core_seconds")) {
    NODEPACK_STATE_FIELD(c.cpu_limited, integral_field(o, "cpu_limited_core_seconds", where));
  }
  if (o.contains("memory_used_byte_seconds")) {
    NODEPACK_STATE_FIELD(c.memory_used, integral_field(o, "memory_used_byte_seconds", where));
  }
  if (const json::value* gpus = o.if_contains("gpu_allocated_seconds"); gpus != nullptr) {
    if (!gpus->is_object()) {
      return fail(where + ": \"gpu_allocated_seconds\" must be an object");
    }
    for (const auto& [resource, value] : gpus->get_object()) {
      NODEPACK_STATE_FIELD(c.gpu_seconds[std::string(resource)],
                           integral_field(gpus->get_object(), resource, where + ".gpu_allocated_seconds"));
    }
  }
#undef NODEPACK_STATE_FIELD
  return c;
}

}  // namespace

std::string render_state(const StoredState& state) {
  json::array containers;
  for (const auto& c : state.containers) {
    json::object o;
    o["pod_uid"] = c.pod_uid;
    o["container"] = c.container;
    o["namespace"] = c.namespace_name;
    o["pod"] = c.pod;
    o["integrated_until_unix_nanos"] = to_unix_nanos(c.integrated_until);
    o["cpu_requested_core_seconds"] = c.cpu_requested.to_string();
    if (c.cpu_limited) {
      o["cpu_limited_core_seconds"] = c.cpu_limited->to_string();
    }
    o["memory_requested_byte_seconds"] = c.memory_requested.to_string();
    if (c.memory_used) {
      o["memory_used_byte_seconds"] = c.memory_used->to_string();
    }
    if (!c.gpu_seconds.empty()) {
      json::object gpus;
      for (const auto& [resource, value] : c.gpu_seconds) {
        gpus[resource] = value.to_string();
      }
      o["gpu_allocated_seconds"] = std::move(gpus);
    }
    containers.push_back(std::move(o));
  }
  json::object root;
  root["version"] = state_file_version;
  root["node"] = state.node;
  root["written_unix_nanos"] = to_unix_nanos(state.written);
  root["containers"] = std::move(containers);
  return json::serialize(root) + "\n";
}

Result<StoredState> parse_state(std::string_view text) {
  boost::system::error_code ec;
  json::value root = json::parse(text, ec);
  if (ec) {
    return fail("not JSON: " + ec.message());
  }
  if (!root.is_object()) {
    return fail("not a JSON object");
  }
  const json::object& o = root.get_object();
  const json::value* version = o.if_contains("version");
  if (version == nullptr || !version->is_int64() || version->get_int64() != state_file_version) {
    return fail("unknown version (want " + std::to_string(state_file_version) + ")");
  }
  StoredState state;
  auto node = string_field(o, "node", "state");
  if (!node) {
    return node.error();
  }
  state.node = *node;
  auto written = int_field(o, "written_unix_nanos", "state");
  if (!written) {
    return written.error();
  }
  state.written = from_unix_nanos(*written);
  const json::value* containers = o.if_contains("containers");
  if (containers == nullptr || !containers->is_array()) {
    return fail("\"containers\" must be an array");
  }
  for (std::size_t i = 0; i < containers->get_array().size(); ++i) {
    auto c = parse_container(containers->get_array()[i], "containers[" + std::to_string(i) + "]");
    if (!c) {
      return c.error();
    }
    state.containers.push_back(std::move(*c));
  }
  return state;
}

Result<std::optional<StoredState>> read_state_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!fs::exists(path, ec) && !ec) {
      return std::optional<StoredState>();
    }
    return fail("cannot open " + path.string() + ": " + std::strerror(errno));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    return fail("cannot read " + path.string());
  }
  auto state = parse_state(ss.str());
  if (!state) {
    return fail(path.string() + ": " + state.error().message);
  }
  return std::optional<StoredState>(std::move(*state));
}

namespace {

// After a rename the new name lives in the directory: until the directory is on disk too, a power
// cut can bring back the old file (or none) although the write "succeeded".
Result<void> sync_directory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return fail("cannot open " + dir.string() + " to sync it: " + std::strerror(errno));
  }
  const bool synced = ::fsync(fd) == 0;
  const int sync_errno = errno;
  ::close(fd);
  // EINVAL: a filesystem that cannot sync directories (some FUSE ones) has nothing to sync either.
  if (!synced && sync_errno != EINVAL) {
    return fail("cannot sync " + dir.string() + ": " + std::strerror(sync_errno));
  }
  return {};
}

}  // namespace

Result<void> write_state_file(const fs::path& path, const StoredState& state) {
  const std::string text = render_state(state);
  // Per process: an overlapping old and new agent never write into each other's temporary file.
  const fs::path temp = path.string() + ".tmp." + std::to_string(::getpid());
  // 0600: the file names every pod on the node and what it used; nobody but the agent reads it.
  // O_NOFOLLOW: a link planted at the temporary name must not redirect the write.
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return fail("cannot create " + temp.string() + ": " + std::strerror(errno));
  }
  // Every failure from here on removes the temporary file: left behind, each failed write (one
  // every sample interval) would leave a copy of the state readable to whoever finds it.
  auto abandon = [&](const std::string& what, int error, bool still_open) -> Result<void> {
    if (still_open) {
      ::close(fd);
    }
    ::unlink(temp.c_str());
    return fail("cannot " + what + " " + temp.string() + ": " + std::strerror(error));
  };
  // O_CREAT's mode applies only to a new file: one left by an earlier process with this pid (the
  // agent is pid 1 in its container) keeps its mode through O_TRUNC.
  if (::fchmod(fd, 0600) != 0) {
    return abandon("restrict", errno, true);
  }
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return abandon("write", n == 0 ? EIO : errno, true);
    }
    done += static_cast<std::size_t>(n);
  }
  // The data must be on disk before the rename makes it the state: after a power cut the file
  // is either the old state or the new one, never an empty one.
  if (::fsync(fd) != 0) {
    return abandon("flush", errno, true);
  }
  if (::close(fd) != 0) {
    return abandon("close", errno, false);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int rename_errno = errno;
    ::unlink(temp.c_str());
    return fail("cannot rename " + temp.string() + " to " + path.string() + ": " + std::strerror(rename_errno));
  }
  return sync_directory(path.has_parent_path() ? path.parent_path() : fs::path("."));
}

}  // namespace nodepack::agent::accounting
