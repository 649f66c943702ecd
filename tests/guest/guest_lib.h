/*
 * guest_lib.h - the pure parts of the test guest (tests/guest/guest.c):
 * command-line parsing, 64-bit division without libgcc, the TSC/PIT
 * arithmetic, the write pacer and the "time to write 1 GiB" window.
 *
 * Header-only and free of libc and I/O so that the same code is compiled
 * into the freestanding 32-bit guest and into the host unit test
 * tests/unit/test_guest.c. Needs only <stdint.h> and <stddef.h>, which a
 * freestanding compiler provides.
 *
 * No '/' or '%' on 64-bit operands here: on i386 gcc turns those into calls
 * to libgcc's __udivdi3/__umoddi3, which the guest does not link.
 */
#ifndef MD_GUEST_LIB_H
#define MD_GUEST_LIB_H

#include <stddef.h>
#include <stdint.h>

/* The PIT's input clock: 3.579545 MHz / 3 = 1193181.67 Hz. */
#define GUEST_PIT_HZ_NUM 3579545u
#define GUEST_PIT_HZ_DEN 3u

#define GUEST_PAGE_SIZE 4096u
#define GUEST_PAGES_PER_MIB 256u
#define GUEST_GIB_MIB 1024u

/* ------------------------------------------------------------------ */
/* Parameters                                                          */
/* ------------------------------------------------------------------ */

struct guest_params {
    uint32_t ws_mib;     /* working set, MiB */
    uint32_t rate_mibps; /* target write rate, MiB/s; 0 = as fast as possible */
    uint32_t report_mib; /* print a report line every report_mib MiB of writes */
};

#define GUEST_WS_MIB_DEFAULT 64u
#define GUEST_WS_MIB_MAX 3072u
#define GUEST_RATE_MAX 1000000u
#define GUEST_REPORT_MIB_DEFAULT 1024u
#define GUEST_REPORT_MIB_MAX 1048576u

enum guest_parse_result {
    GUEST_PARSE_OK = 0,
    GUEST_PARSE_UNKNOWN,   /* key=value with a key we do not know */
    GUEST_PARSE_BAD_VALUE, /* value is not a decimal number */
    GUEST_PARSE_RANGE,     /* value out of range */
};

static inline void guest_params_default(struct guest_params *p)
{
    p->ws_mib = GUEST_WS_MIB_DEFAULT;
    p->rate_mibps = 0;
    p->report_mib = GUEST_REPORT_MIB_DEFAULT;
}

static inline int guest_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static inline int guest_token_eq(const char *s, size_t n, const char *lit)
{
    size_t i = 0;
    for (; i < n && lit[i] != '\0'; i++)
        if (s[i] != lit[i])
            return 0;
    return i == n && lit[i] == '\0';
}

/* Parses a decimal number of n characters; 0 on success. */
static inline int guest_parse_u32(const char *s, size_t n, uint32_t *out)
{
    uint64_t v = 0;
    if (n == 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10u + (uint64_t)(s[i] - '0');
        if (v > 0xffffffffu)
            return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

/*
 * Parses a command line of space-separated words. Words without '=' are
 * ignored (QEMU and GRUB put the kernel's path first). Known keys: ws_mib,
 * rate_mibps, report_mib. p keeps its previous values for keys not given,
 * so call guest_params_default() first. On failure *bad and *badlen point
 * at the offending word.
 */
static inline enum guest_parse_result guest_parse_cmdline(const char *s, struct guest_params *p,
                                                          const char **bad, size_t *badlen)
{
    if (s == NULL)
        return GUEST_PARSE_OK;
    while (*s != '\0') {
        while (guest_is_space(*s))
            s++;
        if (*s == '\0')
            break;
        const char *w = s;
        const char *eq = NULL;
        while (*s != '\0' && !guest_is_space(*s)) {
            if (*s == '=' && eq == NULL)
                eq = s;
            s++;
        }
        size_t wlen = (size_t)(s - w);
        if (eq == NULL)
            continue;
        size_t klen = (size_t)(eq - w);
        const char *val = eq + 1;
        size_t vlen = (size_t)(s - val);
        uint32_t v;
        uint32_t *dst;
        uint32_t lo, hi;
        if (guest_token_eq(w, klen, "ws_mib")) {
            dst = &p->ws_mib, lo = 1, hi = GUEST_WS_MIB_MAX;
        } else if (guest_token_eq(w, klen, "rate_mibps")) {
            dst = &p->rate_mibps, lo = 0, hi = GUEST_RATE_MAX;
        } else if (guest_token_eq(w, klen, "report_mib")) {
            dst = &p->report_mib, lo = 1, hi = GUEST_REPORT_MIB_MAX;
        } else {
            *bad = w, *badlen = wlen;
            return GUEST_PARSE_UNKNOWN;
        }
        if (guest_parse_u32(val, vlen, &v) != 0) {
            *bad = w, *badlen = wlen;
            return GUEST_PARSE_BAD_VALUE;
        }
        if (v < lo || v > hi) {
            *bad = w, *badlen = wlen;
            return GUEST_PARSE_RANGE;
        }
        *dst = v;
    }
    return GUEST_PARSE_OK;
}

/* ------------------------------------------------------------------ */
/* Arithmetic                                                          */
/* ------------------------------------------------------------------ */

/* n / d by shift and subtract (d != 0); *rem gets n % d when rem != NULL. */
static inline uint64_t guest_udivmod64(uint64_t n, uint64_t d, uint64_t *rem)
{
    uint64_t q = 0, r = 0;
    for (int i = 63; i >= 0; i--) {
        r = (r << 1) | ((n >> i) & 1u);
        if (r >= d) {
            r -= d;
            q |= (uint64_t)1 << i;
        }
    }
    if (rem != NULL)
        *rem = r;
    return q;
}

static inline uint64_t guest_udiv64(uint64_t n, uint64_t d)
{
    return guest_udivmod64(n, d, NULL);
}

/* TSC ticks per second, from `ticks` TSC ticks counted over `pit_counts`
 * PIT input clock periods. */
static inline uint64_t guest_tsc_hz(uint64_t ticks, uint32_t pit_counts)
{
    return guest_udiv64(ticks * GUEST_PIT_HZ_NUM, (uint64_t)pit_counts * GUEST_PIT_HZ_DEN);
}

/*
 * One calibration run: the PIT window of pit_counts periods began at some
 * TSC in [start_lo, start_hi] and ended at some TSC in [end_lo, end_hi]
 * (each bracket is the pair of TSC reads around the port access that
 * started it or saw it end). guest_cal_ticks() is the midpoint estimate of
 * its length in TSC ticks, guest_cal_err() the most it can be off by.
 */
struct guest_cal_run {
    uint64_t start_lo, start_hi, end_lo, end_hi;
};

static inline uint64_t guest_cal_ticks(const struct guest_cal_run *r)
{
    return ((r->end_lo + r->end_hi) - (r->start_lo + r->start_hi)) >> 1;
}

static inline uint64_t guest_cal_err(const struct guest_cal_run *r)
{
    return ((r->end_hi - r->end_lo) + (r->start_hi - r->start_lo) + 1u) >> 1;
}

/* Index of the run with the smallest error bound (n >= 1). */
static inline size_t guest_cal_best(const struct guest_cal_run *runs, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (guest_cal_err(&runs[i]) < guest_cal_err(&runs[best]))
            best = i;
    return best;
}

/* Milliseconds in `ticks` TSC ticks, rounded to nearest. */
static inline uint64_t guest_ticks_to_ms(uint64_t ticks, uint64_t tsc_hz)
{
    return guest_udiv64(ticks * 1000u + (tsc_hz >> 1), tsc_hz);
}

/* ------------------------------------------------------------------ */
/* Pacing                                                              */
/* ------------------------------------------------------------------ */

/*
 * The pacer hands out a deadline per batch of pages: batch k may start at
 * start + k * tsc_hz * batch_pages / (rate_mibps * 256) ticks, exactly (the
 * fraction is carried, Bresenham-style). A writer that falls behind (a
 * migration pause, post-copy page faults) does not burst to catch up by
 * more than max_lag ticks: the schedule slides instead.
 */
struct guest_pace {
    uint64_t deadline; /* TSC at which the next batch may start */
    uint64_t step_q;   /* whole ticks per batch */
    uint64_t step_r;   /* remainder of ticks per batch, over den */
    uint64_t den;      /* rate_mibps * 256 (pages per second) */
    uint64_t acc;      /* carried remainder */
    uint64_t max_lag;  /* ticks */
};

static inline void guest_pace_init(struct guest_pace *pc, uint64_t tsc_hz, uint32_t rate_mibps,
                                   uint32_t batch_pages, uint64_t now, uint64_t max_lag)
{
    pc->den = (uint64_t)rate_mibps * GUEST_PAGES_PER_MIB;
    pc->step_q = guest_udivmod64(tsc_hz * batch_pages, pc->den, &pc->step_r);
    pc->acc = 0;
    pc->deadline = now;
    pc->max_lag = max_lag;
}

/* Call after a batch was written at TSC `now`; returns the TSC at which
 * the next batch may start. */
static inline uint64_t guest_pace_next(struct guest_pace *pc, uint64_t now)
{
    pc->deadline += pc->step_q;
    pc->acc += pc->step_r;
    if (pc->acc >= pc->den) {
        pc->acc -= pc->den;
        pc->deadline++;
    }
    if (now > pc->deadline && now - pc->deadline > pc->max_lag)
        pc->deadline = now - pc->max_lag;
    return pc->deadline;
}

/* ------------------------------------------------------------------ */
/* A TSC that never goes back                                          */
/* ------------------------------------------------------------------ */

/*
 * Under TCG (QEMU 7.2), a guest that ends a long post-copy migration on the
 * destination can find its TSC restarted far behind where it was; a writer
 * waiting for the TSC to reach its next deadline then spins for minutes
 * (seen: over 240 s) without a write. The guest reads time through this
 * filter instead: a reading below the last one counts as no time at all,
 * and every later reading is shifted up by the jump. `back` returns how
 * many ticks the raw TSC went back on this reading (0 almost always), so
 * that the guest can say so on its serial port.
 */
struct guest_mono {
    uint64_t last; /* the last value handed out */
    uint64_t adj;  /* added to every raw reading */
};

static inline uint64_t guest_mono_read(struct guest_mono *m, uint64_t raw, uint64_t *back)
{
    uint64_t t = raw + m->adj;

    *back = 0;
    if (t < m->last) {
        *back = m->last - t;
        m->adj += *back;
        t = m->last;
    }
    m->last = t;
    return t;
}

/* ------------------------------------------------------------------ */
/* Time to write the last GiB                                          */
/* ------------------------------------------------------------------ */

/*
 * A ring of the TSC at each MiB boundary of the last GiB. ring[i % N] holds
 * the TSC at which MiB i was complete; ring[0] is the start.
 */
#define GUEST_GIB_RING (GUEST_GIB_MIB + 1u)

struct guest_gib {
    uint64_t ring[GUEST_GIB_RING];
    uint64_t start;
    uint32_t total_mib;
};

static inline void guest_gib_init(struct guest_gib *g, uint64_t now)
{
    g->start = now;
    g->total_mib = 0;
    g->ring[0] = now;
}

/* Records that one more MiB was complete at TSC `now`. */
static inline void guest_gib_mib_done(struct guest_gib *g, uint64_t now)
{
    g->total_mib++;
    g->ring[g->total_mib % GUEST_GIB_RING] = now;
}

/*
 * TSC ticks the last GiB of writes took, measured up to the last recorded
 * MiB. Before a full GiB was written it is extrapolated from what was:
 * elapsed * 1024 / total_mib. 0 before the first MiB.
 */
static inline uint64_t guest_gib_ticks(const struct guest_gib *g)
{
    uint32_t m = g->total_mib;
    uint64_t now = g->ring[m % GUEST_GIB_RING];
    if (m == 0)
        return 0;
    if (m < GUEST_GIB_MIB)
        return guest_udiv64((now - g->start) * GUEST_GIB_MIB, m);
    return now - g->ring[(m - GUEST_GIB_MIB) % GUEST_GIB_RING];
}

/* ------------------------------------------------------------------ */
/* Formatting                                                          */
/* ------------------------------------------------------------------ */

/* Writes v in decimal to buf (at least 21 bytes), NUL-terminated;
 * returns the length. */
static inline size_t guest_fmt_u64(char *buf, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        uint64_t r;
        v = guest_udivmod64(v, 10u, &r);
        tmp[n++] = (char)('0' + (int)r);
    } while (v != 0);
    for (size_t i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    buf[n] = '\0';
    return n;
}

#endif /* MD_GUEST_LIB_H */
