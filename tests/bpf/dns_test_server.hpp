#pragma once

// A tiny DNS server and client for the dns collector's kernel test, run in child processes moved
// into fake pods. The server answers by question name:
//   "ok.test"      NOERROR, after kOkDelay
//   "late.test"    NOERROR, after kLateDelay
//   "missing.test" NXDOMAIN, at once
//   "split.test"   NOERROR, at once; over TCP its answer's length prefix is written apart from
//                  the answer (two segments)
//   "long.test"    NOERROR, at once, 1,500 bytes long; over TCP the write that holds it is cut in
//                  two 40 bytes into it (the answer runs on into a second segment with whatever
//                  was answered after it)
//   anything else  no answer at all (the query is dropped)

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nodepack::bpf::test {

inline constexpr std::chrono::milliseconds kOkDelay{20};
inline constexpr std::chrono::milliseconds kLateDelay{400};
inline constexpr int kRcodeNoError = 0;
inline constexpr int kRcodeNxDomain = 3;

// Port 53 on a loopback address, IPv4 ("127.0.1.2") or IPv6 ("::1").
struct DnsServerAddress {
  explicit DnsServerAddress(const std::string& ip);
  sockaddr_storage addr{};
  socklen_t len = 0;
  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&addr); }
};

// A standard query (RD set) for `name`, A record, class IN.
std::vector<std::uint8_t> dns_query(std::uint16_t id, std::string_view name);

// Binds UDP and TCP to `server`, writes one byte to `ready_fd`, then answers `udp_queries`
// datagrams and then `tcp_queries` TCP connections (each until the client closes it; queries sent
// together are answered together, in one write).
// Returns false on any socket error.
bool serve_dns(const DnsServerAddress& server, int ready_fd, int udp_queries, int tcp_queries);

// A UDP socket connected to `server`, or -1.
int udp_socket_to(const DnsServerAddress& server);
// Sends a query over `udp_fd` (connected to the server) and returns the answer's RCODE, or
// nullopt without an answer (within `wait`) or with the wrong id.
std::optional<int> ask_udp(int udp_fd, std::uint16_t id, std::string_view name, std::chrono::milliseconds wait);
// How a TCP client writes its queries: all in one write, or the first length prefix apart from
// the rest (two segments: the prefix, then the queries).
enum class TcpWrites { together, prefix_apart };

// The same over a new TCP connection to `server` (length-prefixed, one write).
std::optional<int> ask_tcp(const DnsServerAddress& server, std::uint16_t id, std::string_view name);
// Queries {id, name} sent together over a new TCP connection (pipelined); the RCODEs of the
// answers in order, as many as came with the right ids.
std::vector<int> ask_tcp(const DnsServerAddress& server,
                         const std::vector<std::pair<std::uint16_t, std::string>>& queries,
                         TcpWrites writes = TcpWrites::together);

}  // namespace nodepack::bpf::test
