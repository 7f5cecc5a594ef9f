# Precompiled headers for the third-party headers nearly every translation unit parses: CAF's
# actor headers, libpqxx, nlohmann-json, cereal, Boost.Test. On the 2-core machine parsing them
# again in every file was most of a clean build (measured in README.md, "Build times").
#
# Each library gets the set it actually uses (a PCH for a header a target never includes would
# only cost its compile); the three test executables share one (identical flags: REUSE_FROM).
# -DWASSALLY_PCH=OFF builds without them: the way to find a file that compiles only because the
# PCH made a header visible (the PCH is force-included into every source of the target).
option(WASSALLY_PCH "Precompile heavy third-party headers" ON)

set(wassally_pch_caf
    <caf/actor.hpp> <caf/actor_system.hpp> <caf/actor_system_config.hpp>
    <caf/event_based_actor.hpp> <caf/stateful_actor.hpp> <caf/typed_event_based_actor.hpp>
    <caf/make_message.hpp> <caf/send.hpp> <caf/response_promise.hpp> <caf/after.hpp>)
set(wassally_pch_serialisation <cereal/cereal.hpp> <cereal/types/map.hpp>
    <cereal/types/string.hpp> <cereal/types/vector.hpp>)
set(wassally_pch_std <functional> <map> <memory> <optional> <string> <vector>)

# wassally_precompile_headers(target [CAF] [PQXX] [JSON] [PISTACHE] [BOOST_TEST])
function(wassally_precompile_headers target)
  if(NOT WASSALLY_PCH)
    return()
  endif()
  cmake_parse_arguments(P "CAF;PQXX;JSON;PISTACHE;BOOST_TEST" "" "" ${ARGN})
  set(headers ${wassally_pch_std})
  if(P_CAF)
    list(APPEND headers ${wassally_pch_caf} ${wassally_pch_serialisation})
  endif()
  if(P_PQXX)
    list(APPEND headers <pqxx/pqxx>)
  endif()
  if(P_JSON)
    list(APPEND headers <nlohmann/json.hpp>)
  endif()
  if(P_PISTACHE)
    list(APPEND headers <pistache/http.h> <pistache/endpoint.h>)
  endif()
  if(P_BOOST_TEST)
    list(APPEND headers <boost/test/unit_test.hpp>)
  endif()
  target_precompile_headers(${target} PRIVATE ${headers})
endfunction()

# Uses `source`'s precompiled header (the same compile flags are required).
function(wassally_reuse_precompiled_headers target source)
  if(WASSALLY_PCH)
    target_precompile_headers(${target} REUSE_FROM ${source})
  endif()
endfunction()
