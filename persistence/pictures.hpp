#pragma once
// SQL of uploaded pictures across the tables that hold an `image` (protocols/pictures.hpp).

#include "protocols/persistence.hpp"

namespace wassally::pictures_sql {

/// Every digest a shop, shop category, product or offer row (deleted ones too) refers to →
/// picture_references. A read: the media sweep's list of what must stay.
db_command referenced();

}  // namespace wassally::pictures_sql
