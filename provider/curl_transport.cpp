#include "provider/curl_transport.hpp"

#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include <curl/curl.h>

namespace motorhead {

namespace {

/// A call on its way: the easy handle's buffers and the completion.
struct transfer {
  http_call call;
  provider_transport::completion done;
  http_result result;
  curl_slist* headers = nullptr;
  char error[CURL_ERROR_SIZE] = {};
};

size_t append_body(char* data, size_t size, size_t count, void* user) {
  static_cast<transfer*>(user)->result.body.append(data, size * count);
  return size * count;
}

size_t read_header(char* data, size_t size, size_t count, void* user) {
  std::string line{data, size * count};
  const std::string name = "retry-after:";
  if (line.size() > name.size()) {
    std::string lower = line.substr(0, name.size());
    for (auto& c : lower)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == name) {
      auto value = line.substr(name.size());
      auto first = value.find_first_not_of(" \t");
      auto last = value.find_last_not_of(" \t\r\n");
      if (first != std::string::npos)
        static_cast<transfer*>(user)->result.retry_after
          = value.substr(first, last - first + 1);
    }
  }
  return size * count;
}

CURL* make_easy_handle(transfer& t) {
  CURL* easy = curl_easy_init();
  for (const auto& header : t.call.headers)
    t.headers = curl_slist_append(t.headers, header.c_str());
  curl_easy_setopt(easy, CURLOPT_URL, t.call.url.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t.headers);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, t.call.body.data());
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                   static_cast<curl_off_t>(t.call.body.size()));
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(t.call.timeout.count()));
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, read_header);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t.error);
  curl_easy_setopt(easy, CURLOPT_PRIVATE, &t);
  return easy;
}

} // namespace

struct curl_transport::impl {
  impl() {
    multi = curl_multi_init();
    worker = std::thread{[this] { run(); }};
  }

  ~impl() {
    stopping = true;
    curl_multi_wakeup(multi);
    worker.join();
    for (auto& [easy, t] : active) {
      curl_multi_remove_handle(multi, easy);
      curl_easy_cleanup(easy);
      curl_slist_free_all(t->headers);
    }
    curl_multi_cleanup(multi);
  }

  void submit(http_call call, completion done) {
    {
      std::lock_guard<std::mutex> guard{mtx};
      auto t = std::make_unique<transfer>();
      t->call = std::move(call);
      t->done = std::move(done);
      queued.push_back(std::move(t));
    }
    curl_multi_wakeup(multi);
  }

  void start_queued() {
    std::deque<std::unique_ptr<transfer>> batch;
    {
      std::lock_guard<std::mutex> guard{mtx};
      batch.swap(queued);
    }
    for (auto& t : batch) {
      CURL* easy = make_easy_handle(*t);
      curl_multi_add_handle(multi, easy);
      active.emplace(easy, std::move(t));
    }
  }

  void finish(CURL* easy, CURLcode code) {
    auto it = active.find(easy);
    auto t = std::move(it->second);
    active.erase(it);
    if (code == CURLE_OK) {
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &t->result.status);
    } else {
      t->result.status = 0;
      t->result.transport_error = t->error[0] != '\0'
                                    ? std::string{t->error}
                                    : curl_easy_strerror(code);
    }
    curl_multi_remove_handle(multi, easy);
    curl_easy_cleanup(easy);
    curl_slist_free_all(t->headers);
    t->done(std::move(t->result));
  }

  void run() {
    while (!stopping) {
      start_queued();
      int running = 0;
      curl_multi_perform(multi, &running);
      int left = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi, &left))
        if (msg->msg == CURLMSG_DONE)
          finish(msg->easy_handle, msg->data.result);
      curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
    }
  }

  CURLM* multi = nullptr;
  std::thread worker;
  std::atomic<bool> stopping{false};
  std::mutex mtx;
  std::deque<std::unique_ptr<transfer>> queued;
  std::map<CURL*, std::unique_ptr<transfer>> active;
};

curl_transport::curl_transport() : impl_(std::make_unique<impl>()) {
}

curl_transport::~curl_transport() = default;

void curl_transport::submit(http_call call, completion done) {
  impl_->submit(std::move(call), std::move(done));
}

} // namespace motorhead
