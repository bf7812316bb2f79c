#include "bench/http_keepalive_load.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>

namespace nodepack::bench {
namespace {

// A browser-sized request and a small response, each in one segment.
constexpr char kRequest[] = "GET /ok HTTP/1.1\r\nHost: server\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n";
constexpr char kResponse[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok";

void enter(const std::filesystem::path& cgroup, int cpu) {
  std::ofstream(cgroup / "cgroup.procs") << "0" << std::flush;
  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    ::sched_setaffinity(0, sizeof(set), &set);
  }
}

sockaddr_in address(const std::string& ip, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  return a;
}

bool write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w <= 0) {
      return false;
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

// Reads until `n` bytes came (requests and responses here have fixed sizes).
bool read_exactly(int fd, std::size_t n) {
  char buf[512];
  while (n > 0) {
    const ssize_t r = ::read(fd, buf, std::min(n, sizeof(buf)));
    if (r <= 0) {
      return false;
    }
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

[[noreturn]] void serve(int listener) {
  for (;;) {
    const int c = ::accept(listener, nullptr, nullptr);
    if (c < 0) {
      ::_exit(1);
    }
    int one = 1;
    ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    while (read_exactly(c, sizeof(kRequest) - 1) && write_all(c, kResponse, sizeof(kResponse) - 1)) {
    }
    ::close(c);
  }
}

// The client: requests one after the other, a new connection every requests_per_connection.
long drive(const HttpLoad& load) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(load.seconds);
  const auto server = address(load.server_addr, load.port);
  const auto client = address(load.client_addr, 0);
  long done = 0;
  while (std::chrono::steady_clock::now() < until) {
    const int s = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    // The source port is chosen by connect(), which may reuse a port whose earlier connection to
    // another destination port waits in TIME_WAIT; bind() alone must find a port no socket holds,
    // and with the thousands of TIME_WAIT sockets a few seconds of this load leave that search
    // took most of the CPU (the request rate fell from ~190,000/s to ~50,000/s after a phase or
    // two, with or without any BPF program loaded).
    ::setsockopt(s, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    if (::bind(s, reinterpret_cast<const sockaddr*>(&client), sizeof(client)) != 0 ||
        ::connect(s, reinterpret_cast<const sockaddr*>(&server), sizeof(server)) != 0) {
      ::close(s);
      return done;
    }
    for (int i = 0; i < load.requests_per_connection; ++i) {
      if (!write_all(s, kRequest, sizeof(kRequest) - 1) || !read_exactly(s, sizeof(kResponse) - 1)) {
        ::close(s);
        return done;
      }
      ++done;
    }
    ::close(s);
  }
  return done;
}

// Listens in the server's cgroup (accepted sockets take the listener's cgroup), says so on
// `ready`, then answers every connection until killed.
[[noreturn]] void server_main(const HttpLoad& load, int ready) {
  enter(load.server_cgroup, load.server_cpu);
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  const auto at = address(load.server_addr, load.port);
  if (::bind(listener, reinterpret_cast<const sockaddr*>(&at), sizeof(at)) != 0 || ::listen(listener, 16) != 0) {
    ::_exit(1);
  }
  (void)!::write(ready, "r", 1);
  serve(listener);
}

}  // namespace

long run_http_load(const HttpLoad& load) {
  int ready[2];
  if (::pipe(ready) != 0) {
    return 0;
  }
  const pid_t server = ::fork();
  if (server == 0) {
    ::close(ready[0]);
    server_main(load, ready[1]);
  }
  ::close(ready[1]);
  char byte = 0;
  const bool listening = ::read(ready[0], &byte, 1) == 1;
  ::close(ready[0]);
  if (!listening) {
    ::waitpid(server, nullptr, 0);
    return 0;
  }
  int out[2];
  if (::pipe(out) != 0) {
    ::kill(server, SIGKILL);
    ::waitpid(server, nullptr, 0);
    return 0;
  }
  const pid_t client = ::fork();
  if (client == 0) {
    enter(load.client_cgroup, load.client_cpu);
    const long done = drive(load);
    (void)!::write(out[1], &done, sizeof(done));
    ::_exit(0);
  }
  ::close(out[1]);
  long done = 0;
  if (::read(out[0], &done, sizeof(done)) != static_cast<ssize_t>(sizeof(done))) {
    done = 0;
  }
  ::close(out[0]);
  ::waitpid(client, nullptr, 0);
  ::kill(server, SIGKILL);
  ::waitpid(server, nullptr, 0);
  return done;
}

}  // namespace nodepack::bench
