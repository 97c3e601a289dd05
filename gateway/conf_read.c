/**
 * @file conf_read.c  One key's value from its YAML node into the struct
 *
 * The scalar types of the schema (conf_int.h): booleans, numbers in range,
 * durations, sizes, enums, addresses, CIDRs and lists of them. The walker
 * (conf_parse.c) finds the node; this file reads it or says why not.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/libre.h"
#include "gateway/conf_int.h"

#define AT(base, off, type) ((type *)(void *)((char *)(base) + (off)))


static void fmt_ms(char *buf, size_t size, uint64_t ms)
{
	if (ms % 3600000 == 0 && ms)
		snprintf(buf, size, "%lluh", (unsigned long long)(ms / 3600000));
	else if (ms % 60000 == 0 && ms)
		snprintf(buf, size, "%llum", (unsigned long long)(ms / 60000));
	else if (ms % 1000 == 0)
		snprintf(buf, size, "%llus", (unsigned long long)(ms / 1000));
	else
		snprintf(buf, size, "%llums", (unsigned long long)ms);
}


static bool in_range(struct conf_parser *p, const struct conf_key *k,
		     yaml_node_t *n, uint64_t v, bool duration)
{
	char lo[32], hi[32];

	if (v >= k->min && v <= k->max)
		return true;

	if (duration) {
		fmt_ms(lo, sizeof(lo), k->min);
		fmt_ms(hi, sizeof(hi), k->max);
	}
	else {
		snprintf(lo, sizeof(lo), "%llu", (unsigned long long)k->min);
		snprintf(hi, sizeof(hi), "%llu", (unsigned long long)k->max);
	}

	if (v < k->min)
		conf_error(p, n, k->name, "%s is below the minimum %s",
			   conf_scalar(n), lo);
	else
		conf_error(p, n, k->name, "%s is above the maximum %s",
			   conf_scalar(n), hi);

	return false;
}


static void parse_enum(struct conf_parser *p, const struct conf_key *k,
		       yaml_node_t *n, void *base)
{
	char list[160] = "";

	for (int i = 0; k->names[i]; i++) {
		if (!strcmp(conf_scalar(n), k->names[i])) {
			*AT(base, k->off, int) = i;
			return;
		}
	}

	for (int i = 0; k->names[i]; i++) {
		size_t len = strlen(list);
		snprintf(list + len, sizeof(list) - len, "%s%s",
			 i ? ", " : "", k->names[i]);
	}

	conf_error(p, n, k->name, "'%s' is not one of: %s", conf_scalar(n), list);
}


/* One item of a CT_CIDRS / CT_STRS / CT_LISTENS list */
static bool parse_item(struct conf_parser *p, const struct conf_key *k,
		       yaml_node_t *n, void *array, size_t i, const char *ik)
{
	const char *why = "invalid value";

	if (n->type != YAML_SCALAR_NODE) {
		conf_error(p, n, ik, "expected a single value, not %s",
			   conf_node_kind(n));
		return false;
	}

	switch (k->type) {

	case CT_CIDRS:
		if (gw_conf_parse_cidr(conf_scalar(n),
				       &((struct gw_cidr *)array)[i], &why))
			goto bad;
		return true;

	case CT_LISTENS:
		if (gw_conf_parse_listen(conf_scalar(n),
					 &((struct gw_listen *)array)[i], &why))
			goto bad;
		return true;

	default:
		if (!*conf_scalar(n)) {
			why = "empty value";
			goto bad;
		}
		((char **)array)[i] = conf_strdup(p->conf, conf_scalar(n));
		return ((char **)array)[i] != NULL;
	}

 bad:
	conf_error(p, n, ik, "'%s': %s", conf_scalar(n), why);
	return false;
}


static void parse_scalar_list(struct conf_parser *p, const struct conf_key *k,
			      yaml_node_t *n, void *base)
{
	size_t count, size, used = 0;
	void *array;

	if (conf_is_null(n)) {
		*AT(base, k->aux, size_t) = 0;
		return;
	}

	if (k->scalar_ok && n->type == YAML_SCALAR_NODE) {
		array = conf_zalloc(p->conf, sizeof(char *));
		if (!array)
			return;
		if (parse_item(p, k, n, array, 0, k->name))
			++used;
		*AT(base, k->off, void *) = array;
		*AT(base, k->aux, size_t) = used;
		return;
	}

	if (!conf_sequence(p, k, n, &count))
		return;
	size = k->type == CT_CIDRS ? sizeof(struct gw_cidr) :
		k->type == CT_LISTENS ? sizeof(struct gw_listen) :
		sizeof(char *);

	array = conf_zalloc(p->conf, count * size);
	if (!array)
		return;

	for (size_t i = 0; i < count; i++) {
		yaml_node_t *it = yaml_document_get_node(
			p->doc, n->data.sequence.items.start[i]);
		char ik[96];

		snprintf(ik, sizeof(ik), "%s[%zu]", k->name, i);
		if (it && parse_item(p, k, it, array, used, ik))
			++used;
	}

	*AT(base, k->off, void *) = array;
	*AT(base, k->aux, size_t) = used;
}


void conf_read_value(struct conf_parser *p, const struct conf_key *k,
		     yaml_node_t *n, void *base)
{
	const char *why = "invalid value";
	uint64_t v;
	bool b;

	switch (k->type) {
	case CT_MAP:
	case CT_LIST:
	case CT_CIDRS:
	case CT_STRS:
	case CT_LISTENS:
		break;

	default:
		if (n->type != YAML_SCALAR_NODE) {
			conf_error(p, n, k->name,
				   "expected a single value, not %s",
				   conf_node_kind(n));
			return;
		}
		if (conf_is_null(n)) {
			conf_error(p, n, k->name, "has no value");
			return;
		}
		break;
	}

	switch (k->type) {

	case CT_BOOL:
		if (gw_conf_parse_bool(conf_scalar(n), &b, &why))
			goto bad;
		*AT(base, k->off, bool) = b;
		break;

	case CT_UINT:
	case CT_U16:
		if (gw_conf_parse_uint(conf_scalar(n), &v, &why))
			goto bad;
		if (!in_range(p, k, n, v, false))
			return;
		if (k->type == CT_U16)
			*AT(base, k->off, uint16_t) = (uint16_t)v;
		else
			*AT(base, k->off, uint32_t) = (uint32_t)v;
		break;

	case CT_SECONDS:
		if (gw_conf_parse_duration(conf_scalar(n), &v, &why))
			goto bad;
		if (v % 1000) {
			why = "must be a whole number of seconds";
			goto bad;
		}
		v /= 1000;
		if (!in_range(p, k, n, v, false))
			return;
		*AT(base, k->off, uint32_t) = (uint32_t)v;
		break;

	case CT_DURATION:
		if (gw_conf_parse_duration(conf_scalar(n), &v, &why))
			goto bad;
		if (!in_range(p, k, n, v, true))
			return;
		*AT(base, k->off, uint64_t) = v;
		break;

	case CT_SIZE:
		if (gw_conf_parse_size(conf_scalar(n), &v, &why))
			goto bad;
		if (!in_range(p, k, n, v, false))
			return;
		*AT(base, k->off, uint64_t) = v;
		break;

	case CT_PCT: {
		char *end;
		double d = strtod(conf_scalar(n), &end);

		if (*end || end == conf_scalar(n) || !(d >= 0.0 && d <= 100.0)) {
			why = "expected a percentage from 0 to 100";
			goto bad;
		}
		*AT(base, k->off, double) = d;
		break;
	}

	case CT_STR:
		*AT(base, k->off, char *) = conf_strdup(p->conf, conf_scalar(n));
		break;

	case CT_ENUM:
		parse_enum(p, k, n, base);
		break;

	case CT_IP:
		if (gw_conf_parse_ip(conf_scalar(n), AT(base, k->off, struct sa),
				     &why))
			goto bad;
		break;

	case CT_ADDR_PORT:
		if (gw_conf_parse_addr_port(conf_scalar(n),
					    AT(base, k->off, struct sa), &why))
			goto bad;
		break;

	case CT_ADDR_OR_OFF:
		if (0 == gw_conf_parse_bool(conf_scalar(n), &b, NULL) && !b) {
			*AT(base, k->aux, bool) = false;
			break;
		}
		if (gw_conf_parse_addr_port(conf_scalar(n),
					    AT(base, k->off, struct sa), &why)) {
			why = "expected off or ADDRESS:PORT such as "
				"127.0.0.1:8080";
			goto bad;
		}
		*AT(base, k->aux, bool) = true;
		break;

	case CT_PORT_RANGE:
		if (gw_conf_parse_port_range(conf_scalar(n),
					     AT(base, k->off,
						struct gw_port_range), &why))
			goto bad;
		break;

	case CT_CIDRS:
	case CT_STRS:
	case CT_LISTENS:
		parse_scalar_list(p, k, n, base);
		break;

	case CT_MAP:
	case CT_LIST:
		break;   /* the walker's, conf_parse.c */
	}

	return;

 bad:
	conf_error(p, n, k->name, "'%s': %s", conf_scalar(n), why);
}


