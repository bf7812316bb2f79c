#include "tests/support/fake_podresources.hpp"

#include "podresources/api.grpc.pb.h"

#include <google/protobuf/util/json_util.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cstring>
#include <functional>
#include <stdexcept>

namespace nodepack::testing {

struct FakePodResources::State {
  std::mutex mu;
  v1::ListPodResourcesResponse list;
  std::optional<v1::AllocatableResourcesResponse> allocatable = v1::AllocatableResourcesResponse();
  grpc::StatusCode fail = grpc::StatusCode::OK;
  std::string fail_message;
  std::chrono::milliseconds delay{0};
  std::string garbage;
  std::atomic<std::uint64_t>* calls = nullptr;

  // Counts the call, sleeps as told, and returns the injected failure, if any.
  grpc::Status enter() {
    calls->fetch_add(1);
    std::chrono::milliseconds d{0};
    grpc::Status s = grpc::Status::OK;
    {
      std::lock_guard lock(mu);
      d = delay;
      if (fail != grpc::StatusCode::OK) {
        s = grpc::Status(fail, fail_message);
      }
    }
    std::this_thread::sleep_for(d);
    return s;
  }
};

namespace {

class Lister final : public v1::PodResourcesLister::Service {
 public:
  explicit Lister(std::shared_ptr<FakePodResources::State> state) : state_(std::move(state)) {}

  grpc::Status List(grpc::ServerContext*, const v1::ListPodResourcesRequest*,
                    v1::ListPodResourcesResponse* out) override {
    if (auto s = state_->enter(); !s.ok()) {
      return s;
    }
    std::lock_guard lock(state_->mu);
    *out = state_->list;
    return grpc::Status::OK;
  }

  grpc::Status GetAllocatableResources(grpc::ServerContext*, const v1::AllocatableResourcesRequest*,
                                       v1::AllocatableResourcesResponse* out) override {
    if (auto s = state_->enter(); !s.ok()) {
      return s;
    }
    std::lock_guard lock(state_->mu);
    if (!state_->allocatable) {
      return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "unknown method GetAllocatableResources");
    }
    *out = *state_->allocatable;
    return grpc::Status::OK;
  }

 private:
  std::shared_ptr<FakePodResources::State> state_;
};

// Answers any method with the same bytes, whatever they decode to.
class Garbage final : public grpc::CallbackGenericService {
 public:
  explicit Garbage(std::shared_ptr<FakePodResources::State> state) : state_(std::move(state)) {}

  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext*) override {
    class Reactor final : public grpc::ServerGenericBidiReactor {
     public:
      explicit Reactor(std::string bytes) : bytes_(std::move(bytes)) { StartRead(&request_); }
      void OnReadDone(bool) override {
        grpc::Slice slice(bytes_);
        response_ = grpc::ByteBuffer(&slice, 1);
        StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
      }
      void OnDone() override { delete this; }

     private:
      std::string bytes_;
      grpc::ByteBuffer request_;
      grpc::ByteBuffer response_;
    };
    state_->calls->fetch_add(1);
    std::lock_guard lock(state_->mu);
    return new Reactor(state_->garbage);
  }

 private:
  std::shared_ptr<FakePodResources::State> state_;
};

}  // namespace

FakePodResources::FakePodResources(std::filesystem::path socket)
    : socket_(std::move(socket)), state_(std::make_shared<State>()) {
  state_->calls = &calls_;
}

FakePodResources::~FakePodResources() { stop(); }

void FakePodResources::set_list(v1::ListPodResourcesResponse list) {
  std::lock_guard lock(state_->mu);
  state_->list = std::move(list);
}

void FakePodResources::set_allocatable(std::optional<v1::AllocatableResourcesResponse> allocatable) {
  std::lock_guard lock(state_->mu);
  state_->allocatable = std::move(allocatable);
}

void FakePodResources::fail_with(grpc::StatusCode code, std::string message) {
  std::lock_guard lock(state_->mu);
  state_->fail = code;
  state_->fail_message = std::move(message);
}

void FakePodResources::set_delay(std::chrono::milliseconds delay) {
  std::lock_guard lock(state_->mu);
  state_->delay = delay;
}

namespace {

// Serves what `add` registers on the unix socket.
std::unique_ptr<grpc::Server> serve_on(const std::filesystem::path& socket,
                                       const std::function<void(grpc::ServerBuilder&)>& add) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + socket.string(), grpc::InsecureServerCredentials());
  add(builder);
  auto server = builder.BuildAndStart();
  if (!server) {
    throw std::runtime_error("cannot serve on " + socket.string());
  }
  return server;
}

}  // namespace

void FakePodResources::start() {
  stop();
  std::filesystem::create_directories(socket_.parent_path());
  service_ = std::make_unique<Lister>(state_);
  server_ = serve_on(socket_, [this](grpc::ServerBuilder& b) { b.RegisterService(service_.get()); });
}

void FakePodResources::start_garbage(std::string bytes) {
  stop();
  std::filesystem::create_directories(socket_.parent_path());
  {
    std::lock_guard lock(state_->mu);
    state_->garbage = std::move(bytes);
  }
  generic_ = std::make_unique<Garbage>(state_);
  server_ = serve_on(socket_, [this](grpc::ServerBuilder& b) { b.RegisterCallbackGenericService(generic_.get()); });
}

void FakePodResources::start_not_grpc() {
  stop();
  std::filesystem::create_directories(socket_.parent_path());
  raw_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_.c_str(), sizeof addr.sun_path - 1);
  if (raw_fd_ < 0 || ::bind(raw_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(raw_fd_, 8) != 0) {
    throw std::runtime_error("cannot listen on " + socket_.string());
  }
  raw_thread_ = std::thread([fd = raw_fd_, this] {
    for (;;) {
      const int c = ::accept(fd, nullptr, nullptr);
      if (c < 0) {
        return;  // the listener was shut down
      }
      calls_.fetch_add(1);
      char buf[256];
      (void)::read(c, buf, sizeof buf);
      constexpr std::string_view reply = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
      (void)::write(c, reply.data(), reply.size());
      ::close(c);
    }
  });
}

void FakePodResources::stop() {
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
    server_->Wait();
    server_.reset();
  }
  service_.reset();
  generic_.reset();
  if (raw_fd_ >= 0) {
    ::shutdown(raw_fd_, SHUT_RDWR);
    ::close(raw_fd_);
    raw_fd_ = -1;
  }
  if (raw_thread_.joinable()) {
    raw_thread_.join();
  }
  std::error_code ec;
  std::filesystem::remove(socket_, ec);
}

v1::ListPodResourcesResponse FakePodResources::list_from_json(std::string_view json) {
  v1::ListPodResourcesResponse out;
  if (!google::protobuf::util::JsonStringToMessage(std::string(json), &out).ok()) {
    throw std::runtime_error("not a ListPodResourcesResponse in JSON");
  }
  return out;
}

v1::AllocatableResourcesResponse FakePodResources::allocatable_from_json(std::string_view json) {
  v1::AllocatableResourcesResponse out;
  if (!google::protobuf::util::JsonStringToMessage(std::string(json), &out).ok()) {
    throw std::runtime_error("not an AllocatableResourcesResponse in JSON");
  }
  return out;
}

}  // namespace nodepack::testing
