#!/usr/bin/env python3
"""CORS in a real browser (API.md "Browsers"): headless Debian chromium, driven by playwright-core
(tests/browser/cors.mjs), loads a page from an origin the server lists in cors_allowed_origins and
one from an origin it does not, and from each calls the API as a dashboard would: GET /me with
Authorization, a preflighted PATCH with a JSON body, a 404, a picture with its ETag.

The listed origin sees every answer (status, JSON body, exposed ETag) and its PATCH is applied.
The other origin's browser sees nothing (fetch fails), and its PATCH never reaches the server:
PostgreSQL still holds the listed origin's edit.
"""

import http.client
import http.server
import json
import os
import subprocess
import sys
import threading

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reliability"))
from harness import run_main  # noqa: E402
from harness import (Server, World, create_database, env_or_die, free_port, log,  # noqa: E402
                     must, report, scalar)
from media_crash_test import png  # noqa: E402


def serve_page(port):
    """A static origin: one blank page on 127.0.0.1:port."""
    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"<!doctype html><title>dashboard</title><p>dashboard</p>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Page)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def in_browser(api, page, token, shop_id):
    out = subprocess.run(["node", os.path.join(HERE, "cors.mjs"), api, page, token, str(shop_id)],
                         capture_output=True, text=True, timeout=120, cwd=HERE)
    if out.returncode != 0:
        raise RuntimeError("the browser run failed: " + out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    db = create_database(env_or_die("WASSALLY_TEST_DATABASE_URL"), "cors")
    listed_port, other_port = free_port(), free_port()
    listed = f"http://127.0.0.1:{listed_port}"
    other = f"http://127.0.0.1:{other_port}"
    srv = Server(db, {"WASSALLY_CORS_ALLOWED_ORIGINS": f"https://dashboard.example.com, {listed}"})
    srv.start()
    pages = [serve_page(listed_port), serve_page(other_port)]
    problems = []
    figures = {}
    try:
        w = World(srv.port)
        owned = w.shop()
        shop, token = owned["id"], owned["owner"]
        api = f"http://127.0.0.1:{srv.port}"
        # A picture, so that the page can read a rendition's ETag (an exposed header).
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
        conn.request("PUT", f"/api/v1/shops/{shop}/image",
                     body=png(120, 80, [(200, 30, 30), (30, 30, 200)], 60),
                     headers={"Content-Type": "image/png", "Authorization": "Bearer " + token})
        answer = conn.getresponse()
        if answer.status != 200:
            raise RuntimeError(f"the picture upload got {answer.status}: {answer.read()[:300]}")
        conn.close()
        ok = in_browser(api, listed + "/", token, shop)
        log("listed origin saw:", json.dumps(ok)[:600])
        if ok["me"].get("status") != 200 or "username" not in ok["me"].get("body", {}):
            problems.append(f"listed origin: GET /me not readable: {ok['me']}")
        if ok["patch"].get("status") != 200 or \
                ok["patch"].get("body", {}).get("description") != "edited from " + listed:
            problems.append(f"listed origin: the preflighted PATCH failed: {ok['patch']}")
        if ok["error"].get("status") != 404 or \
                ok["error"].get("body", {}).get("error", {}).get("code") != "not_found":
            problems.append(f"listed origin: the 404 and its error body not readable: {ok['error']}")
        if ok["picture"].get("status") != 200 or not ok["picture"].get("etag"):
            problems.append(f"listed origin: the rendition or its exposed ETag not readable: "
                            f"{ok['picture']}")
        blocked = in_browser(api, other + "/", token, shop)
        log("other origin saw:", json.dumps(blocked)[:600])
        for name in ("me", "patch", "error", "picture"):
            if "blocked" not in blocked[name]:
                problems.append(f"other origin: {name} was readable: {blocked[name]}")
        held = scalar(db, f"SELECT description FROM shops WHERE id = {shop}")
        figures["description_in_db"] = held
        if held != "edited from " + listed:
            problems.append(f"PostgreSQL holds {held!r}: the other origin's PATCH reached the server")
        figures["listed_ok"] = not problems
    finally:
        for p in pages:
            p.shutdown()
        code, _ = srv.terminate()
        if code != 0:
            problems.append(f"the server exited {code}")
    return report("browser_cors", not problems, figures, problems)


if __name__ == "__main__":
    sys.exit(run_main("browser_cors", main))
