"""Drives the real frappe-client (PyPI frappe-client, module frappeclient)
against a running service, unchanged, for test/clients-frappe-py.test.ts.

Reads one JSON object on stdin:

    {"url": "http://127.0.0.1:PORT", "api_key": "...", "api_secret": "...",
     "steps": [{"op": "get_list", "args": ["User"], "kwargs": {...}}, ...]}

and calls FrappeClient(url, api_key=..., api_secret=...).<op>(*args, **kwargs)
for each step, in order. Writes one JSON list on stdout, a result per step:
{"ok": <what the call returned>} or {"error": <exception class>, "module":
<its module>, "message": <str(exception)>}. A step never stops the others.
"""
import json
import sys

from frappeclient import FrappeClient


def main():
    plan = json.load(sys.stdin)
    client = FrappeClient(plan["url"], api_key=plan["api_key"], api_secret=plan["api_secret"])
    results = []
    for step in plan["steps"]:
        try:
            value = getattr(client, step["op"])(*step.get("args", []), **step.get("kwargs", {}))
            results.append({"ok": value})
        except Exception as exc:  # the test asserts which one
            results.append({"error": type(exc).__name__, "module": type(exc).__module__, "message": str(exc)})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
