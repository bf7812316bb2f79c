#include "tests/bpf/dns_test_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <string>
#include <thread>

namespace nodepack::bpf::test {
namespace {

constexpr std::size_t kHeader = 12;
constexpr std::size_t kLongAnswer = 1500;
constexpr std::size_t kLongCut = 40;                   // where a write holding a long answer is cut
constexpr std::size_t kMaxMessage = kLongAnswer + 64;  // what a client or the server reads at most
// Between the two writes of a cut one, so that each leaves as its own segment (TCP_NODELAY).
constexpr std::chrono::milliseconds kCutPause{20};

// The question's name, lowercased ("ok.test"), or "" when the message is not a query with one.
std::string question_name(const std::uint8_t* msg, std::size_t len) {
  std::string name;
  for (std::size_t i = kHeader; i < len && msg[i] != 0; i += msg[i] + 1u) {
    if (i + 1 + msg[i] > len) {
      return "";
    }
    if (!name.empty()) {
      name += '.';
    }
    for (std::size_t j = i + 1; j <= i + msg[i]; ++j) {
      name += static_cast<char>(std::tolower(msg[j]));  // names are case-insensitive
    }
  }
  return name;
}

// The answer to `query` (no records: the header and question back), or empty for a drop.
std::vector<std::uint8_t> answer(const std::uint8_t* query, std::size_t len) {
  if (len < kHeader) {
    return {};
  }
  const auto name = question_name(query, len);
  int rcode;
  if (name == "ok.test") {
    std::this_thread::sleep_for(kOkDelay);
    rcode = kRcodeNoError;
  } else if (name == "late.test") {
    std::this_thread::sleep_for(kLateDelay);
    rcode = kRcodeNoError;
  } else if (name == "missing.test") {
    rcode = kRcodeNxDomain;
  } else if (name == "split.test" || name == "long.test") {
    rcode = kRcodeNoError;
  } else {
    return {};
  }
  std::vector<std::uint8_t> a(query, query + len);
  a[2] |= 0x80;                                    // QR: an answer
  a[3] = static_cast<std::uint8_t>(0x80 | rcode);  // RA, RCODE
  if (name == "long.test") {
    a.resize(kLongAnswer, 0);  // padding past the question: nothing reads it
  }
  return a;
}

// Writes `bytes`, cut in two at `cut` (0: not cut) with a pause between, so that each part
// leaves as its own segment.
bool write_cut(int fd, const std::vector<std::uint8_t>& bytes, std::size_t cut) {
  if (cut > 0 && cut < bytes.size()) {
    const int one = 1;
    if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0 ||
        ::write(fd, bytes.data(), cut) != static_cast<ssize_t>(cut)) {
      return false;
    }
    std::this_thread::sleep_for(kCutPause);
    return ::write(fd, bytes.data() + cut, bytes.size() - cut) == static_cast<ssize_t>(bytes.size() - cut);
  }
  return ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
}

bool read_exact(int fd, void* p, std::size_t n) {
  auto* c = static_cast<std::uint8_t*>(p);
  while (n > 0) {
    ssize_t r = ::read(fd, c, n);
    if (r <= 0) {
      return false;
    }
    c += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

std::optional<int> rcode_of(const std::uint8_t* msg, std::size_t len, std::uint16_t id) {
  if (len < kHeader || ((msg[0] << 8) | msg[1]) != id || !(msg[2] & 0x80)) {
    return std::nullopt;
  }
  return msg[3] & 0x0f;
}

}  // namespace

DnsServerAddress::DnsServerAddress(const std::string& ip) {
  auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
  if (::inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(53);
    len = sizeof(sockaddr_in);
  } else if (::inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(53);
    len = sizeof(sockaddr_in6);
  }
}

std::vector<std::uint8_t> dns_query(std::uint16_t id, std::string_view name) {
  std::vector<std::uint8_t> q = {
      static_cast<std::uint8_t>(id >> 8), static_cast<std::uint8_t>(id), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  while (!name.empty()) {
    const auto dot = name.find('.');
    const auto label = name.substr(0, dot);
    q.push_back(static_cast<std::uint8_t>(label.size()));
    q.insert(q.end(), label.begin(), label.end());
    name = dot == std::string_view::npos ? std::string_view{} : name.substr(dot + 1);
  }
  q.insert(q.end(), {0, 0, 1, 0, 1});  // root, QTYPE A, QCLASS IN
  return q;
}

namespace {

// Whether bytes are waiting to be read on `fd` now (a query sent with the one just read).
bool more_queued(int fd) {
  char b;
  return ::recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 1;
}

// Answers a TCP connection's queries until the client closes it. The queries the client sent
// together (all already received when the first is read) are answered together, in one write.
bool serve_tcp_connection(int c) {
  std::uint8_t buf[512];
  for (;;) {
    std::vector<std::uint8_t> replies;
    std::size_t cut = 0;  // where the write of the replies is cut (see the names in the header)
    do {
      std::uint8_t len_be[2];
      if (!read_exact(c, len_be, 2)) {
        return replies.empty();  // the client's close, between queries
      }
      const std::size_t len = static_cast<std::size_t>((len_be[0] << 8) | len_be[1]);
      if (len > sizeof(buf) || !read_exact(c, buf, len)) {
        return false;
      }
      auto reply = answer(buf, len);
      const auto name = question_name(buf, len);
      if (cut == 0 && name == "split.test") {
        cut = replies.size() + 2;
      } else if (cut == 0 && name == "long.test") {
        cut = replies.size() + kLongCut;
      }
      replies.push_back(static_cast<std::uint8_t>(reply.size() >> 8));
      replies.push_back(static_cast<std::uint8_t>(reply.size()));
      replies.insert(replies.end(), reply.begin(), reply.end());
    } while (more_queued(c));
    if (!write_cut(c, replies, cut)) {
      return false;
    }
  }
}

}  // namespace

bool serve_dns(const DnsServerAddress& server, int ready_fd, int udp_queries, int tcp_queries) {
  const int one = 1;
  const int family = server.addr.ss_family;
  int udp = ::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int tcp = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (udp < 0 || tcp < 0 || ::setsockopt(tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
      ::bind(udp, server.sa(), server.len) != 0 || ::bind(tcp, server.sa(), server.len) != 0 || ::listen(tcp, 4) != 0) {
    return false;
  }
  const char ready = 1;
  if (::write(ready_fd, &ready, 1) != 1) {
    return false;
  }
  std::uint8_t buf[512];
  for (int i = 0; i < udp_queries; ++i) {
    sockaddr_storage from{};
    socklen_t from_len = sizeof(from);
    ssize_t n = ::recvfrom(udp, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n <= 0) {
      return false;
    }
    auto reply = answer(buf, static_cast<std::size_t>(n));
    if (!reply.empty() &&
        ::sendto(udp, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), from_len) < 0) {
      return false;
    }
  }
  for (int i = 0; i < tcp_queries; ++i) {
    int c = ::accept4(tcp, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0 || !serve_tcp_connection(c)) {
      return false;
    }
    ::close(c);
  }
  ::close(udp);
  ::close(tcp);
  return true;
}

int udp_socket_to(const DnsServerAddress& server) {
  int fd = ::socket(server.addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, server.sa(), server.len) != 0) {
    return -1;
  }
  return fd;
}

std::optional<int> ask_udp(int udp_fd, std::uint16_t id, std::string_view name, std::chrono::milliseconds wait) {
  const auto q = dns_query(id, name);
  if (::send(udp_fd, q.data(), q.size(), 0) != static_cast<ssize_t>(q.size())) {
    return std::nullopt;
  }
  pollfd p{udp_fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(wait.count())) != 1) {
    return std::nullopt;
  }
  std::uint8_t buf[512];
  ssize_t n = ::recv(udp_fd, buf, sizeof(buf), 0);
  return n > 0 ? rcode_of(buf, static_cast<std::size_t>(n), id) : std::nullopt;
}

std::vector<int> ask_tcp(const DnsServerAddress& server,
                         const std::vector<std::pair<std::uint16_t, std::string>>& queries, TcpWrites writes) {
  int fd = ::socket(server.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, server.sa(), server.len) != 0) {
    return {};
  }
  std::vector<std::uint8_t> out;
  for (const auto& [id, name] : queries) {
    const auto q = dns_query(id, name);
    out.push_back(static_cast<std::uint8_t>(q.size() >> 8));
    out.push_back(static_cast<std::uint8_t>(q.size()));
    out.insert(out.end(), q.begin(), q.end());
  }
  std::vector<int> rcodes;
  if (write_cut(fd, out, writes == TcpWrites::prefix_apart ? 2 : 0)) {
    for (const auto& [id, name] : queries) {
      std::uint8_t len_be[2];
      std::uint8_t buf[kMaxMessage];
      if (!read_exact(fd, len_be, 2)) {
        break;
      }
      const std::size_t len = static_cast<std::size_t>((len_be[0] << 8) | len_be[1]);
      const auto rcode = len <= sizeof(buf) && read_exact(fd, buf, len) ? rcode_of(buf, len, id) : std::nullopt;
      if (!rcode) {
        break;
      }
      rcodes.push_back(*rcode);
    }
  }
  ::close(fd);
  return rcodes;
}

std::optional<int> ask_tcp(const DnsServerAddress& server, std::uint16_t id, std::string_view name) {
  const auto rcodes = ask_tcp(server, {{id, std::string(name)}});
  return rcodes.empty() ? std::nullopt : std::optional<int>(rcodes.front());
}

}  // namespace nodepack::bpf::test
