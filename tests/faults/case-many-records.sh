#!/usr/bin/env bash
# A daemon with 2500 finished records: no answer lists more than 1000 of
# them (Nova's [api] max_limit), the next links lead to every other one
# exactly once, and service.keep_finished_days then deletes the ones that
# ended more than a day ago and keeps the rest.
#
# The records are written before the daemon starts by bench/api-fill,
# which uses the daemon's own store code (so the schema is exactly the
# daemon's): completed, cancelled and failed live migrations, one a minute
# going back from now, so that the oldest ended some 42 hours ago.
. "$(dirname "$0")/lib.sh"

N=2500
FAULT_PORT=$(fault_port)
[ -x "$MD_BUILD/bench/api-fill" ] || fault_fail "$MD_BUILD/bench/api-fill is not built"
"$MD_BUILD/bench/api-fill" "$FAULT_DIR/m.db" "$N" >/dev/null || fault_fail "api-fill failed"
fault_config "$FAULT_DIR/m.conf"
fault_start "$FAULT_DIR/m.conf"

# fault_pages PATH [MICROVERSION] follows the next links from PATH and
# prints "PAGES TOTAL UNIQUE LARGEST_PAGE"; each uuid with its updated_at
# goes to $FAULT_DIR/seen. Fails the case on any answer but 200.
fault_pages() {
    python3 - "http://127.0.0.1:$FAULT_PORT" "$1" "${2:-}" "$FAULT_DIR/seen" <<'PY'
import json, sys, urllib.request
base, path, ver, out = sys.argv[1:5]
pages = total = largest = 0
seen = {}
while path:
    req = urllib.request.Request(base + path)
    if ver:
        req.add_header("X-OpenStack-Nova-API-Version", ver)
    with urllib.request.urlopen(req, timeout=30) as r:
        j = json.load(r)
    page = j["migrations"]
    pages += 1
    total += len(page)
    largest = max(largest, len(page))
    for m in page:
        seen[m.get("uuid", m["id"])] = m["updated_at"]  # no uuid below 2.59
    links = [l for l in j.get("migrations_links", []) if l.get("rel") == "next"]
    path = links[0]["href"][len(base):] if links else ""
    if pages > 100:
        sys.exit("more than 100 pages: the links go round")
with open(out, "w") as f:
    for u, t in seen.items():
        f.write(f"{u} {t}\n")
print(pages, total, len(seen), largest)
PY
}

# Below 2.59 there is no paging: the newest 1000, no link, nothing else.
read -r pages total unique largest < <(fault_pages /v2.1/os-migrations 2.1)
fault_expect_eq "2.1: pages (no next link)" 1 "$pages"
fault_expect_eq "2.1: records" 1000 "$total"

# From 2.59, and on /v1: pages of at most 1000 that hold every record once.
read -r pages total unique largest < <(fault_pages /v2.1/os-migrations 2.59)
fault_expect_eq "2.59: pages" 3 "$pages"
fault_expect_eq "2.59: largest page" 1000 "$largest"
fault_expect_eq "2.59: records over all pages" "$N" "$total"
fault_expect_eq "2.59: distinct records" "$N" "$unique"
read -r pages total unique largest < <(fault_pages /v1/os-migrations)
fault_expect_eq "/v1: pages" 3 "$pages"
fault_expect_eq "/v1: records over all pages" "$N" "$total"
fault_expect_eq "/v1: distinct records" "$N" "$unique"
fault_log "$N records: 1000 below 2.59, every one once over 3 pages from 2.59 and on /v1"

# keep_finished_days = 1: a restart with it deletes what ended before a
# day ago, in batches, and keeps everything younger.
cp "$FAULT_DIR/seen" "$FAULT_DIR/before"
kill -TERM "$FAULT_PID"
wait "$FAULT_PID" 2>/dev/null || true
fault_config "$FAULT_DIR/m.conf" \
    "service: { hypervisor = \"simulator\"; host = \"node-a\"; database = \"$FAULT_DIR/m.db\"; keep_finished_days = 1; };"
fault_start "$FAULT_DIR/m.conf"
deadline=$((SECONDS + 60))
while :; do
    read -r pages total unique largest < <(fault_pages /v1/os-migrations)
    # Done once nothing older than a day and a minute is left.
    left=$(python3 -c '
import sys, time, datetime
cut = time.time() - 86400 - 60
n = 0
for line in open(sys.argv[1]):
    u, t = line.split()
    if datetime.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() < cut:
        n += 1
print(n)' "$FAULT_DIR/seen")
    [ "$left" = 0 ] && break
    [ $SECONDS -le $deadline ] || fault_fail "records older than a day still there after 60 s: $left"
    sleep 1
done
# Everything that ended less than a day less a minute ago is still there.
missing=$(python3 -c '
import sys, time, datetime
cut = time.time() - 86400 + 60
now = set(l.split()[0] for l in open(sys.argv[2]))
n = 0
for line in open(sys.argv[1]):
    u, t = line.split()
    if datetime.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() > cut and u not in now:
        n += 1
print(n)' "$FAULT_DIR/before" "$FAULT_DIR/seen")
fault_expect_eq "young records deleted" 0 "$missing"
[ "$total" -gt 1000 ] && [ "$total" -lt "$N" ] || fault_fail "after the purge: $total records"
grep -q "deleted .* records of migrations that ended more than 1 days ago" "$FAULT_DIR/daemon.log" ||
    fault_fail "the daemon's log does not tell of the purge"
fault_log "keep_finished_days = 1: $((N - total)) old records deleted, $total younger ones kept"
