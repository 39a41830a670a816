#include "app/migrate.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/session_id.hpp"
#include "provider/chat_endpoint.hpp"
#include "storage/original_layout.hpp"
#include "storage/redis_client.hpp"

namespace motorhead {

outcome<migrate_options> parse_migrate_arguments(
  const std::vector<std::string>& args) {
  using result = outcome<migrate_options>;
  migrate_options options;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--dry-run") {
      options.dry_run = true;
    } else if (args[i] == "--vectors-model") {
      if (i + 1 == args.size())
        return result::failure("--vectors-model needs the model's name");
      options.vectors_model = args[++i];
    } else {
      return result::failure("unknown argument \"" + args[i] + "\"");
    }
  }
  return {std::move(options), {}};
}

void print_migrate_usage(std::ostream& out) {
  out << "usage: motorhead migrate [--dry-run] [--vectors-model NAME]\n\n"
         "Moves what the original Motorhead wrote in the Redis that REDIS_URL\n"
         "(or the sentinels) name into this server's layout: sessions, their\n"
         "namespaces, and long-term memory. Servers move a session when they\n"
         "first load it; this moves everything ahead of time. It is safe to\n"
         "run while servers serve, and to run again.\n\n"
         "  --dry-run             count what would move; write nothing\n"
         "  --vectors-model NAME  the model that made the original's vectors\n"
         "                        (default text-embedding-ada-002): they are\n"
         "                        kept when MOTORHEAD_EMBEDDING_MODEL is NAME,\n"
         "                        else their messages are archived for BM25\n"
         "                        (and embedded again with a provider)\n";
}

namespace {

constexpr std::size_t batch_size = 100;

struct index_entry {
  std::string ns; // "" for the index without a namespace
  std::string session;
};

/// Long-term memory hashes of one session, as one script moves them.
struct memory_batch {
  std::string session;
  std::vector<std::string> keys;
};

/// What the scans found to move.
struct original_data {
  std::vector<std::string> sessions;
  std::vector<index_entry> entries;
  std::vector<memory_batch> memories;
  std::size_t memory_hashes = 0;
};

/// Hashes per script: a script holds Redis while it runs.
constexpr std::size_t memory_batch_size = 200;

/// What the migration did (or, in a dry run, would do), and what it left.
struct tally {
  std::size_t sessions_moved = 0;
  std::size_t messages_moved = 0;
  std::size_t sessions_moved_before = 0;
  std::size_t memberships = 0;
  std::size_t stale_entries = 0;
  std::size_t memory_in_window = 0;
  std::size_t memory_archived = 0;
  std::size_t vectors_kept = 0;
  std::size_t memory_deleted = 0; // of sessions deleted since
  std::map<std::string, std::size_t> left; // reason -> how many
  std::map<std::string, std::size_t> failed;

  void leave(const std::string& reason) { ++left[reason]; }
};

/// A bar redrawn in place on a terminal; elsewhere (a log), a line every
/// tenth of the way.
class progress_bar {
public:
  progress_bar(std::ostream& out, std::size_t total)
    : out_(out), total_(std::max<std::size_t>(total, 1)),
      interactive_(isatty(STDERR_FILENO) == 1) {}

  void advance(std::size_t steps, const char* phase) {
    done_ += steps;
    auto percent = done_ * 100 / total_;
    if (interactive_) {
      constexpr std::size_t width = 30;
      auto filled = done_ * width / total_;
      out_ << "\r[" << std::string(filled, '#')
           << std::string(width - filled, ' ') << "] " << percent << "% "
           << phase << "   " << std::flush;
    } else if (percent / 10 > reported_ / 10 || done_ == total_) {
      reported_ = percent;
      out_ << "migrate: " << percent << "% (" << phase << ")\n" << std::flush;
    }
  }

  void finish() {
    if (interactive_)
      out_ << "\n";
  }

private:
  std::ostream& out_;
  std::size_t total_;
  std::size_t done_ = 0;
  std::size_t reported_ = 0;
  bool interactive_;
};

/// Runs `commands` as one pipeline; "" or why it failed as a whole.
std::string run(redis_client& redis, std::vector<redis_command> commands,
                std::vector<redis_reply>& replies, bool writes) {
  auto result = redis.execute(std::move(commands), writes);
  if (!result.error.empty())
    return result.error;
  if (!result.replication_shortfall.empty())
    return result.replication_shortfall;
  replies = std::move(result.replies);
  return {};
}

/// Every key of a kind, a SCAN at a time.
outcome<std::vector<std::string>> scan(redis_client& redis,
                                       store::original_key_kind kind) {
  using result = outcome<std::vector<std::string>>;
  std::vector<std::string> keys;
  std::string cursor = "0";
  do {
    std::vector<redis_reply> replies;
    if (auto err = run(redis, {store::original_scan_command(kind, cursor)},
                       replies, false);
        !err.empty())
      return result::failure(err);
    const auto& reply = replies.at(0);
    if (reply.is_error() || reply.elements.size() != 2)
      return result::failure("SCAN failed: " + reply.text);
    cursor = reply.elements[0].text;
    for (const auto& key : reply.elements[1].elements)
      keys.push_back(key.text);
  } while (cursor != "0");
  return {std::move(keys), {}};
}

/// Runs `one(i)` for i in [0, n), `batch_size` commands a pipeline, and
/// hands each reply to `count(i, reply)`; "" or why a pipeline failed.
std::string run_each(redis_client& redis, std::size_t n, bool writes,
                     const std::function<redis_command(std::size_t)>& one,
                     const std::function<void(std::size_t, const redis_reply&)>& count) {
  for (std::size_t first = 0; first < n; first += batch_size) {
    auto last = std::min(n, first + batch_size);
    std::vector<redis_command> commands;
    for (auto i = first; i < last; ++i)
      commands.push_back(one(i));
    std::vector<redis_reply> replies;
    if (auto err = run(redis, std::move(commands), replies, writes); !err.empty())
      return err;
    for (auto i = first; i < last; ++i)
      count(i, replies.at(i - first));
  }
  return {};
}

const std::string invalid_id
  = "session ids or namespaces this server does not accept "
    "(1..256 of [A-Za-z0-9._:@-])";

/// Finds the original's keys: its session lists, the entries of its
/// indexes, and its long-term memory hashes with their sessions.
outcome<original_data> find_original(redis_client& redis, tally& counts) {
  using result = outcome<original_data>;
  original_data data;
  auto lists = scan(redis, store::original_key_kind::session);
  if (!lists)
    return result::failure(lists.error);
  for (const auto& key : *lists.value) {
    auto id = store::original_session_of(key);
    if (id && is_valid_identifier(*id))
      data.sessions.push_back(*id);
    else
      counts.leave(invalid_id);
  }
  auto indexes = scan(redis, store::original_key_kind::index);
  if (!indexes)
    return result::failure(indexes.error);
  std::vector<std::pair<std::string, std::string>> index_keys; // key, ns
  for (const auto& key : *indexes.value)
    if (std::string ns; store::is_original_index(key, ns))
      index_keys.emplace_back(key, ns);
  auto err = run_each(
    redis, index_keys.size(), false,
    [&](std::size_t i) {
      return redis_command{"ZRANGE", index_keys[i].first, "0", "-1"};
    },
    [&](std::size_t i, const redis_reply& reply) {
      const auto& ns = index_keys[i].second;
      for (const auto& member : reply.elements)
        if (is_valid_identifier(member.text)
            && (ns.empty() || is_valid_identifier(ns)))
          data.entries.push_back({ns, member.text});
        else
          counts.leave(invalid_id);
    });
  if (!err.empty())
    return result::failure(err);
  auto hashes = scan(redis, store::original_key_kind::memory);
  if (!hashes)
    return result::failure(hashes.error);
  std::vector<std::string> memory_keys;
  for (const auto& key : *hashes.value)
    if (store::is_original_memory(key))
      memory_keys.push_back(key);
  std::map<std::string, std::vector<std::string>> by_session;
  err = run_each(
    redis, memory_keys.size(), false,
    [&](std::size_t i) {
      return redis_command{"HGET", memory_keys[i], "session"};
    },
    [&](std::size_t i, const redis_reply& reply) {
      if (reply.type == redis_reply::kind::string
          && is_valid_identifier(reply.text))
        by_session[reply.text].push_back(memory_keys[i]);
      else
        counts.leave(invalid_id);
    });
  if (!err.empty())
    return result::failure(err);
  for (auto& [session, keys] : by_session) {
    data.memory_hashes += keys.size();
    for (std::size_t first = 0; first < keys.size(); first += memory_batch_size)
      data.memories.push_back(
        {session,
         {keys.begin() + static_cast<std::ptrdiff_t>(first),
          keys.begin() + static_cast<std::ptrdiff_t>(
                           std::min(keys.size(), first + memory_batch_size))}});
  }
  return {std::move(data), {}};
}

/// How the sessions move: as a server with this configuration would move
/// them on their first load.
store::original_import import_of(const settings& cfg) {
  store::original_import import;
  import.archive = cfg.long_term_memory;
  import.embed = cfg.long_term_memory && embedding_endpoint_from(cfg).has_value();
  return import;
}

const std::string memory_off
  = "long-term memory messages, as MOTORHEAD_LONG_TERM_MEMORY is off";

/// Counts what a migration would move: each session's messages (its
/// lines with ": ", as the move reads them) and namespaces.
std::string count_only(redis_client& redis, const settings& cfg,
                       const original_data& data, tally& counts,
                       progress_bar& bar) {
  auto err = run_each(
    redis, data.sessions.size(), false,
    [&](std::size_t i) {
      return redis_command{"LRANGE", "session:" + data.sessions[i], "0", "-1"};
    },
    [&](std::size_t, const redis_reply& reply) {
      ++counts.sessions_moved;
      counts.messages_moved += static_cast<std::size_t>(std::count_if(
        reply.elements.begin(), reply.elements.end(), [](const auto& line) {
          return line.text.find(": ") != std::string::npos;
        }));
      bar.advance(1, "sessions");
    });
  counts.memberships = static_cast<std::size_t>(std::count_if(
    data.entries.begin(), data.entries.end(),
    [](const index_entry& entry) { return !entry.ns.empty(); }));
  bar.advance(data.entries.size(), "namespaces");
  if (cfg.long_term_memory)
    counts.memory_archived = data.memory_hashes;
  else if (data.memory_hashes > 0)
    counts.left[memory_off] += data.memory_hashes;
  bar.advance(data.memory_hashes, "long-term memory");
  return err;
}

/// Counts one long-term memory hash's outcome: [outcome, vector kept].
void count_memory(const redis_reply& answer, tally& counts) {
  if (answer.elements.size() != 2) {
    ++counts.failed["an unexpected reply of the long-term memory script"];
    return;
  }
  const auto& outcome = answer.elements[0].text;
  if (outcome == "window")
    ++counts.memory_in_window;
  else if (outcome == "archived")
    ++counts.memory_archived;
  else if (outcome == "deleted")
    ++counts.memory_deleted;
  else if (outcome == "waiting")
    counts.leave("long-term memory of sessions written while this ran");
  else if (outcome == "unreadable")
    counts.leave("long-term memory hashes without session, content and role");
  counts.vectors_kept += static_cast<std::size_t>(answer.elements[1].integer);
}

/// Moves the sessions, then settles the index entries (a session joins
/// its namespaces once moved), then the long-term memory (which joins
/// moved sessions).
std::string migrate(redis_client& redis, const settings& cfg,
                    const migrate_options& options, const original_data& data,
                    tally& counts, progress_bar& bar) {
  auto layout = store::key_layout::of(redis_topology::single);
  auto fail = [&](const redis_reply& reply) {
    ++counts.failed[reply.text.empty() ? "no reply" : reply.text];
  };
  auto import = import_of(cfg);
  // A session moves into its namespaces at once: a key scoped to one of
  // them reaches it from the start.
  std::map<std::string, std::vector<std::string>> namespaces;
  for (const auto& entry : data.entries)
    if (!entry.ns.empty())
      namespaces[entry.session].push_back(entry.ns);
  auto err = run_each(
    redis, data.sessions.size(), true,
    [&](std::size_t i) {
      auto listed = namespaces.find(data.sessions[i]);
      import.namespaces = listed == namespaces.end()
                            ? std::vector<std::string>{}
                            : listed->second;
      return store::move_original_command(data.sessions[i], import, layout);
    },
    [&](std::size_t i, const redis_reply& reply) {
      bar.advance(1, "sessions");
      if (reply.type != redis_reply::kind::integer)
        return fail(reply);
      if (reply.integer == -2)
        return counts.leave("sessions also written by a server with "
                            "MOTORHEAD_ORIGINAL_LAYOUT=false: not merged");
      if (reply.integer < 0)
        return void(++counts.sessions_moved_before);
      if (auto listed = namespaces.find(data.sessions[i]);
          listed != namespaces.end())
        counts.memberships += listed->second.size();
      ++counts.sessions_moved;
      counts.messages_moved += static_cast<std::size_t>(reply.integer);
    });
  if (!err.empty())
    return err;
  err = run_each(
    redis, data.entries.size(), true,
    [&](std::size_t i) {
      return store::settle_original_entry_command(data.entries[i].ns,
                                                  data.entries[i].session);
    },
    [&](std::size_t i, const redis_reply& reply) {
      bar.advance(1, "namespaces");
      if (reply.is_error())
        return fail(reply);
      if (reply.text == "joined" && !data.entries[i].ns.empty())
        ++counts.memberships;
      else if (reply.text == "stale")
        ++counts.stale_entries;
      else if (reply.text == "waiting")
        counts.leave("index entries of sessions written while this ran");
      else if (reply.text == "both")
        counts.leave("index entries of sessions in both layouts");
    });
  if (!err.empty())
    return err;
  if (!cfg.long_term_memory) {
    if (data.memory_hashes > 0)
      counts.left[memory_off] += data.memory_hashes;
    bar.advance(data.memory_hashes, "long-term memory");
    return {};
  }
  store::original_memory_import memory{cfg.embedding_model == options.vectors_model,
                                       import.embed, cfg.embedding_model};
  return run_each(
    redis, data.memories.size(), true,
    [&](std::size_t i) {
      return store::import_original_memory_command(
        data.memories[i].session, data.memories[i].keys, memory, layout);
    },
    [&](std::size_t i, const redis_reply& reply) {
      bar.advance(data.memories[i].keys.size(), "long-term memory");
      if (reply.is_error())
        return fail(reply);
      for (const auto& answer : reply.elements)
        count_memory(answer, counts);
    });
}

void print_summary(std::ostream& out, const migrate_options& options,
                   const settings& cfg, const tally& counts) {
  out << (options.dry_run ? "dry run: nothing was written; found\n"
                          : "moved\n");
  out << "  sessions:         " << counts.sessions_moved << " ("
      << counts.messages_moved << " messages)";
  if (counts.sessions_moved_before > 0)
    out << "; " << counts.sessions_moved_before << " were moved before";
  out << "\n  namespace entries: " << counts.memberships;
  if (counts.stale_entries > 0)
    out << "; " << counts.stale_entries << " stale (of no session of the "
           "original's any more), dropped";
  out << "\n  long-term memory: ";
  if (options.dry_run) {
    out << counts.memory_archived << " messages";
    if (counts.memory_archived > 0)
      out << (cfg.embedding_model == options.vectors_model
                ? ", their vectors kept where their dimension fits"
                : ", archived for BM25 (the vectors are "
                    + options.vectors_model + "'s, the model is "
                    + cfg.embedding_model + ")");
  } else {
    out << counts.memory_in_window + counts.memory_archived << " messages ("
        << counts.memory_in_window << " of the window, "
        << counts.memory_archived << " older), " << counts.vectors_kept
        << " vectors kept";
    if (counts.memory_deleted > 0)
      out << "; " << counts.memory_deleted
          << " of deleted sessions, deleted";
  }
  out << "\n";
  if (options.dry_run)
    out << "  (the run decides each: sessions moved meanwhile and sessions "
           "this server wrote too are left, stale entries dropped, long-term "
           "memory of deleted sessions deleted)\n";
  if (!counts.left.empty()) {
    out << "left in place\n";
    for (const auto& [reason, n] : counts.left)
      out << "  " << n << " " << reason << "\n";
  }
  if (!counts.failed.empty()) {
    out << "failed\n";
    for (const auto& [reason, n] : counts.failed)
      out << "  " << n << ": " << reason << "\n";
  }
}

} // namespace

int run_migration(const settings& cfg, const migrate_options& options,
                  std::ostream& out, std::ostream& progress) {
  auto redis = make_redis_client(redis_options_of(cfg));
  auto topology = redis->topology();
  if (!topology) {
    out << "migrate: " << topology.error << "\n";
    return EXIT_FAILURE;
  }
  if (*topology.value == redis_topology::cluster) {
    out << "migrate: REDIS_URL names a Redis Cluster; the original Motorhead "
           "ran on a single Redis, so there is nothing of it to move\n";
    return EXIT_FAILURE;
  }
  tally counts;
  auto data = find_original(*redis, counts);
  if (!data) {
    out << "migrate: cannot read the original's keys: " << data.error << "\n";
    return EXIT_FAILURE;
  }
  const auto& found = *data.value;
  progress_bar bar{progress, found.sessions.size() + found.entries.size()
                               + found.memory_hashes};
  auto err = options.dry_run
               ? count_only(*redis, cfg, found, counts, bar)
               : migrate(*redis, cfg, options, found, counts, bar);
  bar.finish();
  print_summary(out, options, cfg, counts);
  if (!err.empty()) {
    out << "migrate: interrupted: " << err
        << "\nWhat moved is complete; run it again to move the rest.\n";
    return EXIT_FAILURE;
  }
  return counts.failed.empty() ? EXIT_SUCCESS : EXIT_FAILURE;
}

} // namespace motorhead
