#include "core/serving_lease.hpp"

#include <algorithm>
#include <utility>

#include "core/rendezvous.hpp"

namespace motorhead {

std::vector<std::string> view_history::members_at(uint64_t at) const {
  std::vector<std::string> members;
  for (const auto& span : spans)
    if (span.active_at(at))
      members.push_back(span.address);
  std::sort(members.begin(), members.end());
  members.erase(std::unique(members.begin(), members.end()), members.end());
  return members;
}

bool view_history::owned_throughout(const std::string& session,
                                    const std::string& self,
                                    uint64_t from) const {
  if (from < known_since || from > version)
    return false;
  for (const auto& span : spans) {
    // Active at some version in [from, version]?
    bool overlaps = span.from <= version && (span.until == 0 || span.until > from);
    // The same address is this node (or an incarnation of it gone before
    // this one joined): rendezvous hashing ranks addresses.
    if (overlaps && span.address != self && !wins_over(self, span.address, session))
      return false;
  }
  return active_throughout(self, from);
}

bool view_history::active_throughout(const std::string& self,
                                     uint64_t from) const {
  // A view without this node (declared dead, then joined again) gave its
  // sessions to the others, who may have written them.
  std::vector<const member_span*> own;
  for (const auto& span : spans)
    if (span.address == self)
      own.push_back(&span);
  std::sort(own.begin(), own.end(),
            [](const auto* a, const auto* b) { return a->from < b->from; });
  uint64_t next = from; // the first version not yet seen covered
  for (const auto* span : own) {
    if (span->from > next)
      break;
    if (span->until == 0)
      return true;
    next = std::max(next, span->until);
  }
  return next > version;
}

serving_lease::serving_lease(clock_function clock) : clock_(std::move(clock)) {}

void serving_lease::renewed(std::string self,
                            std::shared_ptr<const view_history> view,
                            boot_clock::time_point until) {
  auto next = std::make_shared<const grant>(grant{std::move(self), std::move(view), until});
  std::lock_guard<std::mutex> guard{mutex_};
  grant_ = std::move(next);
}

void serving_lease::adopt(std::shared_ptr<const view_history> view) {
  std::lock_guard<std::mutex> guard{mutex_};
  if (!grant_ || (grant_->view && view->version <= grant_->view->version))
    return;
  grant_ = std::make_shared<const grant>(grant{grant_->self, std::move(view), grant_->until});
}

void serving_lease::revoke() {
  std::lock_guard<std::mutex> guard{mutex_};
  grant_.reset();
}

std::shared_ptr<const serving_lease::grant> serving_lease::current() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return grant_;
}

bool serving_lease::valid() const {
  auto held = current();
  return held && now() < held->until;
}

std::optional<uint64_t> serving_lease::may_load(const std::string& session) const {
  auto held = current();
  if (!held || !held->view || now() >= held->until)
    return std::nullopt;
  const auto& view = *held->view;
  if (owner_of(session, view.members_at(view.version)) != held->self)
    return std::nullopt;
  return view.version;
}

bool serving_lease::covers(const std::string& session, uint64_t& loaded) const {
  auto held = current();
  if (!held || !held->view || now() >= held->until)
    return false;
  const auto& view = *held->view;
  if (loaded == view.version)
    return true;
  if (!view.owned_throughout(session, held->self, loaded))
    return false;
  loaded = view.version;
  return true;
}

} // namespace motorhead
