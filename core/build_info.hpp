// What this binary is: its release (CMake's project version, which the
// OpenAPI document's info.version must equal) and the git commit it was
// built from ("unknown" outside a git checkout, "-dirty" after it when the
// work tree had changes).
#pragma once

namespace motorhead {

extern const char* const build_version;
extern const char* const build_commit;

} // namespace motorhead
