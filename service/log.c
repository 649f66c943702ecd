/* log.c - leveled logging to stderr, in journald's format when under systemd. */
#include "service/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Written once by md_log_init() before any thread starts, read-only after:
 * this is the "read-only config snapshot" exception to no mutable globals. */
static md_log_level log_min_level = MD_LOG_INFO;
static int log_to_journal;

static const char *const level_names[] = { "DEBUG", "INFO", "WARNING", "ERROR" };
/* syslog priorities for journald's stderr prefix: debug, info, warning, err. */
static const int level_prio[] = { 7, 6, 4, 3 };

int md_log_level_parse(const char *name, md_log_level *out)
{
    static const char *const names[] = { "debug", "info", "warning", "error" };
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (md_log_level)i;
            return 0;
        }
    }
    return -1;
}

/* JOURNAL_STREAM is "device:inode" of the stream systemd connected; stderr is
 * the journal only if its identity matches (a child may inherit the variable
 * with stderr redirected elsewhere). */
static int stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;

    if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
        return 0;
    if (fstat(STDERR_FILENO, &st) != 0)
        return 0;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void md_log_init(md_log_level min_level)
{
    int journal = stderr_is_journal();

    /* Written only when it changes: a second init with the same settings
     * (the tests start a daemon per case) then does not race with a thread
     * of an earlier daemon still logging, such as a worker a stop left in
     * the hypervisor. */
    if (log_min_level != min_level)
        log_min_level = min_level;
    if (log_to_journal != journal)
        log_to_journal = journal;
}

size_t md_log_escape(const char *in, size_t len, char *out, size_t outsize)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        char esc[4];
        size_t elen = 0;

        if (c == '\n' || c == '\r' || c == '\t') {
            esc[0] = '\\';
            esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
            elen = 2;
        } else if (c < 0x20 || c == 0x7f) {
            esc[0] = '\\';
            esc[1] = 'x';
            esc[2] = hex[c >> 4];
            esc[3] = hex[c & 0xf];
            elen = 4;
        } else {
            esc[0] = (char)c;
            elen = 1;
        }
        if (n + elen >= outsize)
            break;
        memcpy(out + n, esc, elen);
        n += elen;
    }
    out[n] = '\0';
    return n;
}

void md_log(md_log_level level, const char *fmt, ...)
{
    char line[2048], msg[2048];
    size_t n = 0;
    va_list ap;

    if (level < log_min_level || level > MD_LOG_ERROR)
        return;

    if (log_to_journal) {
        n = (size_t)snprintf(line, sizeof line, "<%d>", level_prio[level]);
    } else {
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
        n += (size_t)snprintf(line + n, sizeof line - n, ".%03ldZ %s ", ts.tv_nsec / 1000000,
                              level_names[level]);
    }
    va_start(ap, fmt);
    int w = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (w < 0)
        return;
    /* Escaped after formatting, so that every %s of every caller is
     * covered; the room for the newline is kept. A message longer than
     * the buffer is cut, never dropped. */
    size_t mlen = (size_t)w < sizeof msg ? (size_t)w : sizeof msg - 1;
    n += md_log_escape(msg, mlen, line + n, sizeof line - 1 - n);
    line[n++] = '\n';
    /* One write per line keeps lines whole across threads; a failed write to
     * stderr has nowhere better to be reported. */
    ssize_t rc = write(STDERR_FILENO, line, n);
    (void)rc;
}
