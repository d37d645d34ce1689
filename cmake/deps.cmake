# Debian 12 packages, installed by scripts/setup.
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(Boost 1.81 REQUIRED CONFIG COMPONENTS url)
find_package(simdjson 3 REQUIRED CONFIG)
find_package(spdlog 1.10 REQUIRED CONFIG)
find_package(tomlplusplus 3 REQUIRED CONFIG)
find_package(CLI11 REQUIRED CONFIG)
find_package(GTest REQUIRED CONFIG)
find_package(OpenSSL 3 REQUIRED)
pkg_check_modules(LMDB REQUIRED IMPORTED_TARGET lmdb)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)

# Debian's libcaf-dev ships no CMake package: build an imported target by hand.
find_path(CAF_INCLUDE_DIR caf/all.hpp REQUIRED)
find_library(CAF_CORE_LIBRARY caf_core REQUIRED)
file(STRINGS ${CAF_INCLUDE_DIR}/caf/config.hpp CAF_VERSION_LINE REGEX "#define CAF_VERSION ")
if(NOT CAF_VERSION_LINE MATCHES "1706")
  message(FATAL_ERROR "CAF 0.17.6 is required, found: ${CAF_VERSION_LINE}")
endif()
add_library(CAF::core UNKNOWN IMPORTED)
set_target_properties(CAF::core PROPERTIES IMPORTED_LOCATION ${CAF_CORE_LIBRARY}
                      INTERFACE_INCLUDE_DIRECTORIES ${CAF_INCLUDE_DIR})
target_link_libraries(CAF::core INTERFACE Threads::Threads)

# libphonenumber: headers come from .deps/ (see scripts/setup), the library from libphonenumber8.
find_path(PHONENUMBER_INCLUDE_DIR phonenumbers/phonenumberutil.h REQUIRED
          HINTS ${PROJECT_SOURCE_DIR}/.deps/phonenumber/usr/include)
find_library(PHONENUMBER_LIBRARY NAMES phonenumber libphonenumber.so.8 REQUIRED)
pkg_check_modules(PROTOBUF REQUIRED IMPORTED_TARGET protobuf)
add_library(ls::phonenumber UNKNOWN IMPORTED)
set_target_properties(ls::phonenumber PROPERTIES IMPORTED_LOCATION ${PHONENUMBER_LIBRARY}
                      INTERFACE_INCLUDE_DIRECTORIES ${PHONENUMBER_INCLUDE_DIR})
target_link_libraries(ls::phonenumber INTERFACE PkgConfig::PROTOBUF)
