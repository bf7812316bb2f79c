#include "podresources/messages.hpp"

#include "podresources/protobuf_reader.hpp"

namespace nodepack::podresources {

namespace {

// Calls on_field for every field of a message; stops at the first wire-format error, or the
// first error on_field returns.
template <class OnField>
Result<void> each_field(std::string_view bytes, OnField&& on_field) {
  ProtobufReader reader(bytes);
  while (!reader.done()) {
    auto field = reader.next();
    if (!field) {
      return field.error();
    }
    if (auto r = on_field(*field); !r) {
      return r;
    }
  }
  return {};
}

bool is(const Field& f, std::uint32_t number, WireType type) { return f.number == number && f.type == type; }

// A repeated int64: packed (one length-delimited run of varints, proto3's default) or one varint
// per field, as parsers must accept both. Negative values are ten-byte two's complement varints.
Result<void> append_int64s(const Field& f, std::uint32_t number, std::vector<std::int64_t>& out) {
  if (is(f, number, WireType::varint)) {
    out.push_back(static_cast<std::int64_t>(f.varint));
  } else if (is(f, number, WireType::length_delimited)) {
    std::string_view run = f.bytes;
    while (!run.empty()) {
      auto v = ProtobufReader::read_varint(run);
      if (!v) {
        return v.error();
      }
      out.push_back(static_cast<std::int64_t>(*v));
    }
  }
  return {};
}

// A singular message field given more than once is merged into what came before.
Result<void> merge_topology(std::string_view bytes, TopologyInfo& t) {
  return each_field(bytes, [&](const Field& f) -> Result<void> {
    if (!is(f, 1, WireType::length_delimited)) {  // repeated NUMANode nodes = 1
      return {};
    }
    std::int64_t id = 0;
    auto r = each_field(f.bytes, [&](const Field& n) -> Result<void> {
      if (is(n, 1, WireType::varint)) {  // int64 ID = 1
        id = static_cast<std::int64_t>(n.varint);
      }
      return {};
    });
    if (r) {
      t.nodes.push_back(id);
    }
    return r;
  });
}

// A message of type T, its fields applied one by one by on_field(T&, const Field&).
template <class T, class OnField>
Result<T> decode_message(std::string_view bytes, OnField&& on_field) {
  T out;
  auto r = each_field(bytes, [&](const Field& f) { return on_field(out, f); });
  if (!r) {
    return r.error();
  }
  return out;
}

Result<ContainerDevices> decode_devices(std::string_view bytes) {
  return decode_message<ContainerDevices>(bytes, [](ContainerDevices& d, const Field& f) -> Result<void> {
    if (is(f, 1, WireType::length_delimited)) {
      d.resource_name = f.bytes;
    } else if (is(f, 2, WireType::length_delimited)) {
      d.device_ids.emplace_back(f.bytes);
    } else if (is(f, 3, WireType::length_delimited)) {
      return merge_topology(f.bytes, d.topology);
    }
    return {};
  });
}

Result<ContainerMemory> decode_memory(std::string_view bytes) {
  return decode_message<ContainerMemory>(bytes, [](ContainerMemory& m, const Field& f) -> Result<void> {
    if (is(f, 1, WireType::length_delimited)) {
      m.memory_type = f.bytes;
    } else if (is(f, 2, WireType::varint)) {
      m.size = f.varint;
    } else if (is(f, 3, WireType::length_delimited)) {
      return merge_topology(f.bytes, m.topology);
    }
    return {};
  });
}

// Decodes a length-delimited field into a new element of `out`.
template <class T, class Decode>
Result<void> append_decoded(const Field& f, std::vector<T>& out, Decode&& decode) {
  auto v = decode(f.bytes);
  if (!v) {
    return v.error();
  }
  out.push_back(std::move(*v));
  return {};
}

Result<ContainerResources> decode_container(std::string_view bytes) {
  return decode_message<ContainerResources>(bytes, [](ContainerResources& c, const Field& f) -> Result<void> {
    if (is(f, 1, WireType::length_delimited)) {
      c.name = f.bytes;
    } else if (is(f, 2, WireType::length_delimited)) {
      return append_decoded(f, c.devices, decode_devices);
    } else if (f.number == 3) {
      return append_int64s(f, 3, c.cpu_ids);
    } else if (is(f, 4, WireType::length_delimited)) {
      return append_decoded(f, c.memory, decode_memory);
    }
    return {};  // 5: dynamic_resources (DRA), not used
  });
}

Result<PodResources> decode_pod(std::string_view bytes) {
  return decode_message<PodResources>(bytes, [](PodResources& p, const Field& f) -> Result<void> {
    if (is(f, 1, WireType::length_delimited)) {
      p.name = f.bytes;
    } else if (is(f, 2, WireType::length_delimited)) {
      p.namespace_ = f.bytes;
    } else if (is(f, 3, WireType::length_delimited)) {
      return append_decoded(f, p.containers, decode_container);
    }
    return {};
  });
}

}  // namespace

Result<ListPodResourcesResponse> decode_list_response(std::string_view bytes) {
  auto r = decode_message<ListPodResourcesResponse>(bytes, [](ListPodResourcesResponse& l, const Field& f) {
    return is(f, 1, WireType::length_delimited) ? append_decoded(f, l.pod_resources, decode_pod) : Result<void>();
  });
  if (!r) {
    return fail("ListPodResourcesResponse: " + r.error().message);
  }
  return r;
}

Result<AllocatableResourcesResponse> decode_allocatable_response(std::string_view bytes) {
  auto r = decode_message<AllocatableResourcesResponse>(
      bytes, [](AllocatableResourcesResponse& a, const Field& f) -> Result<void> {
        if (is(f, 1, WireType::length_delimited)) {
          return append_decoded(f, a.devices, decode_devices);
        }
        if (f.number == 2) {
          return append_int64s(f, 2, a.cpu_ids);
        }
        if (is(f, 3, WireType::length_delimited)) {
          return append_decoded(f, a.memory, decode_memory);
        }
        return {};
      });
  if (!r) {
    return fail("AllocatableResourcesResponse: " + r.error().message);
  }
  return r;
}

}  // namespace nodepack::podresources
