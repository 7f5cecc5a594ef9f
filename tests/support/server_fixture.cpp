#include "tests/support/server_fixture.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <pqxx/pqxx>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace wassally::test {
namespace {

std::string env_or_throw(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v)
    throw std::runtime_error(std::string(name) + " is not set: run the tests via ./scripts/test");
  return v;
}

std::string log_tail(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  auto text = s.str();
  return text.size() > 4000 ? text.substr(text.size() - 4000) : text;
}

}  // namespace

std::string admin_database_url() { return env_or_throw("WASSALLY_TEST_DATABASE_URL"); }

std::string create_test_database(const std::string& prefix) {
  static std::atomic<int> counter{0};
  auto admin = admin_database_url();
  std::string name =
      "t_" + prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(++counter) + "_" +
      std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 100000);
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  {
    pqxx::connection c(admin);
    pqxx::nontransaction tx(c);
    tx.exec("CREATE DATABASE " + tx.quote_name(name));
  }
  auto slash = admin.rfind('/');
  auto query = admin.find('?', slash);
  return admin.substr(0, slash + 1) + name +
         (query == std::string::npos ? "" : admin.substr(query));
}

void drop_test_database(const std::string& url) {
  auto slash = url.rfind('/');
  auto query = url.find('?', slash);
  auto name =
      url.substr(slash + 1, query == std::string::npos ? std::string::npos : query - slash - 1);
  pqxx::connection c(admin_database_url());
  pqxx::nontransaction tx(c);
  tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(name) + " WITH (FORCE)");
}

uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

server_process::server_process(options opts) : opts_(std::move(opts)) {
  auto it = opts_.env.find("DATABASE_URL");
  owns_database_ = it == opts_.env.end();
  database_url_ = owns_database_ ? create_test_database("srv") : it->second;
  port_ = free_port();
  static std::atomic<int> counter{0};
  log_path_ = "/tmp/wassally-test-server-" + std::to_string(::getpid()) + "-" +
              std::to_string(++counter) + ".log";
  launch();
}

server_process::~server_process() {
  if (pid_ > 0) stop_and_status();
  // Hundreds of left-over databases keep PostgreSQL's autovacuum forking a worker for one of
  // them every few milliseconds, for the rest of the run (WASSALLY_TEST_KEEP_DATABASES=1 keeps
  // them for a post-mortem).
  if (owns_database_ && !std::getenv("WASSALLY_TEST_KEEP_DATABASES")) {
    try {
      drop_test_database(database_url_);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "test: could not drop %s: %s\n", database_url_.c_str(), e.what());
    }
  }
}

void server_process::launch() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  env["DATABASE_URL"] = database_url_;
  env["WASSALLY_HOST"] = "127.0.0.1";
  env["WASSALLY_PORT"] = std::to_string(port_);
  env["WASSALLY_VAR_DIR"] = "/tmp/wassally-test-var";
  for (auto& [k, v] : opts_.env) env[k] = v;
  std::vector<std::string> env_strings;
  for (auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  auto binary = env_or_throw("WASSALLY_BINARY");
  std::vector<std::string> arg_strings = {binary};
  for (auto& a : opts_.args) arg_strings.push_back(a);
  std::vector<char*> argv;
  for (auto& s : arg_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) throw std::runtime_error("cannot open " + log_path_);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    // The server blocks SIGINT/SIGTERM itself; start it with a clean signal mask.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  ::close(log_fd);
  wait_ready();
}

void server_process::wait_ready() {
  auto deadline = std::chrono::steady_clock::now() + opts_.start_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("the server exited during start-up:\n" + log_tail(log_path_));
    }
    try {
      http_client c("127.0.0.1", port_);
      c.set_timeout(std::chrono::milliseconds(1000));
      if (c.get(opts_.ready_path).status == 200) return;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill_hard();
  throw std::runtime_error("the server did not become ready:\n" + log_tail(log_path_));
}

void server_process::kill_hard() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

int server_process::stop_and_status() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill_hard();
  return -1;
}

void server_process::restart() {
  if (pid_ > 0) stop_and_status();
  launch();
}

std::string server_process::log() const {
  std::ifstream in(log_path_);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace wassally::test
