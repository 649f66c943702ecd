/* log.h - leveled logging to stderr, in journald's format when under systemd.
 *
 * The level is set once at start-up from the configuration, before any other
 * thread exists; after that the logger is read-only and every function here
 * may be called from any thread. Lines are written with one write(2) each so
 * that lines from different threads never interleave.
 */
#ifndef MD_LOG_H
#define MD_LOG_H

#include <stddef.h>

typedef enum md_log_level {
    MD_LOG_DEBUG = 0,
    MD_LOG_INFO,
    MD_LOG_WARNING,
    MD_LOG_ERROR,
} md_log_level;

/* Parses "debug", "info", "warning" or "error" into *out. Returns 0 on
 * success, -1 for any other string (and leaves *out alone). */
int md_log_level_parse(const char *name, md_log_level *out);

/* Sets the lowest level that is written. Call once, at start-up, before any
 * thread is started. Also decides whether to use journald's "<N>" prefixes:
 * it does when JOURNAL_STREAM says stderr is the journal. */
void md_log_init(md_log_level min_level);

/* Writes one line "LEVEL message" (with a timestamp when not under journald).
 * The formatted message is escaped as md_log_escape() does, so that a
 * value from a caller (an instance name, a token) can never start a line
 * of its own or drive a terminal. Never blocks for long (a write(2) to
 * stderr); any thread. */
void md_log(md_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Copies the len bytes of in to out (of outsize > 0 bytes, always
 * NUL-terminated), each control character written as an escape: newline
 * as \n, carriage return as \r, tab as \t, every other byte below 0x20
 * (ESC included) and 0x7f as \xHH. Other bytes, UTF-8 included, are
 * copied; a backslash stays as it is (a line can only be forged by a real
 * newline). Output that does not fit is cut, never in the middle of an
 * escape. Returns the length written (without the NUL). Pure; any thread. */
size_t md_log_escape(const char *in, size_t len, char *out, size_t outsize);

#define md_debug(...) md_log(MD_LOG_DEBUG, __VA_ARGS__)
#define md_info(...) md_log(MD_LOG_INFO, __VA_ARGS__)
#define md_warn(...) md_log(MD_LOG_WARNING, __VA_ARGS__)
#define md_error(...) md_log(MD_LOG_ERROR, __VA_ARGS__)

#endif /* MD_LOG_H */
