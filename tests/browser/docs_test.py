#!/usr/bin/env python3
"""/api/docs in a real browser (API.md "Service endpoints", "Browsers"): headless Debian chromium
(tests/browser/docs.mjs, playwright-core) loads the page the server ships (Swagger UI from npm,
no CDN: the server is the only host the page may reach under its Content-Security-Policy),
finds every operation of the OpenAPI document rendered, authorizes with a real access token and
runs "try it out" on GET /api/v1/me, which must come back 200 with the caller — with no console
error on the page.
"""

import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reliability"))
from harness import run_main  # noqa: E402
from harness import Client, Server, World, create_database, env_or_die, log, must, report  # noqa: E402


def main():
    db = create_database(env_or_die("WASSALLY_TEST_DATABASE_URL"), "docs")
    srv = Server(db, {})
    srv.start()
    problems = []
    figures = {}
    try:
        w = World(srv.port)
        customer = w.customer()
        doc = must(Client(srv.port).get("/api/openapi.json"), 200)
        operations = sum(1 for item in doc["paths"].values() for m in item
                         if m in ("get", "put", "post", "patch", "delete", "head"))
        out = subprocess.run(["node", os.path.join(HERE, "docs.mjs"),
                              f"http://127.0.0.1:{srv.port}", customer["token"]],
                             capture_output=True, text=True, timeout=180, cwd=HERE)
        if out.returncode != 0:
            raise RuntimeError("the browser run failed: " + out.stderr[-2000:])
        seen = json.loads(out.stdout.strip().splitlines()[-1])
        log("the browser saw:", json.dumps(seen)[:800])
        figures.update({"operations_in_document": operations,
                        "operations_rendered": seen.get("operations"),
                        "try_status": seen.get("try_status")})
        if seen.get("failure"):
            problems.append("the page could not be driven: " + seen["failure"])
        if seen.get("operations") != operations:
            problems.append(f"{seen.get('operations')} operations rendered, the document has "
                            f"{operations}")
        if not seen.get("has_upload"):
            problems.append("the picture upload operation is not on the page")
        if seen.get("try_status") != "200":
            problems.append(f"try it out on GET /api/v1/me answered {seen.get('try_status')}")
        if customer["name"] not in (seen.get("try_body") or ""):
            problems.append("try it out did not show the caller: " + (seen.get("try_body") or "")[:200])
        if seen.get("console_errors") or seen.get("page_errors"):
            problems.append(f"errors on the page: {seen.get('console_errors')} "
                            f"{seen.get('page_errors')}")
    finally:
        code, _ = srv.terminate()
        if code != 0:
            problems.append(f"the server exited {code}")
    return report("browser_docs", not problems, figures, problems)


if __name__ == "__main__":
    sys.exit(run_main("browser_docs", main))
