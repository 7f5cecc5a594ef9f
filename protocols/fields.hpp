#pragma once
// WASSALLY_FIELDS(Type, a, b, ...) gives a message/DTO type both serialisations it needs from
// one field list: a CAF `inspect` overload (messages between actors, to_string) and a cereal
// `serialize` (JSON/binary snapshots, actor state inspection).

#include <caf/meta/type_name.hpp>
#include <cereal/cereal.hpp>
#include <cereal/types/common.hpp>  // enums
#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#define WASSALLY_PP_CAT(a, b) WASSALLY_PP_CAT_I(a, b)
#define WASSALLY_PP_CAT_I(a, b) a##b
#define WASSALLY_PP_NARG(...) WASSALLY_PP_NARG_I(__VA_ARGS__, WASSALLY_PP_RSEQ())
#define WASSALLY_PP_NARG_I(...) WASSALLY_PP_ARG_N(__VA_ARGS__)
#define WASSALLY_PP_ARG_N(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16,   \
                          _17, _18, _19, _20, _21, _22, _23, _24, _25, _26, _27, _28, _29, _30, N, \
                          ...)                                                                     \
  N
#define WASSALLY_PP_RSEQ()                                                                        \
  30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, \
      5, 4, 3, 2, 1

#define WASSALLY_PP_MAP(m, ...) \
  WASSALLY_PP_CAT(WASSALLY_PP_MAP_, WASSALLY_PP_NARG(__VA_ARGS__))(m, __VA_ARGS__)
#define WASSALLY_PP_MAP_1(m, a) m(a)
#define WASSALLY_PP_MAP_2(m, a, ...) m(a), WASSALLY_PP_MAP_1(m, __VA_ARGS__)
#define WASSALLY_PP_MAP_3(m, a, ...) m(a), WASSALLY_PP_MAP_2(m, __VA_ARGS__)
#define WASSALLY_PP_MAP_4(m, a, ...) m(a), WASSALLY_PP_MAP_3(m, __VA_ARGS__)
#define WASSALLY_PP_MAP_5(m, a, ...) m(a), WASSALLY_PP_MAP_4(m, __VA_ARGS__)
#define WASSALLY_PP_MAP_6(m, a, ...) m(a), WASSALLY_PP_MAP_5(m, __VA_ARGS__)
#define WASSALLY_PP_MAP_7(m, a, ...) m(a), WASSALLY_PP_MAP_6(m, __VA_ARGS__)
#define WASSALLY_PP_MAP_8(m, a, ...) m(a), WASSALLY_PP_MAP_7(m, __VA_ARGS__)
#define WASSALLY_PP_MAP_9(m, a, ...) m(a), WASSALLY_PP_MAP_8(m, __VA_ARGS__)
#define WASSALLY_PP_MAP_10(m, a, ...) m(a), WASSALLY_PP_MAP_9(m, __VA_ARGS__)
#define WASSALLY_PP_MAP_11(m, a, ...) m(a), WASSALLY_PP_MAP_10(m, __VA_ARGS__)
#define WASSALLY_PP_MAP_12(m, a, ...) m(a), WASSALLY_PP_MAP_11(m, __VA_ARGS__)
#define WASSALLY_PP_MAP_13(m, a, ...) m(a), WASSALLY_PP_MAP_12(m, __VA_ARGS__)
#define WASSALLY_PP_MAP_14(m, a, ...) m(a), WASSALLY_PP_MAP_13(m, __VA_ARGS__)
#define WASSALLY_PP_MAP_15(m, a, ...) m(a), WASSALLY_PP_MAP_14(m, __VA_ARGS__)
#define WASSALLY_PP_MAP_16(m, a, ...) m(a), WASSALLY_PP_MAP_15(m, __VA_ARGS__)
#define WASSALLY_PP_MAP_17(m, a, ...) m(a), WASSALLY_PP_MAP_16(m, __VA_ARGS__)
#define WASSALLY_PP_MAP_18(m, a, ...) m(a), WASSALLY_PP_MAP_17(m, __VA_ARGS__)
#define WASSALLY_PP_MAP_19(m, a, ...) m(a), WASSALLY_PP_MAP_18(m, __VA_ARGS__)
#define WASSALLY_PP_MAP_20(m, a, ...) m(a), WASSALLY_PP_MAP_19(m, __VA_ARGS__)
#define WASSALLY_PP_MAP_21(m, a, ...) m(a), WASSALLY_PP_MAP_20(m, __VA_ARGS__)
#define WASSALLY_PP_MAP_22(m, a, ...) m(a), WASSALLY_PP_MAP_21(m, __VA_ARGS__)
#define WASSALLY_PP_MAP_23(m, a, ...) m(a), WASSALLY_PP_MAP_22(m, __VA_ARGS__)
#define WASSALLY_PP_MAP_24(m, a, ...) m(a), WASSALLY_PP_MAP_23(m, __VA_ARGS__)
#define WASSALLY_PP_MAP_25(m, a, ...) m(a), WASSALLY_PP_MAP_24(m, __VA_ARGS__)
#define WASSALLY_PP_MAP_26(m, a, ...) m(a), WASSALLY_PP_MAP_25(m, __VA_ARGS__)
#define WASSALLY_PP_MAP_27(m, a, ...) m(a), WASSALLY_PP_MAP_26(m, __VA_ARGS__)
#define WASSALLY_PP_MAP_28(m, a, ...) m(a), WASSALLY_PP_MAP_27(m, __VA_ARGS__)
#define WASSALLY_PP_MAP_29(m, a, ...) m(a), WASSALLY_PP_MAP_28(m, __VA_ARGS__)
#define WASSALLY_PP_MAP_30(m, a, ...) m(a), WASSALLY_PP_MAP_29(m, __VA_ARGS__)

#define WASSALLY_PP_NVP(f) ::cereal::make_nvp(#f, f)
#define WASSALLY_PP_MEMBER(f) x.f

#define WASSALLY_FIELDS(Type, ...)                                                             \
  template <class Archive>                                                                     \
  void serialize(Archive& ar) {                                                                \
    ar(WASSALLY_PP_MAP(WASSALLY_PP_NVP, __VA_ARGS__));                                         \
  }                                                                                            \
  template <class Inspector>                                                                   \
  friend typename Inspector::result_type inspect(Inspector& f, Type& x) {                      \
    return f(::caf::meta::type_name(#Type), WASSALLY_PP_MAP(WASSALLY_PP_MEMBER, __VA_ARGS__)); \
  }
