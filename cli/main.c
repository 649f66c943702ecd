/* main.c - migrationctl's command line: the options, the help, the dispatch, the exit code.
 *
 * Options may come before or after the command and its arguments, as openstackclient's do
 * (`migrationctl show UUID -f json`, `migrationctl -f json show UUID`). Each command accepts
 * the global options and its own; another command's option is a usage error that names the
 * command's help, rather than being ignored. */
#include "cli/migrationctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MC_DEFAULT_URL "http://127.0.0.1:8775"

mc_status mc_err_set(mc_err *e, mc_status st, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return st;
}

/* ---- options ---------------------------------------------------------------------------- */

enum opt_id {
    O_URL,
    O_FORMAT,
    O_COLUMN,
    O_HELP,
    O_HTTP_TIMEOUT,
    O_STATUS,
    O_INSTANCE,
    O_HOST,
    O_TYPE,
    O_SINCE,
    O_BEFORE,
    O_LIMIT,
    O_MARKER,
    O_DEST_HOST,
    O_MAX_DOWNTIME,
    O_BANDWIDTH,
    O_POST_COPY,
    O_NO_POST_COPY,
    O_BLOCK,
    O_TIMEOUT_ACTION,
    O_WAIT,
    O_INTERVAL,
    O_TIMEOUT,
    O_DEST,
    O_DEADLINE,
    O_PARALLEL,
    O_EXCLUDE,
    O_STRICT,
    O_ABORT_RUNNING,
    O_COUNT
};

#define BIT(o) (1u << (o))
#define GLOBAL_OPTS (BIT(O_URL) | BIT(O_FORMAT) | BIT(O_COLUMN) | BIT(O_HELP) | BIT(O_HTTP_TIMEOUT))
#define WATCH_OPTS (BIT(O_INTERVAL) | BIT(O_TIMEOUT))
#define SETTING_OPTS \
    (BIT(O_MAX_DOWNTIME) | BIT(O_BANDWIDTH) | BIT(O_POST_COPY) | BIT(O_NO_POST_COPY))

static const struct option_def {
    const char *name;
    char letter;
    const char *arg; /* the argument's name in the help, or NULL for a flag */
    const char *help;
} options[O_COUNT] = {
    [O_URL] = { "url", 0, "URL",
                "migrationd's endpoint (default $MIGRATIOND_URL, else " MC_DEFAULT_URL ")" },
    [O_FORMAT] = { "format", 'f', "FORMAT", "output format: table (default), json or value" },
    [O_COLUMN] = { "column", 'c', "COLUMN",
                   "print only this column (repeatable; the API's field names)" },
    [O_HELP] = { "help", 'h', NULL, "show the help of the command" },
    [O_HTTP_TIMEOUT] = { "http-timeout", 0, "S",
                         "give up on one request after S seconds (default 30)" },
    [O_STATUS] = { "status", 0, "STATUS",
                   "only migrations in this status, e.g. running, \"running (post-copy)\"" },
    [O_INSTANCE] = { "instance", 0, "UUID",
                     "list: only this instance's migrations; drain start: a guest to move" },
    [O_HOST] = { "host", 0, "HOST", "only migrations from or to this compute host" },
    [O_TYPE] = { "type", 0, "TYPE", "only this migration_type (live-migration, migration, ...)" },
    [O_SINCE] = { "changes-since", 0, "TIME",
                  "only migrations updated at or after TIME (ISO 8601)" },
    [O_BEFORE] = { "changes-before", 0, "TIME",
                   "only migrations updated at or before TIME (ISO 8601)" },
    [O_LIMIT] = { "limit", 0, "N", "at most N records (one page); default: all, page by page" },
    [O_MARKER] = { "marker", 0, "UUID", "start after this record (the last of the previous page)" },
    [O_DEST_HOST] = { "dest-host", 0, "HOST",
                      "the address the migration stream goes to (default DEST)" },
    [O_MAX_DOWNTIME] = { "max-downtime", 0, "MS", "the maximum downtime allowed, in ms" },
    [O_BANDWIDTH] = { "bandwidth", 0, "MIBPS", "the bandwidth cap in MiB/s (0: none)" },
    [O_POST_COPY] = { "post-copy", 0, NULL,
                      "permit post-copy for this migration (drain: its guests)" },
    [O_NO_POST_COPY] = { "no-post-copy", 0, NULL, "do not permit post-copy for this migration" },
    [O_BLOCK] = { "block", 0, NULL, "block migration: copy the local disks too" },
    [O_TIMEOUT_ACTION] = { "timeout-action", 0, "ACTION",
                           "at the completion timeout: abort or force_complete" },
    [O_WAIT] = { "wait", 0, NULL,
                 "watch the migration (drain) until it ends (exit 0 only if it completes)" },
    [O_INTERVAL] = { "interval", 0, "S", "seconds between two polls (default 0.5)" },
    [O_TIMEOUT] = { "timeout", 0, "S", "give up after S seconds, exit 5 (default: never)" },
    [O_DEST] = { "dest", 0, "NAME", "a peer to move the guests to (repeatable, 1 to 16)" },
    [O_DEADLINE] = { "deadline", 0, "S", "every guest gone within S seconds (1 to 604800)" },
    [O_PARALLEL] = { "parallel", 0, "N",
                     "at most N migrations at once (1 to 16; default: the daemon's)" },
    [O_EXCLUDE] = { "exclude", 0, "GUEST", "leave this guest (name or UUID) here (repeatable)" },
    [O_STRICT] = { "strict", 0, NULL,
                   "refuse (409) or fail a deadline the plan cannot meet, instead of trying" },
    [O_ABORT_RUNNING] = { "abort-running", 0, NULL,
                          "on cancel, abort the guests' migrations in progress (else they end)" },
};

/* The options of each drain subcommand (the drain command takes their union). */
#define DRAIN_START_OPTS                                                                    \
    (BIT(O_DEST) | BIT(O_DEADLINE) | BIT(O_POST_COPY) | BIT(O_PARALLEL) | BIT(O_INSTANCE) | \
     BIT(O_EXCLUDE) | BIT(O_STRICT) | BIT(O_ABORT_RUNNING) | BIT(O_BLOCK) | BIT(O_WAIT) |   \
     WATCH_OPTS)
static const struct drain_sub {
    const char *name;
    unsigned opts;
} drain_subs[] = {
    { "start", DRAIN_START_OPTS },
    { "list", BIT(O_LIMIT) | BIT(O_MARKER) },
    { "show", 0 },
    { "events", 0 },
    { "cancel", BIT(O_ABORT_RUNNING) },
    { "watch", WATCH_OPTS },
};
#define DRAIN_OPTS (DRAIN_START_OPTS | BIT(O_LIMIT) | BIT(O_MARKER))

/* ---- commands --------------------------------------------------------------------------- */

typedef mc_status (*run_fn)(mc_client *c, const mc_args *a, mc_err *e);

static mc_status run_watch(mc_client *c, const mc_args *a, mc_err *e);
static mc_status run_force_complete(mc_client *c, const mc_args *a, mc_err *e);
static mc_status run_post_copy(mc_client *c, const mc_args *a, mc_err *e);
static mc_status run_recover(mc_client *c, const mc_args *a, mc_err *e);
static mc_status run_abort(mc_client *c, const mc_args *a, mc_err *e);

static const struct command {
    const char *name;
    const char *args;
    const char *summary;
    const char *help;
    unsigned opts;
    run_fn run;
} commands[] = {
    { "list", "[FILTERS]", "list migrations, newest first",
      "Lists the migrations of this node with the API's filters. Without --limit every page\n"
      "is fetched; with it, one page (then --marker the last UUID for the next one).\n"
      "Default columns: uuid status instance_name source_compute dest_compute progress\n"
      "created_at; -c takes any field of the record (see `show -f json`).",
      BIT(O_STATUS) | BIT(O_INSTANCE) | BIT(O_HOST) | BIT(O_TYPE) | BIT(O_SINCE) | BIT(O_BEFORE) |
          BIT(O_LIMIT) | BIT(O_MARKER),
      mc_cmd_list },
    { "show", "UUID", "show one migration with its live progress",
      "Shows every field of the record, with the live progress of a migration in progress.\n"
      "`show UUID -f value -c status` prints the status alone.",
      0, mc_cmd_show },
    { "events", "UUID", "show the timeline of a migration",
      "Lists the events of the migration, oldest first: each policy action and operator\n"
      "command with its reason, and each change of state.",
      0, mc_cmd_events },
    { "start", "INSTANCE DEST", "start a live migration",
      "Starts migrating INSTANCE (a libvirt domain name or UUID) to the compute host DEST\n"
      "and prints the new record (`-f value -c uuid`: its UUID alone). With --wait it\n"
      "watches the migration as `watch` does and exits 0 only when it completes.",
      SETTING_OPTS | BIT(O_DEST_HOST) | BIT(O_BLOCK) | BIT(O_TIMEOUT_ACTION) | BIT(O_WAIT) |
          WATCH_OPTS,
      mc_cmd_start },
    { "watch", "UUID", "follow a migration live until it ends",
      "Polls the migration until it ends. On a terminal: the state, a progress bar, memory\n"
      "and disk remaining, transfer and dirty rates, the iteration, the current downtime\n"
      "limit and the elapsed time, redrawn in place, with each new event printed above.\n"
      "Otherwise: a line per change and per event. Exits 0 when the migration completed,\n"
      "1 when it ended otherwise, 5 at --timeout. An unreachable daemon (a restart) is\n"
      "retried for 30 s.",
      WATCH_OPTS, run_watch },
    { "force-complete", "UUID", "finish a running migration now",
      "Asks migrationd to complete the migration: post-copy when it is permitted, else\n"
      "pausing the guest so that the rest is copied (PUT action force_complete).",
      0, run_force_complete },
    { "post-copy", "UUID", "switch a running migration to post-copy",
      "Switches the migration to post-copy now (PUT action post_copy); needs post-copy to be\n"
      "permitted for it.",
      0, run_post_copy },
    { "recover", "UUID", "resume a broken post-copy now",
      "Attempts to resume a broken post-copy at once, while it is being recovered or after\n"
      "it ended `error` (PUT action recover).",
      0, run_recover },
    { "abort", "UUID", "abort a migration",
      "Aborts the migration (PUT action abort): a queued one never reaches libvirt, a running\n"
      "one is cancelled and the guest stays on the source. Refused in post-copy.",
      0, run_abort },
    { "set", "UUID", "change a migration's settings",
      "Changes the maximum downtime or the bandwidth cap of a migration in progress, or\n"
      "whether post-copy is permitted (while it is queued).",
      SETTING_OPTS, mc_cmd_set },
    { "version", "", "show the versions of migrationctl and of the daemon",
      "Shows migrationctl's version, and migrationd's version, host, hypervisor and API\n"
      "versions from its version document (GET /).",
      0, mc_cmd_version },
    { "drain", "SUBCOMMAND [UUID]", "move every guest off this host by a deadline",
      "Drains this node: migrationd plans and runs the migrations of its guests to the peers\n"
      "by a deadline (order, parallelism, post-copy where needed), re-planning as they end.\n"
      "  drain start --dest NAME [--dest NAME ...] --deadline S [--post-copy] [--parallel N]\n"
      "              [--strict] [--instance GUEST ...] [--exclude GUEST ...] [--abort-running]\n"
      "              [--block] [--wait]\n"
      "                            start one (one at a time); prints the record\n"
      "  drain list [--limit N] [--marker UUID]      the drains, newest first\n"
      "  drain show UUID           the record: plan, counts, and a table of its guests\n"
      "  drain events UUID         its timeline: the plan, each re-plan, each guest\n"
      "  drain cancel UUID [--abort-running]\n"
      "                            start no more guests; running ones finish (or are aborted)\n"
      "  drain watch UUID          follow it live until it ends\n"
      "watch and start --wait exit 0 when the drain completed, 1 when it ended partial,\n"
      "cancelled or failed, 5 at --timeout. Each guest's migration is an ordinary one:\n"
      "`list`, `show` and `watch` work on it, and its record names the drain (drain_uuid).",
      DRAIN_OPTS, mc_cmd_drain },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static mc_status run_watch(mc_client *c, const mc_args *a, mc_err *e)
{
    if (a->npos != 1 || !mc_is_uuid(a->pos[0]))
        return mc_err_set(e, MC_ERR_USAGE, "watch takes one migration UUID");
    return mc_watch(c, a, a->pos[0], e);
}

static mc_status run_force_complete(mc_client *c, const mc_args *a, mc_err *e)
{
    return mc_cmd_action(c, a, "force_complete", e);
}

static mc_status run_post_copy(mc_client *c, const mc_args *a, mc_err *e)
{
    return mc_cmd_action(c, a, "post_copy", e);
}

static mc_status run_recover(mc_client *c, const mc_args *a, mc_err *e)
{
    return mc_cmd_action(c, a, "recover", e);
}

static mc_status run_abort(mc_client *c, const mc_args *a, mc_err *e)
{
    return mc_cmd_action(c, a, "abort", e);
}

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

/* ---- help ------------------------------------------------------------------------------- */

static void print_options(FILE *f, unsigned mask)
{
    char left[64];

    for (int o = 0; o < O_COUNT; o++) {
        if (!(mask & BIT(o)))
            continue;
        const struct option_def *d = &options[o];
        if (d->letter)
            snprintf(left, sizeof left, "-%c, --%s%s%s", d->letter, d->name, d->arg ? " " : "",
                     d->arg ? d->arg : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", d->name, d->arg ? " " : "",
                     d->arg ? d->arg : "");
        fprintf(f, "  %-28s %s\n", left, d->help);
    }
}

static void usage_all(FILE *f)
{
    fprintf(f, "usage: migrationctl [OPTIONS] COMMAND [ARGS] [OPTIONS]\n\n"
               "The command-line client of migrationd's REST API (/v1).\n\nCommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-16s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "  %-16s %s\n", "help [COMMAND]", "this help, or a command's");
    fprintf(f, "\nOptions of every command:\n");
    print_options(f, GLOBAL_OPTS);
    fprintf(f, "      --version                print migrationctl's version\n"
               "\nEnvironment (as openstackclient; an openrc file sets them):\n"
               "  MIGRATIOND_URL      the endpoint, when --url is not given\n"
               "  OS_TOKEN            a Keystone token to send as X-Auth-Token\n"
               "  OS_AUTH_URL         else: Keystone (v3), for a password login with\n"
               "  OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME (or OS_PROJECT_ID, or\n"
               "  OS_SYSTEM_SCOPE=all), OS_USER_DOMAIN_NAME, OS_PROJECT_DOMAIN_NAME (default:\n"
               "  the domain \"default\"), OS_CACERT (a CA bundle for https)\n"
               "  Neither OS_TOKEN nor OS_AUTH_URL: no token (a noauth daemon).\n"
               "\nExit codes:\n"
               "  0  done; watch and start --wait: the migration (drain) completed\n"
               "  1  the migration ended failed, cancelled or error; the drain partial,\n"
               "     cancelled or failed\n"
               "  2  wrong command line or environment\n"
               "  3  migrationd or Keystone unreachable, or authentication refused (401, 403)\n"
               "  4  migrationd refused the request (400, 404, 409, ...): its reason is printed\n"
               "  5  --timeout ran out while the migration was still in progress\n"
               "  6  not available in this migrationd (drain: one older than drains)\n");
}

static void usage_command(FILE *f, const struct command *cmd)
{
    fprintf(f, "usage: migrationctl %s %s%s[OPTIONS]\n\n%s\n", cmd->name, cmd->args,
            cmd->args[0] ? " " : "", cmd->help);
    if (cmd->opts) {
        fprintf(f, "\nOptions:\n");
        print_options(f, cmd->opts);
    }
    fprintf(f, "\nOptions of every command:\n");
    print_options(f, GLOBAL_OPTS);
    fprintf(f, "\nEnvironment and exit codes: migrationctl help\n");
}

/* ---- parsing ---------------------------------------------------------------------------- */

static mc_status parse_number(const char *opt, const char *s, double lo, double *out, mc_err *e)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!s[0] || *end || errno || v < lo)
        return mc_err_set(e, MC_ERR_USAGE, "--%s: '%.64s' is not a number of at least %g", opt, s,
                          lo);
    *out = v;
    return MC_OK;
}

static mc_status parse_integer(const char *opt, const char *s, long long *out, mc_err *e)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!s[0] || *end || errno || v < 0)
        return mc_err_set(e, MC_ERR_USAGE, "--%s: '%.64s' is not a non-negative integer", opt, s);
    *out = v;
    return MC_OK;
}

/* Everything the command line says. */
typedef struct cmdline {
    const struct command *cmd;
    const char *url;
    double http_timeout;
    bool help, version;
    unsigned given; /* the options given, as BIT(O_...) */
    mc_args a;
} cmdline;

/* Stores option o's value. */
static mc_status set_option(cmdline *l, int o, const char *v, mc_err *e)
{
    mc_args *a = &l->a;
    double d = 0;
    mc_status st = MC_OK;

    switch (o) {
    case O_URL: l->url = v; break;
    case O_FORMAT: st = mc_format_parse(v, &a->out.format, e); break;
    case O_COLUMN:
        if (a->out.ncolumns + 1 >= sizeof a->out.columns / sizeof a->out.columns[0])
            return mc_err_set(e, MC_ERR_USAGE, "too many -c columns");
        a->out.columns[a->out.ncolumns++] = v;
        break;
    case O_HELP: l->help = true; break;
    case O_HTTP_TIMEOUT: st = parse_number(options[o].name, v, 1, &l->http_timeout, e); break;
    case O_STATUS: a->status = v; break;
    case O_INSTANCE:
        /* list's filter takes the last; drain start takes them all. */
        a->instance = v;
        if (a->ninstances >= sizeof a->instances / sizeof a->instances[0])
            return mc_err_set(e, MC_ERR_USAGE, "at most 1000 --instance");
        a->instances[a->ninstances++] = v;
        break;
    case O_EXCLUDE:
        if (a->nexclude >= sizeof a->exclude / sizeof a->exclude[0])
            return mc_err_set(e, MC_ERR_USAGE, "at most 1000 --exclude");
        a->exclude[a->nexclude++] = v;
        break;
    case O_DEST:
        if (a->ndests >= sizeof a->dests / sizeof a->dests[0])
            return mc_err_set(e, MC_ERR_USAGE, "at most 16 --dest");
        a->dests[a->ndests++] = v;
        break;
    case O_DEADLINE: st = parse_integer(options[o].name, v, &a->deadline, e); break;
    case O_PARALLEL: st = parse_integer(options[o].name, v, &a->parallel, e); break;
    case O_STRICT: a->strict = true; break;
    case O_ABORT_RUNNING: a->abort_running = true; break;
    case O_HOST: a->host = v; break;
    case O_TYPE: a->type = v; break;
    case O_SINCE: a->changes_since = v; break;
    case O_BEFORE: a->changes_before = v; break;
    case O_LIMIT: st = parse_integer(options[o].name, v, &a->limit, e); break;
    case O_MARKER: a->marker = v; break;
    case O_DEST_HOST: a->dest_host = v; break;
    case O_MAX_DOWNTIME: st = parse_integer(options[o].name, v, &a->max_downtime, e); break;
    case O_BANDWIDTH: st = parse_integer(options[o].name, v, &a->bandwidth, e); break;
    case O_POST_COPY: a->post_copy = 1; break;
    case O_NO_POST_COPY: a->post_copy = 0; break;
    case O_BLOCK: a->block = true; break;
    case O_TIMEOUT_ACTION: a->timeout_action = v; break;
    case O_WAIT: a->wait = true; break;
    case O_INTERVAL:
        st = parse_number(options[o].name, v, 0.1, &d, e);
        a->interval_s = d;
        break;
    case O_TIMEOUT:
        st = parse_number(options[o].name, v, 0, &d, e);
        a->timeout_s = d;
        break;
    default: break;
    }
    return st;
}

/* Finds the option of "--name" or "-x"; -1 when there is none. */
static int lookup_option(const char *arg)
{
    for (int o = 0; o < O_COUNT; o++) {
        if (arg[1] == '-' ? strcmp(arg + 2, options[o].name) == 0
                          : options[o].letter && arg[1] == options[o].letter)
            return o;
    }
    return -1;
}

static mc_status parse(int argc, char **argv, cmdline *l, mc_err *e)
{
    bool only_positional = false;

    for (int i = 1; i < argc; i++) {
        char *arg = argv[i], *value = NULL, name[64];
        if (only_positional || arg[0] != '-' || arg[1] == '\0') {
            if (!l->cmd) {
                if (strcmp(arg, "help") == 0) {
                    l->help = true;
                    if (i + 1 < argc && !(l->cmd = find_command(argv[i + 1])))
                        return mc_err_set(e, MC_ERR_USAGE,
                                          "no command '%.64s'; see: migrationctl help",
                                          argv[i + 1]);
                    return MC_OK;
                }
                if (!(l->cmd = find_command(arg)))
                    return mc_err_set(e, MC_ERR_USAGE, "no command '%.64s'; see: migrationctl help",
                                      arg);
            } else if (l->a.npos < sizeof l->a.pos / sizeof l->a.pos[0]) {
                l->a.pos[l->a.npos++] = arg;
            } else {
                return mc_err_set(e, MC_ERR_USAGE, "too many arguments for %s", l->cmd->name);
            }
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            only_positional = true;
            continue;
        }
        if (strcmp(arg, "--version") == 0) {
            l->version = true;
            continue;
        }
        /* --name=value, --name value, -x value, -xvalue */
        snprintf(name, sizeof name, "%s", arg);
        if (arg[1] == '-' && strchr(name, '=')) {
            *strchr(name, '=') = '\0';
            value = strchr(arg, '=') + 1;
        } else if (arg[1] != '-' && arg[2]) {
            name[2] = '\0';
            value = arg + 2;
        }
        int o = lookup_option(name);
        if (o < 0)
            return mc_err_set(e, MC_ERR_USAGE, "unknown option %.64s%s%s", name,
                              l->cmd ? "; see: migrationctl help " : "",
                              l->cmd ? l->cmd->name : "");
        unsigned allowed = GLOBAL_OPTS | (l->cmd ? l->cmd->opts : 0);
        if (!(allowed & BIT(o)) && !l->cmd)
            return mc_err_set(e, MC_ERR_USAGE, "--%s goes after the command it belongs to",
                              options[o].name);
        if (!(allowed & BIT(o)))
            return mc_err_set(e, MC_ERR_USAGE, "%s does not take --%s; see: migrationctl help %s",
                              l->cmd->name, options[o].name, l->cmd->name);
        if (options[o].arg && !value) {
            if (i + 1 >= argc)
                return mc_err_set(e, MC_ERR_USAGE, "--%s needs a value (%s)", options[o].name,
                                  options[o].arg);
            value = argv[++i];
        } else if (!options[o].arg && value) {
            return mc_err_set(e, MC_ERR_USAGE, "--%s takes no value", options[o].name);
        }
        mc_status st = set_option(l, o, value, e);
        if (st != MC_OK)
            return st;
        l->given |= BIT(o);
    }
    return MC_OK;
}

/* A drain subcommand takes its own options only (the drain command accepts their union):
 * `drain list --dest X` is a usage error that names the subcommand. */
static mc_status check_drain_options(const cmdline *l, mc_err *e)
{
    if (l->help || !l->cmd || l->cmd->run != mc_cmd_drain || l->a.npos == 0)
        return MC_OK;
    for (size_t i = 0; i < sizeof drain_subs / sizeof drain_subs[0]; i++) {
        if (strcmp(drain_subs[i].name, l->a.pos[0]) != 0)
            continue;
        unsigned extra = l->given & ~(GLOBAL_OPTS | drain_subs[i].opts);
        for (int o = 0; o < O_COUNT; o++)
            if (extra & BIT(o))
                return mc_err_set(e, MC_ERR_USAGE,
                                  "drain %s does not take --%s; see: migrationctl help drain",
                                  drain_subs[i].name, options[o].name);
    }
    return MC_OK;
}

int main(int argc, char **argv)
{
    cmdline l = { .http_timeout = 30,
                  .a = { .limit = -1,
                         .max_downtime = -1,
                         .bandwidth = -1,
                         .post_copy = -1,
                         .deadline = -1,
                         .parallel = -1 } };
    mc_client c = { 0 };
    mc_err e = { "" };
    bool http = false;
    mc_status st = parse(argc, argv, &l, &e);

    if (st == MC_OK)
        st = check_drain_options(&l, &e);
    if (st != MC_OK)
        goto cleanup;
    if (l.version) {
        printf("migrationctl %s\n", MD_VERSION);
        goto cleanup;
    }
    if (l.help || !l.cmd) {
        if (l.cmd)
            usage_command(stdout, l.cmd);
        else
            usage_all(l.help ? stdout : stderr);
        st = l.help ? MC_OK : MC_ERR_USAGE;
        goto cleanup;
    }
    const char *env_url = getenv("MIGRATIOND_URL");
    const char *url = l.url ? l.url : env_url && *env_url ? env_url : MC_DEFAULT_URL;
    if ((st = mc_client_init(&c, url, (long)l.http_timeout, &e)) != MC_OK)
        goto cleanup;
    if ((st = mc_http_global_init(&e)) != MC_OK)
        goto cleanup;
    http = true;
    st = l.cmd->run(&c, &l.a, &e);

cleanup:
    fflush(stdout);
    if (st != MC_OK)
        fprintf(stderr, "migrationctl: %s\n", e.msg);
    mc_client_free(&c);
    if (http)
        mc_http_global_cleanup();
    return (int)st;
}
