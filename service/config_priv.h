/* config_priv.h - what service/config.c (loading a file) and
 * service/config_keys.c (the table of keys, its defaults and setters) share.
 * Private to those two files.
 *
 * Nothing here blocks or keeps state: each function reads the constant table
 * or writes the md_config it is given, so any thread may call them on a
 * config it alone holds (in practice md_config_load() and
 * md_config_defaults(), at start).
 */
#ifndef MD_CONFIG_PRIV_H
#define MD_CONFIG_PRIV_H

#include <stdbool.h>
#include <stddef.h>

#include "service/config.h"

typedef enum key_type {
    KEY_INT,         /* int member; min/max bound the value */
    KEY_BOOL,        /* bool member */
    KEY_STRING,      /* char array member; min/max bound the length */
    KEY_ENUM,        /* enum member, set from a string by parse() */
    KEY_ROLES,       /* md_config_roles member; min/max bound the count */
    KEY_DOUBLE,      /* double member; dmin/dmax bound the value */
    KEY_SIM_DOMAINS, /* the simulator's list of domain groups */
} key_type;

/* Reports why a value is not acceptable by writing a phrase into why. */
typedef bool (*string_check_fn)(md_config *c, const char *value, char *why, size_t whylen);

typedef struct config_key {
    const char *section;
    const char *name;
    key_type type;
    size_t offset;                 /* of the member in md_config */
    size_t size;                   /* of the member: the capacity of a string */
    long long min, max;            /* see key_type */
    double dmin, dmax, def_double; /* KEY_DOUBLE */
    const char *unit;              /* KEY_INT: named in range messages; may be NULL */
    long long def_int;             /* KEY_INT, KEY_BOOL */
    /* KEY_STRING, KEY_ENUM: the default as written in a file; KEY_ROLES: the
     * names separated by commas; NULL: computed by md_config_defaults(). */
    const char *def_str;
    int (*parse)(const char *text, void *member); /* KEY_ENUM: 0 or -1 */
    const char *choices;                          /* KEY_ENUM: for messages */
    string_check_fn check;                        /* KEY_STRING: optional */
} config_key;

/* Returns the row of section.name, or with name NULL the first row of the
 * section (which tells whether the section exists); NULL if there is none.
 * The row is part of a static table: never freed. */
const config_key *cfg_find_key(const char *section, const char *name);

/* Returns the address of k's member in c. */
void *cfg_member(md_config *c, const config_key *k);

/* The setters shared by the defaults and the file. Each holds v to k's rules
 * (range, length, shape, choices) and on success stores it in c and returns
 * true; otherwise it writes a phrase saying why into why (whylen bytes,
 * always NUL-terminated), leaves c's member unchanged and returns false.
 * cfg_set_string() runs k's check, which may also set other members of c
 * (api.listen fills listen_host and listen_port). */
bool cfg_set_int(md_config *c, const config_key *k, long long v, char *why, size_t whylen);
bool cfg_set_double(md_config *c, const config_key *k, double v, char *why, size_t whylen);
bool cfg_set_string(md_config *c, const config_key *k, const char *v, char *why, size_t whylen);
bool cfg_set_enum(md_config *c, const config_key *k, const char *v, char *why, size_t whylen);

/* Returns whether name can be a role name; if not, writes why as above. */
bool cfg_role_name_ok(const char *name, char *why, size_t whylen);

/* Whether the file set key (a full "section.name"); ctx is the caller's. */
typedef bool (*cfg_is_set_fn)(const char *key, const void *ctx);

/* Gives every action class of the roles section (list, create, update,
 * abort) that is_set says the file did not set the roles of read or write,
 * as loaded, so that the older keys keep meaning what they meant and a class
 * set in the file overrides them. is_set NULL: none was set (the defaults). */
void cfg_resolve_role_classes(md_config *c, cfg_is_set_fn is_set, const void *ctx);

#endif
