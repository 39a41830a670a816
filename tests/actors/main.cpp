// The entry point of the actor tests (CAF's test runner).
#define CAF_SUITE actor_tests
#include <caf/test/unit_test_impl.hpp>
