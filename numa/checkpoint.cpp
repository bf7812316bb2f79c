#include "numa/checkpoint.hpp"

#include <ostream>

#include "numa/go_checksum.hpp"

#include <boost/json.hpp>

#include <charconv>
#include <deque>
#include <utility>

namespace nodepack::numa {

std::string_view to_string(CheckpointError e) {
  switch (e) {
    case CheckpointError::oversized:
      return "oversized";
    case CheckpointError::read_error:
      return "read_error";
    case CheckpointError::parse_error:
      return "parse_error";
    case CheckpointError::unknown_layout:
      return "unknown_layout";
    case CheckpointError::invalid_cpuset:
      return "invalid_cpuset";
    case CheckpointError::checksum_mismatch:
      return "checksum_mismatch";
  }
  return "parse_error";
}

std::ostream& operator<<(std::ostream& os, const CheckpointFailure& f) { return os << f.message; }

void throw_exception_from_error(const CheckpointFailure& f, const boost::source_location&) {
  throw ErrorException(f.message);
}

namespace json = boost::json;
using go::Field;
using go::Kind;
using go::Type;

std::string_view to_string(ChecksumStatus s) {
  switch (s) {
    case ChecksumStatus::verified:
      return "verified";
    case ChecksumStatus::mismatch:
      return "mismatch";
    case ChecksumStatus::absent:
      return "absent";
  }
  return "unknown";
}

namespace {

// ---------------------------------------------------------------------------------------------
// The Go types each kubelet version hashed. Names are what reflect prints, so they include the
// package ("state.", "checkpoint.") and the type name of the struct the kubelet hashed.

class TypePool {
 public:
  const Type* add(Type t) {
    pool_.push_back(std::move(t));
    return &pool_.back();
  }

 private:
  std::deque<Type> pool_;
};

struct Layout {
  std::string name;
  const Type* type;
};

struct Layouts {
  TypePool pool;
  std::vector<Layout> cpu_v1;        // entries keyed by container id
  std::vector<Layout> cpu_v2_or_v3;  // entries keyed by pod UID, then container
  std::vector<Layout> memory;
  const Type* devices_v2 = nullptr;
  const Type* devices_v1 = nullptr;

  Layouts() {
    const Type* str = pool.add({Kind::string, "string"});
    const Type* u64 = pool.add({Kind::uint, "uint64"});
    const Type* int_ = pool.add({Kind::int_, "int"});
    const Type* checksum = pool.add({Kind::zero_checksum, "checksum.Checksum"});
    const Type* ints = pool.add({Kind::slice, "[]int", int_});
    const Type* strings = pool.add({Kind::slice, "[]string", str});

    // cpu manager
    const Type* map_ss = pool.add({Kind::map_string, "map[string]string", str});
    const Type* map_sss = pool.add({Kind::map_string, "map[string]map[string]string", map_ss});
    const Type* pod_entry = pool.add({Kind::pod_cpuset, "state.PodEntry"});
    const Type* pod_cpu = pool.add({Kind::map_string, "state.PodCPUAssignments", pod_entry});
    auto cpu = [&](std::string name, const Type* entries, bool pod_entries) {
      Type s{Kind::struct_, name.substr(1)};
      s.fields = {{"PolicyName", "policyName", str},
                  {"DefaultCPUSet", "defaultCpuSet", str},
                  {"Entries", "entries", entries, true}};
      if (pod_entries) {
        s.fields.push_back({"PodEntries", "podEntries", pod_cpu, true});
      }
      s.fields.push_back({"Checksum", "checksum", checksum});
      const Type* st = pool.add(std::move(s));
      return pool.add({Kind::ptr, std::move(name), st});
    };
    // V1 and V2 were hashed under the name CPUManagerCheckpoint (V1 by renaming before
    // hashing); V3 under CPUManagerCheckpoint by kubelets that made it the current type, and
    // under CPUManagerCheckpointV3 by those that hashed the aliased type as is.
    cpu_v1 = {{"v1", cpu("*state.CPUManagerCheckpoint", map_ss, false)}};
    cpu_v2_or_v3 = {{"v2", cpu("*state.CPUManagerCheckpoint", map_sss, false)},
                    {"v3", cpu("*state.CPUManagerCheckpoint", map_sss, true)},
                    {"v3-named", cpu("*state.CPUManagerCheckpointV3", map_sss, true)}};

    // memory manager
    const Type* table_struct = pool.add({Kind::struct_,
                                         "state.MemoryTable",
                                         nullptr,
                                         {{"TotalMemSize", "total", u64},
                                          {"SystemReserved", "systemReserved", u64},
                                          {"Allocatable", "allocatable", u64},
                                          {"Reserved", "reserved", u64},
                                          {"Free", "free", u64}}});
    const Type* table_ptr = pool.add({Kind::ptr, "*state.MemoryTable", table_struct});
    const Type* memory_map = pool.add({Kind::map_string, "map[v1.ResourceName]*state.MemoryTable", table_ptr});
    const Type* resource = pool.add({Kind::string, "v1.ResourceName"});
    const Type* block =
        pool.add({Kind::struct_,
                  "state.Block",
                  nullptr,
                  {{"NUMAAffinity", "numaAffinity", ints}, {"Type", "type", resource}, {"Size", "size", u64}}});
    const Type* blocks = pool.add({Kind::slice, "[]state.Block", block});
    const Type* container_blocks = pool.add({Kind::map_string, "map[string][]state.Block", blocks});
    const Type* assignments = pool.add({Kind::map_string, "state.ContainerMemoryAssignments", container_blocks});
    const Type* mem_pod_entry =
        pool.add({Kind::struct_, "state.PodEntry", nullptr, {{"MemoryBlocks", "memoryBlocks", blocks}}});
    const Type* pod_assignments = pool.add({Kind::map_string, "state.PodMemoryAssignments", mem_pod_entry});
    for (const char* cells_name : {"Cells", "Nodes"}) {
      const std::string cells_json = std::string(cells_name) == "Cells" ? "cells" : "nodes";
      const Type* node_state = pool.add({Kind::struct_,
                                         "state.NUMANodeState",
                                         nullptr,
                                         {{"NumberOfAssignments", "numberOfAssignments", int_},
                                          {"MemoryMap", "memoryMap", memory_map},
                                          {cells_name, cells_json, ints}}});
      const Type* node_ptr = pool.add({Kind::ptr, "*state.NUMANodeState", node_state});
      const Type* node_map = pool.add({Kind::map_int, "state.NUMANodeMap", node_ptr});
      for (bool pods : {false, true}) {
        for (const char* type_name :
             {"MemoryManagerCheckpoint", "MemoryManagerCheckpointV1", "MemoryManagerCheckpointV2"}) {
          Type s{Kind::struct_, std::string("state.") + type_name};
          s.fields = {{"PolicyName", "policyName", str},
                      {"MachineState", "machineState", node_map, true},
                      {"Entries", "entries", assignments, true}};
          if (pods) {
            s.fields.push_back({"PodEntries", "podEntries", pod_assignments, true});
          }
          s.fields.push_back({"Checksum", "checksum", checksum});
          const Type* st = pool.add(std::move(s));
          const std::string layout =
              std::string(pods ? "v2" : "v1") + (cells_json == "nodes" ? "-nodes" : "") +
              (std::string(type_name) == "MemoryManagerCheckpoint" ? "" : std::string("-named-") + type_name);
          memory.push_back({layout, pool.add({Kind::ptr, std::string("*state.") + type_name, st})});
        }
      }
    }

    // device manager: the checksum covers the Data member only.
    const Type* bytes = pool.add({Kind::bytes, "[]uint8"});
    const Type* per_numa = pool.add({Kind::map_int, "checkpoint.DevicesPerNUMA", strings});
    const Type* registered = pool.add({Kind::map_string, "map[string][]string", strings});
    auto devices = [&](const Type* ids) {
      const Type* entry = pool.add({Kind::struct_,
                                    "checkpoint.PodDevicesEntry",
                                    nullptr,
                                    {{"PodUID", "PodUID", str},
                                     {"ContainerName", "ContainerName", str},
                                     {"ResourceName", "ResourceName", str},
                                     {"DeviceIDs", "DeviceIDs", ids},
                                     {"AllocResp", "AllocResp", bytes}}});
      const Type* entries = pool.add({Kind::slice, "[]checkpoint.PodDevicesEntry", entry});
      return pool.add({Kind::struct_,
                       "checkpoint.checkpointData",
                       nullptr,
                       {{"PodDeviceEntries", "PodDeviceEntries", entries},
                        {"RegisteredDevices", "RegisteredDevices", registered}}});
    };
    devices_v2 = devices(per_numa);
    devices_v1 = devices(strings);
  }
};

const Layouts& layouts() {
  static const Layouts instance;
  return instance;
}

// ---------------------------------------------------------------------------------------------
// Reading values the way encoding/json would, failing on the shapes it refuses.

CheckpointFailure failure(CheckpointError reason, std::string message) {
  return CheckpointFailure{reason, std::string(to_string(reason)) + ": " + std::move(message)};
}

CheckpointFailure layout_error(const std::string& what) { return failure(CheckpointError::unknown_layout, what); }

ParseResult<json::value> parse_json(std::string_view text) {
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 64;
  json::value v = json::parse(text, ec, {}, opts);
  if (ec) {
    return failure(CheckpointError::parse_error, ec.message());
  }
  return v;
}

ParseResult<std::string> get_string(const json::value* v, std::string_view what) {
  if (v == nullptr || v->is_null()) {
    return std::string();
  }
  if (!v->is_string()) {
    return layout_error(std::string(what) + " is not a string");
  }
  return std::string(v->get_string());
}

ParseResult<std::uint64_t> get_uint(const json::value* v, std::string_view what) {
  if (v == nullptr || v->is_null()) {
    return std::uint64_t{0};
  }
  if (v->is_uint64()) {
    return v->get_uint64();
  }
  if (v->is_int64() && v->get_int64() >= 0) {
    return static_cast<std::uint64_t>(v->get_int64());
  }
  return layout_error(std::string(what) + " is not an unsigned integer");
}

ParseResult<std::int64_t> get_int(const json::value* v, std::string_view what) {
  if (v == nullptr || v->is_null()) {
    return std::int64_t{0};
  }
  if (v->is_int64()) {
    return v->get_int64();
  }
  return layout_error(std::string(what) + " is not an integer");
}

// nullptr for absent or null, else the object, else an error.
ParseResult<const json::object*> get_object(const json::value* v, std::string_view what) {
  if (v == nullptr || v->is_null()) {
    return static_cast<const json::object*>(nullptr);
  }
  if (!v->is_object()) {
    return layout_error(std::string(what) + " is not an object");
  }
  return &v->get_object();
}

ParseResult<const json::array*> get_array(const json::value* v, std::string_view what) {
  if (v == nullptr || v->is_null()) {
    return static_cast<const json::array*>(nullptr);
  }
  if (!v->is_array()) {
    return layout_error(std::string(what) + " is not an array");
  }
  return &v->get_array();
}

ParseResult<CpuSet> get_cpuset(const json::value* v, std::string_view what, int cpu_limit) {
  auto s = get_string(v, what);
  if (!s) {
    return s.error();
  }
  auto set = CpuSet::parse(*s, cpu_limit);
  if (!set) {
    return failure(CheckpointError::invalid_cpuset, std::string(what) + ": " + set.error().message);
  }
  return *set;
}

ParseResult<std::vector<int>> get_ints(const json::value* v, std::string_view what) {
  auto arr = get_array(v, what);
  if (!arr) {
    return arr.error();
  }
  std::vector<int> out;
  if (*arr != nullptr) {
    for (const auto& e : **arr) {
      if (!e.is_int64() || e.get_int64() < -(1 << 30) || e.get_int64() > (1 << 30)) {
        return layout_error(std::string(what) + " holds a non-integer");
      }
      out.push_back(static_cast<int>(e.get_int64()));
    }
  }
  return out;
}

ParseResult<std::vector<std::string>> get_strings(const json::value* v, std::string_view what) {
  auto arr = get_array(v, what);
  if (!arr) {
    return arr.error();
  }
  std::vector<std::string> out;
  if (*arr != nullptr) {
    for (const auto& e : **arr) {
      if (!e.is_string()) {
        return layout_error(std::string(what) + " holds a non-string");
      }
      out.emplace_back(e.get_string());
    }
  }
  return out;
}

bool parse_int_key(std::string_view s, std::int64_t& out) {
  if (!s.empty() && s.front() == '+') {
    s.remove_prefix(1);
    if (s.empty() || s.front() == '-') {
      return false;
    }
  }
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc() && ptr == s.data() + s.size();
}

// Compares the stored checksum with each candidate rendering; the first match wins. A stored 0
// is only "absent" when the caller says the kubelet accepts that for this file.
ChecksumCheck verify(const json::value& doc, std::uint64_t stored, const std::vector<Layout>& candidates,
                     bool zero_accepted) {
  ChecksumCheck check;
  check.stored = stored;
  if (stored == 0 && zero_accepted) {
    check.status = ChecksumStatus::absent;
    return check;
  }
  check.status = ChecksumStatus::mismatch;
  for (const auto& c : candidates) {
    std::string error;
    auto rendered = go::render(*c.type, doc, error);
    if (!rendered) {
      continue;
    }
    const std::uint32_t computed = go::fnv1a32(*rendered);
    check.tried.push_back(c.name);
    check.computed.push_back(computed);
    if (computed == stored) {
      check.status = ChecksumStatus::verified;
      check.layout = c.name;
      return check;
    }
  }
  return check;
}

// Newer kubelets store the state as a JSON string in "data" and checksum that string alone
// ("dataChecksum"; a variant uses "checksum"), hashed as spew prints a Go string: "(string)...".
// No exception for 0: the kubelet verifies the data checksum unconditionally and, "data" being
// there, does not fall back to an older layout that would accept it.
ChecksumCheck verify_data(const std::string& data, std::uint64_t stored) {
  ChecksumCheck check;
  check.stored = stored;
  const std::uint32_t computed = go::fnv1a32("(string)" + data);
  check.tried.push_back("data");
  check.computed.push_back(computed);
  if (computed == stored) {
    check.status = ChecksumStatus::verified;
    check.layout = "data";
  } else {
    check.status = ChecksumStatus::mismatch;
  }
  return check;
}

// The kubelet read the file in a layout without podEntries (the oldest layouts accept a zero
// checksum; see checkpoint.hpp): what it holds has none, so neither does what we report.
template <class PodEntries>
void drop_pod_entries(PodEntries& pod_entries, ChecksumCheck& check, const std::string& layout) {
  if (pod_entries.empty()) {
    return;
  }
  check.note = std::to_string(pod_entries.size()) + " podEntries ignored: the kubelet reads this file as layout " +
               layout + ", which has none";
  pod_entries.clear();
}

struct Envelope {
  bool present = false;
  std::string data;
  std::uint64_t stored = 0;
  json::value payload;
};

ParseResult<Envelope> read_envelope(const json::object& top) {
  Envelope env;
  const json::value* data = go::field(top, "data");
  if (data == nullptr || data->is_null()) {
    return env;
  }
  if (!data->is_string()) {
    return layout_error("data is not a string");
  }
  env.present = true;
  env.data = std::string(data->get_string());
  const json::value* dcs = go::field(top, "dataChecksum");
  auto stored = get_uint(dcs != nullptr ? dcs : go::field(top, "checksum"), "dataChecksum");
  if (!stored) {
    return stored.error();
  }
  env.stored = *stored;
  auto payload = parse_json(env.data);
  if (!payload) {
    return failure(CheckpointError::parse_error, "data: " + payload.error().message);
  }
  if (!payload->is_object()) {
    return layout_error("data does not hold an object");
  }
  env.payload = std::move(*payload);
  return env;
}

// ---------------------------------------------------------------------------------------------
// cpu_manager_state

ParseResult<void> read_cpu_payload(const json::object& o, CpuManagerState& st, bool& container_id_keyed,
                                   int cpu_limit) {
  auto policy = get_string(go::field(o, "policyName"), "policyName");
  if (!policy) {
    return policy.error();
  }
  st.policy_name = *policy;
  auto def = get_cpuset(go::field(o, "defaultCpuSet"), "defaultCpuSet", cpu_limit);
  if (!def) {
    return def.error();
  }
  st.default_cpu_set = *def;
  auto entries = get_object(go::field(o, "entries"), "entries");
  if (!entries) {
    return entries.error();
  }
  int strings = 0;
  int objects = 0;
  if (*entries != nullptr) {
    for (const auto& kv : **entries) {
      const std::string key(kv.key());
      if (kv.value().is_string() || kv.value().is_null()) {
        ++strings;
        auto set = get_cpuset(&kv.value(), "entries[" + key + "]", cpu_limit);
        if (!set) {
          return set.error();
        }
        st.container_id_entries[key] = *set;
      } else if (kv.value().is_object()) {
        ++objects;
        auto& containers = st.entries[key];
        for (const auto& c : kv.value().get_object()) {
          auto set = get_cpuset(&c.value(), "entries[" + key + "][" + std::string(c.key()) + "]", cpu_limit);
          if (!set) {
            return set.error();
          }
          containers[std::string(c.key())] = *set;
        }
      } else {
        return layout_error("entries[" + key + "] is neither a cpuset nor a map of containers");
      }
    }
  }
  if (strings > 0 && objects > 0) {
    return layout_error("entries mixes the pre-1.18 and the per-pod layouts");
  }
  container_id_keyed = strings > 0;
  auto pods = get_object(go::field(o, "podEntries"), "podEntries");
  if (!pods) {
    return pods.error();
  }
  if (*pods != nullptr) {
    if (container_id_keyed) {
      return layout_error("podEntries with pre-1.18 entries");
    }
    std::size_t pod_entry_cpus = 0;
    for (const auto& kv : **pods) {
      auto pod = get_object(&kv.value(), "podEntries[" + std::string(kv.key()) + "]");
      if (!pod) {
        return pod.error();
      }
      auto set = get_cpuset(*pod != nullptr ? go::field(**pod, "cpuSet") : nullptr,
                            "podEntries[" + std::string(kv.key()) + "].cpuSet", cpu_limit);
      if (!set) {
        return set.error();
      }
      // The checksum of a podEntries layout prints every CPU of every pod entry (see
      // go_checksum.cpp). Pods hold exclusive CPUs, so together they name at most the machine's;
      // more is no file the kubelet writes, and hashing it would cost ids, not bytes.
      pod_entry_cpus += set->size();
      if (pod_entry_cpus > static_cast<std::size_t>(cpu_limit)) {
        return failure(CheckpointError::invalid_cpuset,
                       "podEntries hold more CPUs in total than the " + std::to_string(cpu_limit) +
                           " a machine can have here: exclusive CPU sets cannot overlap");
      }
      st.pod_entries[std::string(kv.key())] = *set;
    }
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// memory_manager_state

ParseResult<std::vector<MemoryBlock>> read_blocks(const json::value* v, const std::string& what) {
  auto arr = get_array(v, what);
  if (!arr) {
    return arr.error();
  }
  std::vector<MemoryBlock> out;
  if (*arr == nullptr) {
    return out;
  }
  for (const auto& e : **arr) {
    auto obj = get_object(&e, what);
    if (!obj) {
      return obj.error();
    }
    MemoryBlock b;
    if (*obj != nullptr) {
      auto aff = get_ints(go::field(**obj, "numaAffinity"), what + ".numaAffinity");
      auto type = get_string(go::field(**obj, "type"), what + ".type");
      auto size = get_uint(go::field(**obj, "size"), what + ".size");
      if (!aff) {
        return aff.error();
      }
      if (!type) {
        return type.error();
      }
      if (!size) {
        return size.error();
      }
      b.numa_affinity = std::move(*aff);
      b.type = std::move(*type);
      b.size = *size;
    }
    out.push_back(std::move(b));
  }
  return out;
}

ParseResult<void> read_memory_payload(const json::object& o, MemoryManagerState& st) {
  auto policy = get_string(go::field(o, "policyName"), "policyName");
  if (!policy) {
    return policy.error();
  }
  st.policy_name = *policy;
  auto machine = get_object(go::field(o, "machineState"), "machineState");
  if (!machine) {
    return machine.error();
  }
  if (*machine != nullptr) {
    for (const auto& kv : **machine) {
      std::int64_t id = 0;
      const std::string key(kv.key());
      if (!parse_int_key(key, id) || id < 0 || id > 4096) {
        return layout_error("machineState key \"" + key + "\" is not a NUMA id");
      }
      auto node = get_object(&kv.value(), "machineState[" + key + "]");
      if (!node) {
        return node.error();
      }
      NumaMemoryState ns;
      if (*node != nullptr) {
        auto n = get_int(go::field(**node, "numberOfAssignments"), "numberOfAssignments");
        if (!n) {
          return n.error();
        }
        ns.number_of_assignments = *n;
        auto mm = get_object(go::field(**node, "memoryMap"), "memoryMap");
        if (!mm) {
          return mm.error();
        }
        if (*mm != nullptr) {
          for (const auto& r : **mm) {
            auto t = get_object(&r.value(), "memoryMap[" + std::string(r.key()) + "]");
            if (!t) {
              return t.error();
            }
            if (*t == nullptr) {
              continue;
            }
            MemoryTable table;
            for (auto [name, slot] :
                 {std::pair{"total", &table.total}, std::pair{"systemReserved", &table.system_reserved},
                  std::pair{"allocatable", &table.allocatable}, std::pair{"reserved", &table.reserved},
                  std::pair{"free", &table.free}}) {
              auto value = get_uint(go::field(**t, name), name);
              if (!value) {
                return value.error();
              }
              *slot = *value;
            }
            ns.memory_map[std::string(r.key())] = table;
          }
        }
        const json::value* cells = go::field(**node, "cells");
        auto c = get_ints(cells != nullptr ? cells : go::field(**node, "nodes"), "cells");
        if (!c) {
          return c.error();
        }
        ns.cells = std::move(*c);
      }
      st.machine_state[static_cast<int>(id)] = std::move(ns);
    }
  }
  auto entries = get_object(go::field(o, "entries"), "entries");
  if (!entries) {
    return entries.error();
  }
  if (*entries != nullptr) {
    for (const auto& pod : **entries) {
      auto containers = get_object(&pod.value(), "entries[" + std::string(pod.key()) + "]");
      if (!containers) {
        return containers.error();
      }
      auto& slot = st.entries[std::string(pod.key())];
      if (*containers == nullptr) {
        continue;
      }
      for (const auto& c : **containers) {
        auto blocks = read_blocks(&c.value(), "entries[" + std::string(pod.key()) + "][" + std::string(c.key()) + "]");
        if (!blocks) {
          return blocks.error();
        }
        slot[std::string(c.key())] = std::move(*blocks);
      }
    }
  }
  auto pods = get_object(go::field(o, "podEntries"), "podEntries");
  if (!pods) {
    return pods.error();
  }
  if (*pods != nullptr) {
    for (const auto& pod : **pods) {
      auto obj = get_object(&pod.value(), "podEntries");
      if (!obj) {
        return obj.error();
      }
      auto blocks = read_blocks(*obj != nullptr ? go::field(**obj, "memoryBlocks") : nullptr,
                                "podEntries[" + std::string(pod.key()) + "]");
      if (!blocks) {
        return blocks.error();
      }
      st.pod_entries[std::string(pod.key())] = std::move(*blocks);
    }
  }
  return {};
}

}  // namespace

ParseResult<CpuManagerState> parse_cpu_manager_state(std::string_view text, int cpu_limit) {
  auto doc = parse_json(text);
  if (!doc) {
    return doc.error();
  }
  if (!doc->is_object()) {
    return layout_error("top level is not an object");
  }
  const json::object& top = doc->get_object();
  auto env = read_envelope(top);
  if (!env) {
    return env.error();
  }
  CpuManagerState st;
  bool container_id_keyed = false;
  if (env->present) {
    if (auto r = read_cpu_payload(env->payload.get_object(), st, container_id_keyed, cpu_limit); !r) {
      return r.error();
    }
    if (container_id_keyed) {
      return layout_error("data holds pre-1.18 entries");
    }
    st.layout = "v4-data";
    st.checksum = verify_data(env->data, env->stored);
    return st;
  }
  if (go::field(top, "policyName") == nullptr) {
    return layout_error("no policyName");
  }
  if (auto r = read_cpu_payload(top, st, container_id_keyed, cpu_limit); !r) {
    return r.error();
  }
  auto stored = get_uint(go::field(top, "checksum"), "checksum");
  if (!stored) {
    return stored.error();
  }
  const Layouts& l = layouts();
  std::vector<Layout> candidates;
  const bool has_entries = !st.entries.empty() || !st.container_id_entries.empty();
  if (container_id_keyed || (!has_entries && st.pod_entries.empty())) {
    candidates.insert(candidates.end(), l.cpu_v1.begin(), l.cpu_v1.end());
  }
  if (!container_id_keyed) {
    candidates.insert(candidates.end(), l.cpu_v2_or_v3.begin(), l.cpu_v2_or_v3.end());
  }
  // Every layout without "data" accepts a zero checksum in the end: CPU v3 does not, but the
  // kubelet then falls back to v2, which does (v1 for entries keyed by container id).
  st.checksum = verify(*doc, *stored, candidates, true);
  if (st.checksum.status == ChecksumStatus::verified) {
    st.layout = st.checksum.layout == "v3-named" ? "v3" : st.checksum.layout;
  } else if (st.checksum.status == ChecksumStatus::absent) {
    st.layout = container_id_keyed ? "v1" : "v2";
  } else {
    st.layout = container_id_keyed ? "v1" : (st.pod_entries.empty() ? "v2" : "v3");
  }
  if (st.checksum.status != ChecksumStatus::mismatch && (st.layout == "v1" || st.layout == "v2")) {
    drop_pod_entries(st.pod_entries, st.checksum, st.layout);
  }
  return st;
}

ParseResult<MemoryManagerState> parse_memory_manager_state(std::string_view text) {
  auto doc = parse_json(text);
  if (!doc) {
    return doc.error();
  }
  if (!doc->is_object()) {
    return layout_error("top level is not an object");
  }
  const json::object& top = doc->get_object();
  auto env = read_envelope(top);
  if (!env) {
    return env.error();
  }
  MemoryManagerState st;
  if (env->present) {
    if (auto r = read_memory_payload(env->payload.get_object(), st); !r) {
      return r.error();
    }
    st.layout = "v3-data";
    st.checksum = verify_data(env->data, env->stored);
    return st;
  }
  if (go::field(top, "policyName") == nullptr) {
    return layout_error("no policyName");
  }
  if (auto r = read_memory_payload(top, st); !r) {
    return r.error();
  }
  auto stored = get_uint(go::field(top, "checksum"), "checksum");
  if (!stored) {
    return stored.error();
  }
  // As for the CPU manager: memory v2 has no zero exception, but the kubelet then falls back to
  // v1, which has one.
  st.checksum = verify(*doc, *stored, layouts().memory, true);
  if (st.checksum.status == ChecksumStatus::verified) {
    st.layout = st.checksum.layout.substr(0, 2);
  } else if (st.checksum.status == ChecksumStatus::absent) {
    st.layout = "v1";
  } else {
    st.layout = st.pod_entries.empty() ? "v1" : "v2";
  }
  if (st.checksum.status != ChecksumStatus::mismatch && st.layout == "v1") {
    drop_pod_entries(st.pod_entries, st.checksum, st.layout);
  }
  return st;
}

ParseResult<DeviceCheckpoint> parse_device_checkpoint(std::string_view text) {
  auto doc = parse_json(text);
  if (!doc) {
    return doc.error();
  }
  if (!doc->is_object()) {
    return layout_error("top level is not an object");
  }
  const json::object& top = doc->get_object();
  const json::value* data_v = go::field(top, "Data");
  if (data_v == nullptr) {
    return layout_error("no Data");
  }
  auto data = get_object(data_v, "Data");
  if (!data) {
    return data.error();
  }
  auto stored = get_uint(go::field(top, "Checksum"), "Checksum");
  if (!stored) {
    return stored.error();
  }
  DeviceCheckpoint cp;
  int v1_entries = 0;
  int v2_entries = 0;
  if (*data != nullptr) {
    auto entries = get_array(go::field(**data, "PodDeviceEntries"), "PodDeviceEntries");
    if (!entries) {
      return entries.error();
    }
    if (*entries != nullptr) {
      for (const auto& e : **entries) {
        auto obj = get_object(&e, "PodDeviceEntries[]");
        if (!obj) {
          return obj.error();
        }
        PodDevicesEntry entry;
        if (*obj != nullptr) {
          const json::object& o = **obj;
          auto uid = get_string(go::field(o, "PodUID"), "PodUID");
          auto container = get_string(go::field(o, "ContainerName"), "ContainerName");
          auto resource = get_string(go::field(o, "ResourceName"), "ResourceName");
          if (!uid) {
            return uid.error();
          }
          if (!container) {
            return container.error();
          }
          if (!resource) {
            return resource.error();
          }
          entry.pod_uid = *uid;
          entry.container_name = *container;
          entry.resource_name = *resource;
          const json::value* ids = go::field(o, "DeviceIDs");
          if (ids != nullptr && ids->is_array()) {
            // k8s <= 1.19 recorded no topology; the kubelet now files these under node 0,
            // we say what is known: no affinity.
            ++v1_entries;
            auto list = get_strings(ids, "DeviceIDs");
            if (!list) {
              return list.error();
            }
            entry.device_ids[no_numa_affinity] = std::move(*list);
          } else {
            ++v2_entries;
            auto per_numa = get_object(ids, "DeviceIDs");
            if (!per_numa) {
              return per_numa.error();
            }
            if (*per_numa != nullptr) {
              for (const auto& kv : **per_numa) {
                std::int64_t numa = 0;
                if (!parse_int_key(std::string_view(kv.key().data(), kv.key().size()), numa)) {
                  return layout_error("DeviceIDs key \"" + std::string(kv.key()) + "\" is not a NUMA id");
                }
                auto list = get_strings(&kv.value(), "DeviceIDs");
                if (!list) {
                  return list.error();
                }
                entry.device_ids[numa] = std::move(*list);
              }
            }
          }
        }
        cp.entries.push_back(std::move(entry));
      }
    }
    auto reg = get_object(go::field(**data, "RegisteredDevices"), "RegisteredDevices");
    if (!reg) {
      return reg.error();
    }
    if (*reg != nullptr) {
      for (const auto& kv : **reg) {
        auto list = get_strings(&kv.value(), "RegisteredDevices");
        if (!list) {
          return list.error();
        }
        cp.registered_devices[std::string(kv.key())] = std::move(*list);
      }
    }
  }
  if (v1_entries > 0 && v2_entries > 0) {
    return layout_error("PodDeviceEntries mix the v1 and v2 layouts");
  }
  const Layouts& l = layouts();
  std::vector<Layout> candidates;
  if (v1_entries == 0) {
    candidates.push_back({"v2", l.devices_v2});
  }
  if (v2_entries == 0) {
    candidates.push_back({"v1", l.devices_v1});
  }
  // Device checkpoints have no "0 means unchecked" rule: a zero is simply a wrong checksum.
  cp.checksum = verify(*data_v, *stored, candidates, false);
  cp.layout = cp.checksum.status == ChecksumStatus::verified ? cp.checksum.layout : (v1_entries > 0 ? "v1" : "v2");
  return cp;
}

}  // namespace nodepack::numa
