// Provider calls over libcurl's multi interface: one thread drives every
// call in flight, so no CAF scheduler thread ever blocks on the network.
#pragma once

#include <functional>
#include <memory>

#include "provider/http_call.hpp"

namespace motorhead {

/// Where provider calls go. The curl implementation below is the real one;
/// tests substitute their own.
class provider_transport {
public:
  /// Called once per call, on the transport's own thread.
  using completion = std::function<void(http_result)>;

  virtual ~provider_transport() = default;
  virtual void submit(http_call call, completion done) = 0;
};

class curl_transport : public provider_transport {
public:
  curl_transport();
  ~curl_transport() override; // stops the thread; pending calls are dropped

  void submit(http_call call, completion done) override;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace motorhead
