/* format.c - migrationctl's output: -f table|json|value and -c COLUMN, as openstackclient.
 *
 * Columns are the API's JSON member names (status, progress, dest_compute, ...), so that
 * what -c takes is exactly what `-f json` shows and what the API documents; no second set
 * of display names to learn or to keep in step. Values are printed as the API sent them
 * (bytes as bytes, times as the API's times): the table is for reading, json and value
 * for scripts, and a script must get the same number a person reads. */
#include "cli/migrationctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

mc_status mc_format_parse(const char *name, mc_format *out, mc_err *e)
{
    if (strcmp(name, "table") == 0)
        *out = MC_FORMAT_TABLE;
    else if (strcmp(name, "json") == 0)
        *out = MC_FORMAT_JSON;
    else if (strcmp(name, "value") == 0)
        *out = MC_FORMAT_VALUE;
    else
        return mc_err_set(e, MC_ERR_USAGE, "unknown format '%.64s': expected table, json or value",
                          name);
    return MC_OK;
}

const char *mc_value_text(json_object *v)
{
    if (!v)
        return "";
    if (json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    return json_object_to_json_string_ext(v,
                                          JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

const char *mc_member_text(json_object *o, const char *key)
{
    json_object *v = NULL;
    return o && json_object_object_get_ex(o, key, &v) ? mc_value_text(v) : "";
}

/* Characters (not bytes) of a UTF-8 string: what a terminal column counts. */
static size_t text_width(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* Prints s padded to width characters; a control character (a newline inside a message)
 * prints as a space, so that a cell stays on its line. */
static void put_cell(const char *s, size_t width)
{
    for (const char *p = s; *p; p++)
        putchar((unsigned char)*p < 0x20 ? ' ' : *p);
    for (size_t w = text_width(s); w < width; w++)
        putchar(' ');
}

static void put_rule(const size_t *widths, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        putchar('+');
        for (size_t w = 0; w < widths[i] + 2; w++)
            putchar('-');
    }
    puts("+");
}

static void put_row(const char *const *cells, const size_t *widths, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fputs("| ", stdout);
        put_cell(cells[i], widths[i]);
        putchar(' ');
    }
    puts("|");
}

/* The columns to print: -c's, checked against the members of the rows, or the defaults,
 * or every member of the first row. *cols is allocated (free()); *n their count. */
static mc_status pick_columns(const mc_output *o, json_object *rows, const char *const *defaults,
                              const char ***cols, size_t *n, mc_err *e)
{
    size_t nrows = json_object_array_length(rows), cap;
    json_object *first = nrows ? json_object_array_get_idx(rows, 0) : NULL;

    *n = 0;
    cap = 64;
    if (o->ncolumns > cap)
        cap = o->ncolumns;
    if (first && json_object_object_length(first) > (int)cap)
        cap = (size_t)json_object_object_length(first);
    if (!(*cols = calloc(cap, sizeof **cols)))
        return mc_err_set(e, MC_ERR_USAGE, "out of memory");
    if (o->ncolumns) {
        for (size_t i = 0; i < o->ncolumns; i++) {
            /* A column no row has is a typo; with no rows there is nothing to check. */
            if (first && !json_object_object_get_ex(first, o->columns[i], NULL)) {
                char names[700] = "";
                size_t len = 0;
                json_object_object_foreach(first, key, val) {
                    (void)val;
                    if (len < sizeof names)
                        len += (size_t)snprintf(names + len, sizeof names - len, "%s%s",
                                                len ? ", " : "", key);
                }
                free(*cols);
                *cols = NULL;
                return mc_err_set(e, MC_ERR_USAGE, "no column '%.64s'; the columns are: %s",
                                  o->columns[i], names);
            }
            (*cols)[(*n)++] = o->columns[i];
        }
    } else if (defaults) {
        for (; defaults[*n] && *n < cap; (*n)++)
            (*cols)[*n] = defaults[*n];
    } else if (first) {
        json_object_object_foreach(first, key, val) {
            (void)val;
            (*cols)[(*n)++] = key;
        }
    }
    return MC_OK;
}

static void print_json(json_object *v)
{
    puts(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PRETTY |
                                               JSON_C_TO_STRING_NOSLASHESCAPE |
                                               JSON_C_TO_STRING_SPACED));
}

mc_status mc_print_list(const mc_output *o, json_object *rows, const char *const *defaults,
                        mc_err *e)
{
    const char **cols = NULL;
    const char **cells = NULL;
    size_t *widths = NULL, n = 0, nrows = json_object_array_length(rows);
    json_object *out = NULL;
    mc_status st = pick_columns(o, rows, defaults, &cols, &n, e);

    if (st != MC_OK)
        goto cleanup;
    if (o->format == MC_FORMAT_JSON) {
        out = json_object_new_array();
        for (size_t r = 0; r < nrows; r++) {
            json_object *row = json_object_array_get_idx(rows, r), *v, *obj;
            obj = json_object_new_object();
            for (size_t i = 0; i < n; i++) {
                v = NULL;
                json_object_object_get_ex(row, cols[i], &v);
                json_object_object_add(obj, cols[i], json_object_get(v));
            }
            json_object_array_add(out, obj);
        }
        print_json(out);
        goto cleanup;
    }
    if (o->format == MC_FORMAT_VALUE) {
        for (size_t r = 0; r < nrows; r++) {
            json_object *row = json_object_array_get_idx(rows, r), *v;
            for (size_t i = 0; i < n; i++) {
                v = NULL;
                json_object_object_get_ex(row, cols[i], &v);
                printf("%s%s", i ? " " : "", mc_value_text(v));
            }
            putchar('\n');
        }
        goto cleanup;
    }
    widths = calloc(n ? n : 1, sizeof *widths);
    cells = calloc(n ? n : 1, sizeof *cells);
    if (!widths || !cells) {
        st = mc_err_set(e, MC_ERR_USAGE, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++)
        widths[i] = text_width(cols[i]);
    for (size_t r = 0; r < nrows; r++) {
        for (size_t i = 0; i < n; i++) {
            json_object *v = NULL;
            json_object_object_get_ex(json_object_array_get_idx(rows, r), cols[i], &v);
            size_t w = text_width(mc_value_text(v));
            if (w > widths[i])
                widths[i] = w;
        }
    }
    if (n == 0)
        goto cleanup; /* no columns (an empty list without defaults): nothing to draw */
    put_rule(widths, n);
    put_row(cols, widths, n);
    put_rule(widths, n);
    for (size_t r = 0; r < nrows; r++) {
        for (size_t i = 0; i < n; i++) {
            json_object *v = NULL;
            json_object_object_get_ex(json_object_array_get_idx(rows, r), cols[i], &v);
            cells[i] = mc_value_text(v);
        }
        put_row(cells, widths, n);
    }
    put_rule(widths, n);

cleanup:
    json_object_put(out);
    free(cols);
    free(cells);
    free(widths);
    return st;
}

mc_status mc_print_object(const mc_output *o, json_object *obj, mc_err *e)
{
    const char **cols = NULL;
    size_t n = 0;
    json_object *rows = json_object_new_array(), *out = NULL, *table = NULL;
    mc_status st;

    json_object_array_add(rows, json_object_get(obj));
    if ((st = pick_columns(o, rows, NULL, &cols, &n, e)) != MC_OK)
        goto cleanup;
    if (o->format == MC_FORMAT_JSON) {
        out = json_object_new_object();
        for (size_t i = 0; i < n; i++) {
            json_object *v = NULL;
            json_object_object_get_ex(obj, cols[i], &v);
            json_object_object_add(out, cols[i], json_object_get(v));
        }
        print_json(out);
    } else if (o->format == MC_FORMAT_VALUE) {
        for (size_t i = 0; i < n; i++) {
            json_object *v = NULL;
            json_object_object_get_ex(obj, cols[i], &v);
            puts(mc_value_text(v));
        }
    } else {
        /* One Field/Value row per member, openstackclient's show. */
        table = json_object_new_array();
        for (size_t i = 0; i < n; i++) {
            json_object *v = NULL, *row = json_object_new_object();
            json_object_object_get_ex(obj, cols[i], &v);
            json_object_object_add(row, "Field", json_object_new_string(cols[i]));
            json_object_object_add(row, "Value", json_object_get(v));
            json_object_array_add(table, row);
        }
        static const char *const field_value[] = { "Field", "Value", NULL };
        mc_output plain = { .format = MC_FORMAT_TABLE };
        st = mc_print_list(&plain, table, field_value, e);
    }

cleanup:
    json_object_put(table);
    json_object_put(out);
    json_object_put(rows);
    free(cols);
    return st;
}
