#pragma once
// SQL of delivery crews: a crew actor's state, its position and status writes, and the staff
// views (crews list, overview).

#include "protocols/crews.hpp"
#include "protocols/persistence.hpp"

namespace wassally::crews_sql {

/// The crew with the orders it holds (assigned or picked up) → crew_record; not a crew: 404.
db_command load(int64_t crew_id);
/// Position and last_seen (`seen_unix`) → done. Mergeable: the positions of one group commit
/// are written in one statement.
db_command save_location(int64_t crew_id, double latitude, double longitude, int64_t seen_unix);
/// → done.
db_command save_status(int64_t crew_id, const std::string& status);
/// GET /staff/crews, by username → crew_page.
db_command list(const crew_query& q);
/// GET /staff/overview → staff_overview.
db_command overview();

}  // namespace wassally::crews_sql
