// The session's record: GET /sessions/{id} answered as Redis holds it, and
// PATCH, which merges the metadata and writes it as a POST without messages.
#include "actors/session_state.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include <caf/all.hpp>

#include "core/json_codec.hpp"
#include "core/outcome.hpp"

namespace motorhead {

namespace {

/// A key scoped to namespaces sees only those of the session's namespaces
/// that are its own: a shared session names no other tenant.
void hide_other_namespaces(session_info& info, const access_scope& scope) {
  auto& names = info.namespaces;
  names.erase(std::remove_if(names.begin(), names.end(),
                             [&](const std::string& ns) {
                               return !scope.allows(ns);
                             }),
              names.end());
}

/// Answers with the session as Redis holds it: read after every write the
/// session sent before, which the store runs first.
void answer_info(session_pointer self, const access_scope& scope,
                 caf::typed_response_promise<session_info> rp) {
  read<session_info>(
    self,
    [=](session_info& info) mutable {
      if (!info.exists) {
        rp.deliver(make_error(service_errc::not_found,
                              "no session " + self->state.id));
        return;
      }
      hide_other_namespaces(info, scope);
      rp.deliver(std::move(info));
    },
    [=](caf::error& err) mutable { rp.deliver(err); }, info_atom::value,
    self->state.id);
}

/// The metadata after `patch`, or why it cannot be applied.
outcome<std::string> patched_metadata(const session_state& st,
                                      const std::string& current,
                                      const session_patch& patch) {
  auto merged = json::merge_metadata(current, patch.metadata);
  if (merged && merged.value->size() > st.limits().max_metadata_bytes)
    return outcome<std::string>::failure(
      "the session's metadata would be " + std::to_string(merged.value->size())
      + " bytes of JSON; at most "
      + std::to_string(st.limits().max_metadata_bytes) + " are kept");
  return merged;
}

/// Applies a PATCH: reads the metadata, merges the patch into it and writes
/// the result as a POST without messages would (the session is touched,
/// and created if it was not). The read is awaited, so that the next PATCH
/// reads what this one writes.
void patch_session(session_pointer self, session_patch patch,
                   access_scope scope,
                   caf::typed_response_promise<session_info> rp) {
  auto& st = self->state;
  self->request(st.peers().store, caf::infinite, info_atom::value, st.id)
    .await(
      [=](session_info& info) mutable {
        auto& st = self->state;
        auto merged = patched_metadata(st, info.metadata, patch);
        if (!merged) {
          rp.deliver(make_error(service_errc::invalid_request, merged.error));
          return;
        }
        append_request touch;
        touch.ns = patch.ns;
        auto change = make_append_change(st, touch);
        change.session_metadata = std::move(*merged.value);
        write_append(
          self,
          std::make_shared<const store::append_change>(std::move(change)),
          [=]() mutable { answer_info(self, scope, rp); },
          [=](const caf::error& err) mutable { rp.deliver(err); });
      },
      [=](caf::error& err) mutable { rp.deliver(err); });
}

} // namespace

caf::result<session_info> describe(session_pointer self, session_patch patch,
                                   access_scope scope) {
  auto rp = self->make_response_promise<session_info>();
  auto fail = [=](caf::error& err) mutable { rp.deliver(err); };
  if (patch.changes)
    with_writable_state(
      self, scope,
      [=]() mutable { patch_session(self, std::move(patch), scope, rp); },
      fail);
  else
    with_reachable_state(
      self, scope, [=]() mutable { answer_info(self, scope, rp); }, fail);
  return rp;
}

} // namespace motorhead
