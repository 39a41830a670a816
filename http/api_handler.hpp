// Turns HTTP requests into router requests and their answers into HTTP
// responses. Validation runs on the I/O thread; anything that needs an
// actor is handed to a bridge actor, so the I/O thread never waits.
#pragma once

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/thread_pool.hpp>
#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/protocol.hpp"
#include "config/settings.hpp"
#include "http/api_message.hpp"
#include "http/cors.hpp"
#include "http/io_thread_actors.hpp"
#include "http/routes.hpp"

namespace motorhead {
class bpe_tokenizer;
} // namespace motorhead

namespace motorhead::http {

/// Maps an error from the actors to a status and a JSON body.
api_response error_response(const caf::error& err);

class api_handler {
public:
  /// `tokenizer` counts the tokens of long POSTs before they are sent on
  /// (null: the sessions count them, or have no tokenizer).
  api_handler(caf::actor_system& system, router_actor router,
              const settings& cfg, boost::asio::io_context& io,
              std::shared_ptr<const bpe_tokenizer> tokenizer);
  ~api_handler();

  api_handler(const api_handler&) = delete;
  api_handler& operator=(const api_handler&) = delete;

  /// Answers `request` through `respond`, exactly once, and returns the
  /// route it matched. An exception thrown while handling it is answered
  /// with a 500 and logged.
  route_kind handle(const api_request& request, responder respond);

  /// The I/O loop has stopped: actors waiting to run on its thread run on
  /// the scheduler's workers instead.
  void io_stopped();

private:
  /// Answers 500 for a request whose handling threw `ex`.
  static void answer_failure(const responder& respond,
                             const std::exception& ex);
  void route_request(const api_request& request, const request_target& target,
                     const route_match& route, const responder& respond);
  void serve_route(const api_request& request, const request_target& target,
                   const route_match& route, const access_scope& scope,
                   const responder& respond);

  /// Sends (xs...) to the router from the bridge actor and answers with
  /// `to_response(value)`, or with the error.
  template <class T, class ToResponse, class... Ts>
  void ask_router(responder respond, ToResponse to_response, Ts... xs);
  /// ask_router for a request the handler took at `received`, which its
  /// timeout counts from.
  template <class T, class ToResponse, class... Ts>
  void ask_router_from(std::chrono::steady_clock::time_point received,
                       responder respond, ToResponse to_response, Ts... xs);

  void handle_memory(const api_request& request, const std::string& id,
                     const request_target& target, const access_scope& scope,
                     responder respond);
  /// Sends a POST on to the router. One whose messages hold
  /// counted_apart_bytes of text or more has their tokens counted first on
  /// the token counter's thread: on the I/O thread, the count of 256 KiB of
  /// one long word would hold every connection for about 50 ms.
  void send_append(const std::string& id, append_request append,
                   const access_scope& scope, responder respond);
  /// GET and PATCH /sessions/{id}.
  void handle_session(const api_request& request, const std::string& id,
                      const request_target& target, const access_scope& scope,
                      responder respond);
  /// A session's retrieval, or a namespace's.
  void handle_retrieval(const api_request& request, const route_match& route,
                        const access_scope& scope, responder respond);
  /// The scope of the known key the request carries (Bearer,
  /// x-metal-api-key or in the path), unrestricted when keys are off;
  /// nothing when it carries none.
  std::optional<access_scope> authorize(const api_request& request,
                                        const request_target& target) const;
  /// Why a POST exceeds the message limits, or "".
  std::string limit_error(const append_request& request) const;
  /// Why a message's metadata is too large, or "".
  std::string metadata_error(const append_request& request) const;
  /// Why `metadata` is too large, or "": "<owner>field "metadata" is ...".
  std::string metadata_error(const std::string& metadata,
                             const std::string& owner) const;
  /// Why a retrieval exceeds the query limits (naming the setting), or "";
  /// finds the query's terms on the way.
  std::string query_error(retrieval_query& query) const;

  io_thread_actors io_actors_;
  caf::actor bridge_;
  router_actor router_;
  bool long_term_memory_;
  std::vector<api_key> api_keys_;
  std::size_t max_messages_per_post_;
  std::size_t max_message_bytes_;
  std::size_t max_metadata_bytes_;
  std::size_t query_max_bytes_;
  std::size_t query_max_terms_;
  std::size_t filter_max_roles_;
  std::size_t filter_max_metadata_;
  /// How long a request waits for the actors (MOTORHEAD_REQUEST_TIMEOUT_MS):
  /// a namespace's search tells its fan-out.
  std::chrono::milliseconds request_timeout_;
  bool data_envelope_;
  cors_policy cors_;
  std::string settings_body_; // GET /settings: fixed from the start
  boost::asio::io_context& io_;
  std::shared_ptr<const bpe_tokenizer> tokenizer_;
  /// One thread that counts the tokens of long POSTs, in the order they
  /// came. Last: it is joined before the members its counts use go.
  boost::asio::thread_pool token_counter_{1};
};

} // namespace motorhead::http
