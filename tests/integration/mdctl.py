#!/usr/bin/env python3
"""mdctl.py - a small client of migrationd's REST API for the end-to-end scripts.

Standard library only (Debian 12's python3). Talks to one API base URL, never
through a proxy (the scripts' traffic stays on loopback).

    mdctl.py URL health                     exit 0 when GET /healthcheck answers 200
    mdctl.py URL post JSON                  POST /v1/os-migrations; prints the new uuid
    mdctl.py URL watch UUID [--timeout S] [--interval S] [--changes]
                                            polls the record and its events until a final
                                            state; prints a progress line per poll (only on
                                            change with --changes, or in place on a
                                            terminal) and each new event as it appears;
                                            the last line is "final: STATUS";
                                            exit 0 at a final state, 3 on timeout
    mdctl.py URL show UUID                  the record, pretty JSON
    mdctl.py URL events UUID                the timeline, one event per line
    mdctl.py URL get UUID FIELD             one field of the record, as JSON
                                            (strings without quotes)
    mdctl.py URL req METHOD PATH [JSON]     any request; prints "STATUS BODY" (BODY as
                                            one line of JSON); exit 0 whatever the status
    mdctl.py URL active                     the statuses of the records in preparing,
                                            running, post-copy or post-copy recovering
                                            (GET /v1/os-migrations),
                                            one per line
"""
import argparse
import datetime
import json
import sys
import time
import urllib.error
import urllib.request

FINAL = ("completed", "cancelled", "failed", "error")
MIB = 1024 * 1024

# No proxy, whatever the environment says: the API is on loopback.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ApiError(Exception):
    pass


def request(base, method, path, body=None, timeout=10):
    data = None
    headers = {"Accept": "application/json"}
    if body is not None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(base.rstrip("/") + path, data=data, headers=headers,
                                 method=method)
    try:
        with _opener.open(req, timeout=timeout) as r:
            raw = r.read()
            return r.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            doc = json.loads(raw)
        except ValueError:
            doc = raw.decode(errors="replace")
        return e.code, doc
    except (urllib.error.URLError, OSError) as e:
        raise ApiError("%s %s: %s" % (method, path, e)) from e


def get_record(base, uuid):
    status, doc = request(base, "GET", "/v1/os-migrations/" + uuid)
    if status != 200:
        raise ApiError("GET /v1/os-migrations/%s: %s %s" % (uuid, status, doc))
    return doc["migration"]


def get_events(base, uuid):
    status, doc = request(base, "GET", "/v1/os-migrations/%s/events" % uuid)
    if status != 200:
        raise ApiError("GET /v1/os-migrations/%s/events: %s %s" % (uuid, status, doc))
    return doc["events"]


def parse_time(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%f")


def event_line(e, t0):
    rel = (parse_time(e["at"]) - t0).total_seconds()
    kind = e["kind"]
    if kind == "set_downtime":
        kind = "set_downtime %d ms" % e["value"]
    return "%+8.3f s  %-18s %s" % (rel, kind, e["message"])


def progress_line(m):
    rem = (m["memory_remaining_bytes"] + m["disk_remaining_bytes"]) / MIB
    dt = m["downtime_ms"]
    return ("%6.1f s  %-19s  iter %-3d remaining %6.1f MiB  progress %3d%%  "
            "downtime limit %4d ms  sent %5.1f MiB/s  dirtied %5.1f MiB/s%s" % (
                m["elapsed_ms"] / 1000.0, m["status"], m["memory_iteration"], rem,
                m["progress"], m["current_downtime_ms"], m["transfer_rate"] / MIB,
                m["dirty_rate"] / MIB,
                "  downtime %d ms" % dt if dt is not None else ""))


def cmd_watch(base, uuid, timeout, interval, changes):
    tty = sys.stdout.isatty() and not changes
    deadline = time.monotonic() + timeout
    seen = 0
    t0 = None
    last = None
    pending_cr = False
    m = None
    while True:
        m = get_record(base, uuid)
        events = get_events(base, uuid)
        if t0 is None and events:
            t0 = parse_time(events[0]["at"])
        out = []
        for e in events[seen:]:
            out.append("  event " + event_line(e, t0))
        seen = len(events)
        line = progress_line(m)
        key = (m["status"], m["memory_iteration"], m["current_downtime_ms"])
        if tty:
            if out:
                sys.stdout.write("\r\033[K" + "\n".join(out) + "\n")
            sys.stdout.write("\r\033[K" + line)
            pending_cr = True
        else:
            for o in out:
                print(o)
            if not changes or key != last or m["status"] in FINAL:
                print(line)
        last = key
        sys.stdout.flush()
        if m["status"] in FINAL:
            break
        if time.monotonic() >= deadline:
            if pending_cr:
                print()
            print("final: (timeout after %d s, still %s)" % (timeout, m["status"]))
            return 3
        time.sleep(interval)
    if pending_cr:
        print()
    print("final: %s" % m["status"])
    return 0


def main():
    p = argparse.ArgumentParser(description="migrationd API client for the e2e scripts")
    p.add_argument("url")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("health")
    s = sub.add_parser("post")
    s.add_argument("body")
    s = sub.add_parser("watch")
    s.add_argument("uuid")
    s.add_argument("--timeout", type=float, default=120)
    s.add_argument("--interval", type=float, default=0.5)
    s.add_argument("--changes", action="store_true")
    for name in ("show", "events"):
        sub.add_parser(name).add_argument("uuid")
    s = sub.add_parser("get")
    s.add_argument("uuid")
    s.add_argument("field")
    s = sub.add_parser("req")
    s.add_argument("method")
    s.add_argument("path")
    s.add_argument("body", nargs="?")
    sub.add_parser("active")
    a = p.parse_args()

    try:
        if a.cmd == "health":
            status, _ = request(a.url, "GET", "/healthcheck", timeout=2)
            return 0 if status == 200 else 1
        if a.cmd == "post":
            status, doc = request(a.url, "POST", "/v1/os-migrations", a.body)
            if status != 202:
                print("POST /v1/os-migrations: %s %s" % (status, json.dumps(doc)),
                      file=sys.stderr)
                return 1
            print(doc["migration"]["uuid"])
            return 0
        if a.cmd == "watch":
            return cmd_watch(a.url, a.uuid, a.timeout, a.interval, a.changes)
        if a.cmd == "show":
            print(json.dumps({"migration": get_record(a.url, a.uuid)}, indent=4))
            return 0
        if a.cmd == "events":
            events = get_events(a.url, a.uuid)
            t0 = parse_time(events[0]["at"]) if events else None
            for e in events:
                print("%s %s" % (e["at"][11:23], event_line(e, t0)))
            return 0
        if a.cmd == "req":
            status, doc = request(a.url, a.method, a.path, a.body)
            print("%s %s" % (status, json.dumps(doc)))
            return 0
        if a.cmd == "active":
            status, doc = request(a.url, "GET", "/v1/os-migrations?limit=1000")
            if status != 200:
                raise ApiError("GET /v1/os-migrations: %s %s" % (status, doc))
            for m in doc["migrations"]:
                if m["status"] in ("preparing", "running", "running (post-copy)",
                                   "running (post-copy recovering)"):
                    print("%s %s" % (m["uuid"], m["status"]))
            return 0
        if a.cmd == "get":
            v = get_record(a.url, a.uuid).get(a.field)
            print(v if isinstance(v, str) else json.dumps(v))
            return 0
    except ApiError as e:
        print("mdctl: %s" % e, file=sys.stderr)
        return 2
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print(file=sys.stderr)
        sys.exit(130)
