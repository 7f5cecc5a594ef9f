#!/usr/bin/env python3
"""The staff console (/console, API.md "Browsers") in a real browser: headless Debian chromium
driven by playwright-core (tests/browser/console.mjs) against the real binary and PostgreSQL.

Staff log in with the keyboard; an order placed through the API appears on the live board within
2 s without a reload; the order view shows the customer's notes as text (a planted <script> and
onerror image are printed, never run); a refused assignment shows the API's message; assigning
from the order view moves the card to "assigned"; a code locked by 5 wrong codes is unlocked and
the crew can deliver; an order is cancelled with a reason; the actor inspector shows that
order's live actor; the crews plot moves a crew when it reports a position; the overview agrees
with the API; after the server restarts, the board re-reads the lists (an order placed while the
stream was down shows up); a refreshed access token re-reads the board; pages fit a 375 px
screen; a shop owner sees its sales charts with one point per period of the API's answer.
No browser console error outside the answers the test provokes on purpose. Then PostgreSQL is
asked what happened. Screenshots (375 and 1440 px) go to browser-output/console/.
"""

import json
import os
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reliability"))
from harness import run_main  # noqa: E402
from harness import (PASSWORD, STAFF_PASSWORD, STAFF_USER, Client, Server, World,  # noqa: E402
                     create_database, env_or_die, log, must, order_body, psql, report, scalar)


def deliver(c, customer, crew, items):
    o = must(c.post("/api/v1/orders", order_body(items), token=customer["token"]), 201)
    must(c.post(f"/api/v1/orders/{o['id']}/accept", token=crew["token"]), 200)
    must(c.post(f"/api/v1/orders/{o['id']}/pickup", token=crew["token"]), 200)
    must(c.post(f"/api/v1/orders/{o['id']}/deliver", {"code": o["code"]}, token=crew["token"]),
         200)


def main():
    db = create_database(env_or_die("WASSALLY_TEST_DATABASE_URL"), "console")
    srv = Server(db, {"WASSALLY_PENDING_ALERT_S": "3"})
    srv.start()
    out_dir = os.path.join(os.getcwd(), "browser-output", "console")
    os.makedirs(out_dir, exist_ok=True)
    problems = []
    figures = {}
    try:
        w = World(srv.port)
        c = Client(srv.port, timeout=30)
        shop = w.shop()
        w.shop(lat=30.07, lng=31.27)
        products = [w.product(shop, 1000, "12.50"), w.product(shop, 1000, "4.00")]
        customer = w.customer()
        crew = w.crew()
        courier = w.crew(lat=30.04, lng=31.22)
        busy = w.crew(lat=30.03, lng=31.25)
        for _ in range(3):  # the most a crew may hold: one more is refused (crew_busy)
            o = must(c.post("/api/v1/orders", order_body([(products[1], 1)]),
                            token=customer["token"]), 201)
            must(c.post(f"/api/v1/orders/{o['id']}/accept", token=busy["token"]), 200)
        # Sales for the owner's charts: delivered this month.
        deliver(c, customer, courier, [(products[0], 2), (products[1], 1)])
        deliver(c, customer, courier, [(products[1], 3)])

        world = {
            "api": f"http://127.0.0.1:{srv.port}",
            "staff": {"username": STAFF_USER, "password": STAFF_PASSWORD, "token": w.staff},
            "owner": {"username": shop["owner_name"], "password": PASSWORD,
                      "token": shop["owner"], "shop_id": shop["id"]},
            "customer": customer, "crew": crew, "busy_crew": busy, "products": products,
        }
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(world, f)
        node = subprocess.Popen(["node", os.path.join(HERE, "console.mjs"), f.name, out_dir],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=HERE)
        seen = None
        for line in node.stdout:
            if line.startswith("ASK restart"):
                code, _ = srv.terminate()
                if code != 0:
                    problems.append(f"the server exited {code} on the restart")
                srv.start()
                # Placed while the console's stream is down (it reconnects after a pause).
                o = must(Client(srv.port).post("/api/v1/orders", order_body([(products[0], 1)]),
                                               token=customer["token"]), 201)
                node.stdin.write(json.dumps({"order_id": o["id"]}) + "\n")
                node.stdin.flush()
            elif line.startswith("{"):
                seen = json.loads(line)
        node.wait(timeout=60)
        os.unlink(f.name)
        if seen is None:
            raise RuntimeError("the browser run printed no result")
        log("the browser saw:", json.dumps(seen)[:3000])
        if seen.get("failure"):
            problems.append("the console could not be driven: " + seen["failure"][:1500])
            problems.append("the pages showed: " + json.dumps(seen.get("failure_pages"))[:3000])
        figures.update({"board_latency_ms": seen.get("board_latency_ms"),
                        "steps": len(seen.get("steps", [])),
                        "expected_errors_seen": seen.get("expected_errors")})

        def check(ok, what):
            if not ok:
                problems.append(what)

        check(seen.get("login_error") == seen.get("login_error_expected"),
              f"login error shown {seen.get('login_error')!r}, the API said "
              f"{seen.get('login_error_expected')!r}")
        check(not seen.get("token_in_cookie"), "the console set a cookie")
        check(seen.get("token_in_session_storage"), "the token is not in sessionStorage")
        check(seen.get("board_latency_ms") is not None and seen["board_latency_ms"] <= 2000,
              f"the order reached the board in {seen.get('board_latency_ms')} ms (limit 2000)")
        check(seen.get("page_loads") == 1, "the board reloaded the page")
        check(seen.get("card_reached_by_keyboard"), "Tab never reached the order's card")
        check(seen.get("notes_shown") == seen.get("notes_expected"),
              f"notes shown as {seen.get('notes_shown')!r}")
        check(seen.get("pwned") is None and seen.get("injected_elements") == 0,
              f"customer text ran or became markup: pwned={seen.get('pwned')} "
              f"elements={seen.get('injected_elements')}")
        check(seen.get("refused_assign_status") == 409 and
              seen.get("assign_error") == seen.get("assign_error_expected"),
              f"refused assignment: {seen.get('refused_assign_status')} shown "
              f"{seen.get('assign_error')!r} vs {seen.get('assign_error_expected')!r}")
        check(seen.get("assigned_crew_on_card"), "the assigned card does not name the crew")
        check(seen.get("locked_answer") == 409, f"the code was not locked: {seen.get('locked_answer')}")
        check(seen.get("after_unlock_deliver") == 200,
              f"delivery after the unlock answered {seen.get('after_unlock_deliver')}")
        check(seen.get("inspected") == seen.get("inspected_expected"),
              f"inspector showed {seen.get('inspected')}")
        check((seen.get("live_orders_shown") or 0) >= 1, "the inspector shows no live order")
        check(seen.get("inspect_error") == seen.get("inspect_error_expected"),
              f"inspector error {seen.get('inspect_error')!r}")
        c = Client(srv.port, timeout=30)  # the first one's connection ended with the restart
        crews = must(c.get("/api/v1/staff/crews?page_size=100", token=w.staff), 200)["count"]
        if seen.get("offer_crew"):
            crews -= 1  # made later, by the offer step, after the crews view was read
        check(seen.get("crew_rows") == crews and seen.get("crew_circles") == crews,
              f"{seen.get('crew_rows')} rows, {seen.get('crew_circles')} circles for {crews} crews")
        check(seen.get("shop_squares") == 2, f"{seen.get('shop_squares')} shops plotted, 2 exist")
        check(seen.get("crew_moved") and "30.09000" in (seen.get("crew_position_shown") or ""),
              "the crew did not move on the plot and list")
        check(seen.get("overview_pending") == seen.get("overview_pending_expected"),
              "overview disagrees with the API")
        check(seen.get("reloads_after_restart", 0) > seen.get("reloads_before_restart", 1e9),
              "the board was not re-read after the stream reconnected")
        check(seen.get("token_refreshed") and (seen.get("reloads_after_refresh") or 0) >= 1,
              f"token refresh: refreshed={seen.get('token_refreshed')} "
              f"re-reads={seen.get('reloads_after_refresh')}")
        check(seen.get("unattended_flagged") and seen.get("assigned_not_flagged"),
              "the board did not flag the order nobody took (event: order_unattended), or "
              "flagged one that was taken")
        check(seen.get("offer_badge") == seen.get("offer_badge_expected") and seen.get("offer_badge"),
              f"the offered card shows {seen.get('offer_badge')!r}, not {seen.get('offer_badge_expected')!r}")
        check(seen.get("offer_badge_gone_after_decline"), "the card still names the crew that declined")
        check(seen.get("open_offers") and seen.get("open_offers_shown_after_reload") == seen.get("open_offers"),
              f"after a reload {seen.get('open_offers_shown_after_reload')} of {seen.get('open_offers')} open "
              "offers are shown on their cards")
        check(seen.get("offer_order") and scalar(
                  db, f"SELECT count(*) FROM order_offers WHERE order_id = {seen.get('offer_order')}"
                      f" AND crew_id = {seen.get('offer_crew')} AND outcome = 'declined'") == "1",
              "PostgreSQL does not hold the declined offer the card showed")
        check(seen.get("phone_width_ok"), "pages overflow a 375 px screen")
        sales, expected = seen.get("sales_chart") or {}, seen.get("sales_expected") or {}
        check(sales and sales == expected and len(sales["labels"]) == 12,
              f"sales chart {sales} vs the API {expected}")
        check(expected and expected["data"][0][-1] > 0, "no revenue this month in the chart")
        check(seen.get("top_chart") == seen.get("top_expected") and
              len((seen.get("top_chart") or {}).get("labels", [])) == 2,
              f"top products chart {seen.get('top_chart')} vs {seen.get('top_expected')}")
        check(seen.get("yearly_points") == 5, f"yearly chart has {seen.get('yearly_points')} points")
        check(seen.get("owner_nav") == ["Sales"], f"an owner's sections: {seen.get('owner_nav')}")
        check(not seen.get("console_errors") and not seen.get("page_errors"),
              f"browser errors: {seen.get('console_errors')} {seen.get('page_errors')}")
        for name in ("order-1440", "order-375", "board-1440", "board-375", "sales-1440", "sales-375"):
            shot = os.path.join(out_dir, name + ".png")
            check(os.path.exists(shot) and os.path.getsize(shot) > 1000, f"no {name}.png")

        # What PostgreSQL holds.
        first = scalar(db, "SELECT min(id) FROM orders WHERE notes LIKE '%__pwned%'")
        check(scalar(db, f"SELECT status || ':' || crew_id || ':' || code_locked::int FROM orders "
                         f"WHERE id = {first}") == f"delivered:{crew['id']}:0",
              "PostgreSQL does not hold the assigned, unlocked and delivered order")
        staff_id = must(c.get("/api/v1/me", token=w.staff), 200)["id"]
        note = "Customer called: <i>changed mind</i>"
        check(seen.get("cancel_shown") == f"staff — {note}",
              f"the cancellation shown as {seen.get('cancel_shown')!r}")
        if seen.get("cancelled_order"):
            row = psql(db, "SELECT status, cancel_reason, cancel_note, cancelled_by FROM orders "
                           f"WHERE id = {seen['cancelled_order']}")
            check(row == [["cancelled", "staff", note, str(staff_id)]],
                  f"PostgreSQL holds the cancellation as {row}")
    finally:
        code, _ = srv.terminate()
        if code != 0:
            problems.append(f"the server exited {code}")
    return report("browser_console", not problems, figures, problems)


if __name__ == "__main__":
    sys.exit(run_main("browser_console", main))
