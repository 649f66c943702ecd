/*
 * guest.c - a tiny multiboot kernel that dirties memory at a set rate, for
 * live-migration tests. See README.rst next to it.
 *
 * Freestanding 32-bit C: no libc, no interrupts, no paging. Time comes from
 * the TSC, calibrated once against PIT channel 2; output goes to COM1.
 */
#include <stddef.h>
#include <stdint.h>

#include "guest_lib.h"

#define MB_BOOT_MAGIC 0x2BADB002u
#define MBI_FLAG_MEM (1u << 0)
#define MBI_FLAG_CMDLINE (1u << 2)
#define MBI_FLAG_MMAP (1u << 6)

#define COM1 0x3F8

#define BATCH_PAGES 16u       /* pages written between two pacer checks */
#define PIT_CAL_COUNTS 59659u /* 50 ms of PIT input clock */
#define MAX_LAG_MS 100u       /* most catch-up a late writer may do */

struct mb_info {
    uint32_t flags;
    uint32_t mem_lower; /* KiB below 1 MiB */
    uint32_t mem_upper; /* KiB above 1 MiB, up to the first hole */
    uint32_t boot_device;
    uint32_t cmdline;
    uint32_t mods_count;
    uint32_t mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length;
    uint32_t mmap_addr;
};

struct mb_mmap_entry {
    uint32_t size; /* of the rest of the entry */
    uint32_t base_lo, base_hi;
    uint32_t len_lo, len_hi;
    uint32_t type; /* 1 = available RAM */
} __attribute__((packed));

extern char _end[]; /* from guest.ld: the end of the kernel image and .bss */

void guest_main(uint32_t magic, const struct mb_info *mbi);

static char cmdline[256];
static struct guest_gib gib;

/* ------------------------------------------------------------------ */
/* Port I/O, TSC                                                       */
/* ------------------------------------------------------------------ */

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ __volatile__("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ __volatile__("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static inline void cpu_relax(void)
{
    __asm__ __volatile__("pause" ::: "memory");
}

static void __attribute__((noreturn)) halt(void)
{
    for (;;)
        __asm__ __volatile__("cli; hlt");
}

/* ------------------------------------------------------------------ */
/* COM1                                                                */
/* ------------------------------------------------------------------ */

static void serial_init(void)
{
    outb(COM1 + 1, 0x00); /* no interrupts */
    outb(COM1 + 3, 0x80); /* DLAB on */
    outb(COM1 + 0, 0x01); /* divisor 1: 115200 baud */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03); /* 8N1, DLAB off */
    outb(COM1 + 2, 0xC7); /* FIFO on, cleared */
    outb(COM1 + 4, 0x03); /* DTR, RTS */
}

static void putc_serial(char c)
{
    for (uint32_t i = 0; i < 1000000u && (inb(COM1 + 5) & 0x20) == 0; i++)
        cpu_relax();
    outb(COM1, (uint8_t)c);
}

static void puts_serial(const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '\n')
            putc_serial('\r');
        putc_serial(*s);
    }
}

static void putn_serial(const char *s, size_t n)
{
    for (size_t i = 0; i < n && s[i] != '\0'; i++)
        putc_serial(s[i]);
}

static void putu_serial(uint64_t v)
{
    char buf[21];
    guest_fmt_u64(buf, v);
    puts_serial(buf);
}

static void putx_serial(uint32_t v)
{
    puts_serial("0x");
    for (int i = 28; i >= 0; i -= 4)
        putc_serial("0123456789abcdef"[(v >> i) & 0xf]);
}

static void __attribute__((noreturn)) fail(const char *what)
{
    puts_serial("guest: error ");
    puts_serial(what);
    puts_serial("\n");
    halt();
}

/* ------------------------------------------------------------------ */
/* TSC calibration against PIT channel 2                               */
/* ------------------------------------------------------------------ */

/*
 * Times one mode-0 countdown of `counts` periods of PIT channel 2 with the
 * TSC, bracketing each port access by TSC reads: the countdown starts when
 * the second count byte is written and ends between the last poll of the
 * output that saw it low and the first that sees it high. Under (nested)
 * KVM every port access is a VM exit of varying length; the brackets say
 * how much that may have cost in accuracy. Returns -1 if the output never
 * rose.
 */
static int pit_measure(uint32_t counts, struct guest_cal_run *r)
{
    /* Gate of channel 2 on, speaker off. */
    outb(0x61, (uint8_t)((inb(0x61) & ~0x02) | 0x01));
    outb(0x43, 0xB0); /* channel 2, lobyte/hibyte, mode 0, binary */
    outb(0x42, (uint8_t)(counts & 0xff));
    r->start_lo = rdtsc();
    outb(0x42, (uint8_t)(counts >> 8));
    r->start_hi = rdtsc();
    uint64_t seen_low = r->start_lo;
    for (;;) {
        uint64_t before = rdtsc();
        uint8_t v = inb(0x61);
        uint64_t after = rdtsc();
        if (v & 0x20) {
            r->end_lo = seen_low;
            r->end_hi = after;
            return 0;
        }
        seen_low = before;
        if (after - r->start_lo > ((uint64_t)1 << 36)) /* ~20 s even at 3.4 GHz */
            return -1;
    }
}

#define CAL_MIN_RUNS 5
#define CAL_MAX_RUNS 20
#define CAL_GOOD_PPM 1000u

/* Calibrates the TSC; returns Hz and sets *err_ppm to the error bound of
 * the run used. Runs at least CAL_MIN_RUNS windows of 50 ms and keeps
 * going, up to CAL_MAX_RUNS, while none is better than CAL_GOOD_PPM. */
static uint64_t calibrate_tsc_hz(uint32_t *err_ppm)
{
    struct guest_cal_run runs[CAL_MAX_RUNS];
    size_t n = 0, best = 0;
    uint64_t ppm = 0;
    while (n < CAL_MAX_RUNS) {
        if (pit_measure(PIT_CAL_COUNTS, &runs[n]) != 0)
            fail("PIT channel 2 does not count: cannot calibrate the TSC");
        n++;
        best = guest_cal_best(runs, n);
        ppm = guest_udiv64(guest_cal_err(&runs[best]) * 1000000u, guest_cal_ticks(&runs[best]));
        if (n >= CAL_MIN_RUNS && ppm <= CAL_GOOD_PPM)
            break;
    }
    *err_ppm = ppm > 0xffffffffu ? 0xffffffffu : (uint32_t)ppm;
    return guest_tsc_hz(guest_cal_ticks(&runs[best]), PIT_CAL_COUNTS);
}

/* ------------------------------------------------------------------ */
/* Memory                                                              */
/* ------------------------------------------------------------------ */

/*
 * End (exclusive, below 4 GiB) of the available RAM region holding `addr`,
 * from the multiboot memory map, or from mem_upper without one; 0 when
 * the boot loader told us nothing.
 */
static uint64_t ram_end_at(const struct mb_info *mbi, uint32_t addr)
{
    if (mbi->flags & MBI_FLAG_MMAP) {
        uint32_t p = mbi->mmap_addr;
        uint32_t end = mbi->mmap_addr + mbi->mmap_length;
        uint64_t best = 0;
        while (p < end) {
            const struct mb_mmap_entry *e = (const struct mb_mmap_entry *)p;
            uint64_t base = ((uint64_t)e->base_hi << 32) | e->base_lo;
            uint64_t len = ((uint64_t)e->len_hi << 32) | e->len_lo;
            uint64_t top = base + len;
            if (top > ((uint64_t)1 << 32))
                top = (uint64_t)1 << 32;
            if (e->type == 1 && base <= addr && addr < top && top > best)
                best = top;
            p += e->size + 4;
        }
        return best;
    }
    if (mbi->flags & MBI_FLAG_MEM)
        return 0x100000u + (uint64_t)mbi->mem_upper * 1024u;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Main                                                                */
/* ------------------------------------------------------------------ */

static void report(uint64_t tsc_hz)
{
    puts_serial("guest: gib_ms=");
    putu_serial(guest_ticks_to_ms(guest_gib_ticks(&gib), tsc_hz));
    puts_serial(" total_gib=");
    putu_serial(gib.total_mib / GUEST_GIB_MIB);
    puts_serial(" total_mib=");
    putu_serial(gib.total_mib);
    puts_serial("\n");
}

/* The TSC through guest_mono: says on the serial port when it went back. */
static uint64_t mono_now(struct guest_mono *m, uint64_t tsc_hz)
{
    uint64_t back;
    uint64_t t = guest_mono_read(m, rdtsc(), &back);

    if (back != 0) {
        puts_serial("guest: tsc_back ms=");
        putu_serial(guest_ticks_to_ms(back, tsc_hz));
        puts_serial("\n");
    }
    return t;
}

void guest_main(uint32_t magic, const struct mb_info *mbi)
{
    serial_init();
    puts_serial("\nguest: start\n");
    if (magic != MB_BOOT_MAGIC)
        fail("not booted by a multiboot loader");

    /* Copy what we need out of the multiboot information first: it may lie
     * where the working set goes. */
    if (mbi->flags & MBI_FLAG_CMDLINE) {
        const char *src = (const char *)mbi->cmdline;
        size_t i = 0;
        for (; i + 1 < sizeof(cmdline) && src[i] != '\0'; i++)
            cmdline[i] = src[i];
        cmdline[i] = '\0';
    }

    struct guest_params prm;
    guest_params_default(&prm);
    const char *bad = NULL;
    size_t badlen = 0;
    enum guest_parse_result pr = guest_parse_cmdline(cmdline, &prm, &bad, &badlen);
    if (pr != GUEST_PARSE_OK) {
        puts_serial("guest: error ");
        puts_serial(pr == GUEST_PARSE_UNKNOWN     ? "unknown parameter '"
                    : pr == GUEST_PARSE_BAD_VALUE ? "not a decimal number: '"
                                                  : "out of range: '");
        putn_serial(bad, badlen);
        puts_serial("' (parameters: ws_mib=1..3072 rate_mibps=0..1000000 report_mib=1..1048576)\n");
        halt();
    }

    uint32_t ws_start = ((uint32_t)_end + 0xFFFFFu) & ~0xFFFFFu; /* next MiB */
    uint64_t ws_bytes = (uint64_t)prm.ws_mib << 20;
    uint64_t ram_end = ram_end_at(mbi, ws_start);
    if (ram_end == 0)
        fail("the boot loader gave no memory information");
    if (ws_start + ws_bytes > ram_end) {
        puts_serial("guest: error ws_mib=");
        putu_serial(prm.ws_mib);
        puts_serial(" does not fit: ");
        putu_serial(ram_end > ws_start ? (ram_end - ws_start) >> 20 : 0);
        puts_serial(" MiB of RAM from ");
        putx_serial(ws_start);
        puts_serial("\n");
        halt();
    }

    uint32_t cal_err_ppm;
    uint64_t tsc_hz = calibrate_tsc_hz(&cal_err_ppm);
    puts_serial("guest: boot ws_mib=");
    putu_serial(prm.ws_mib);
    puts_serial(" rate_mibps=");
    putu_serial(prm.rate_mibps);
    puts_serial(" report_mib=");
    putu_serial(prm.report_mib);
    puts_serial(" tsc_khz=");
    putu_serial(guest_udiv64(tsc_hz, 1000u));
    puts_serial(" ws_start=");
    putx_serial(ws_start);
    puts_serial(" ram_mib=");
    putu_serial(ram_end >> 20);
    puts_serial(" cal_err_ppm=");
    putu_serial(cal_err_ppm);
    puts_serial("\n");

    /* Fill the working set once at full speed, so that from "running" on
     * every page of it holds data and the paced loop only re-dirties. */
    volatile uint32_t *ws = (volatile uint32_t *)ws_start;
    const uint32_t pages = prm.ws_mib * GUEST_PAGES_PER_MIB;
    const uint32_t words_per_page = GUEST_PAGE_SIZE / sizeof(uint32_t);
    uint32_t counter = 1;
    uint64_t t0 = rdtsc();
    for (uint32_t pg = 0; pg < pages; pg++)
        ws[pg * words_per_page] = counter++;
    uint64_t t1 = rdtsc();
    puts_serial("guest: filled ws_mib=");
    putu_serial(prm.ws_mib);
    puts_serial(" ms=");
    putu_serial(guest_ticks_to_ms(t1 - t0, tsc_hz));
    puts_serial("\n");

    struct guest_pace pace;
    guest_pace_init(&pace, tsc_hz, prm.rate_mibps == 0 ? 1 : prm.rate_mibps, BATCH_PAGES, t1,
                    guest_udiv64(tsc_hz * MAX_LAG_MS, 1000u));
    guest_gib_init(&gib, t1);
    puts_serial("guest: running\n");

    struct guest_mono mono = { t1, 0 };
    uint32_t pg = 0;
    uint32_t mib_pages = 0;
    uint32_t next_report = prm.report_mib;
    for (;;) {
        for (uint32_t i = 0; i < BATCH_PAGES; i++) {
            ws[pg * words_per_page] = counter++;
            if (++pg == pages)
                pg = 0;
        }
        uint64_t now = mono_now(&mono, tsc_hz);
        mib_pages += BATCH_PAGES;
        if (mib_pages == GUEST_PAGES_PER_MIB) {
            mib_pages = 0;
            guest_gib_mib_done(&gib, now);
            if (gib.total_mib == next_report) {
                report(tsc_hz);
                next_report += prm.report_mib;
            }
        }
        if (prm.rate_mibps != 0) {
            uint64_t deadline = guest_pace_next(&pace, now);
            while (mono_now(&mono, tsc_hz) < deadline)
                cpu_relax();
        }
    }
}
