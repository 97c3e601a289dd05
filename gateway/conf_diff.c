/**
 * @file conf_diff.c  Which keys differ between two configurations
 *
 * Walks the schema (conf_schema.c), so every key the file format has is
 * compared and a key added to the schema is compared without more code.
 * A list whose length changed is reported as the list ("routes"); one of
 * the same length item by item ("trunks[1].password").
 */

#include <stdio.h>
#include <string.h>

#include "gateway/libre.h"
#include "gateway/conf_int.h"

#define AT(base, off, type) ((const type *)(const void *)\
			     ((const char *)(base) + (off)))

struct diff {
	gw_conf_diff_h *h;
	void *arg;
	unsigned n;
};


bool gw_str_same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}


/* unset addresses are equal; set ones by address and port */
static bool sa_eq(const struct sa *a, const struct sa *b)
{
	if (!sa_isset(a, SA_ADDR) || !sa_isset(b, SA_ADDR))
		return sa_isset(a, SA_ADDR) == sa_isset(b, SA_ADDR);

	return sa_cmp(a, b, SA_ALL);
}


static bool items_eq(const struct conf_key *k, const void *a, const void *b)
{
	size_t n = *AT(a, k->aux, size_t);
	const void *va = *AT(a, k->off, void *);
	const void *vb = *AT(b, k->off, void *);

	if (n != *AT(b, k->aux, size_t))
		return false;

	for (size_t i = 0; i < n; i++) {
		switch (k->type) {
		case CT_CIDRS: {
			const struct gw_cidr *x = &((const struct gw_cidr *)va)[i];
			const struct gw_cidr *y = &((const struct gw_cidr *)vb)[i];

			if (x->bits != y->bits || !sa_eq(&x->addr, &y->addr))
				return false;
			break;
		}
		case CT_LISTENS: {
			const struct gw_listen *x =
				&((const struct gw_listen *)va)[i];
			const struct gw_listen *y =
				&((const struct gw_listen *)vb)[i];

			if (x->tp != y->tp || !sa_eq(&x->addr, &y->addr))
				return false;
			break;
		}
		default:
			if (!gw_str_same(((char *const *)va)[i],
				    ((char *const *)vb)[i]))
				return false;
			break;
		}
	}

	return true;
}


static bool leaf_eq(const struct conf_key *k, const void *a, const void *b)
{
	switch (k->type) {
	case CT_BOOL:
		return *AT(a, k->off, bool) == *AT(b, k->off, bool);
	case CT_UINT:
	case CT_SECONDS:
		return *AT(a, k->off, uint32_t) == *AT(b, k->off, uint32_t);
	case CT_U16:
		return *AT(a, k->off, uint16_t) == *AT(b, k->off, uint16_t);
	case CT_DURATION:
	case CT_SIZE:
		return *AT(a, k->off, uint64_t) == *AT(b, k->off, uint64_t);
	case CT_PCT:
		return *AT(a, k->off, double) == *AT(b, k->off, double);
	case CT_STR:
		return gw_str_same(*AT(a, k->off, char *), *AT(b, k->off, char *));
	case CT_ENUM:
		return *AT(a, k->off, int) == *AT(b, k->off, int);
	case CT_ADDR_OR_OFF:
		if (*AT(a, k->aux, bool) != *AT(b, k->aux, bool))
			return false;
		/* fall through */
	case CT_IP:
	case CT_ADDR_PORT:
		return sa_eq(AT(a, k->off, struct sa), AT(b, k->off, struct sa));
	case CT_PORT_RANGE: {
		const struct gw_port_range *x = AT(a, k->off,
						   struct gw_port_range);
		const struct gw_port_range *y = AT(b, k->off,
						   struct gw_port_range);

		return x->first == y->first && x->last == y->last;
	}
	case CT_CIDRS:
	case CT_STRS:
	case CT_LISTENS:
		return items_eq(k, a, b);
	default:
		return true;
	}
}


static void walk(struct diff *df, const struct conf_key *keys, const void *a,
		 const void *b, const char *prefix)
{
	for (const struct conf_key *k = keys; k->name; k++) {
		char path[320];

		snprintf(path, sizeof(path), "%s%s%s", prefix,
			 *prefix ? "." : "", k->name);

		if (k->type == CT_MAP) {
			walk(df, k->sub, a, b, path);
		}
		else if (k->type == CT_LIST) {
			const struct conf_list *l = k->list;
			size_t n = *AT(a, l->count_off, size_t);
			const char *ia = *AT(a, k->off, char *);
			const char *ib = *AT(b, k->off, char *);

			if (n != *AT(b, l->count_off, size_t)) {
				++df->n;
				df->h(path, df->arg);
				continue;
			}

			for (size_t i = 0; i < n; i++) {
				char item[344];

				snprintf(item, sizeof(item), "%s[%zu]", path,
					 i);
				walk(df, l->keys, ia + i * l->item_size,
				     ib + i * l->item_size, item);
			}
		}
		else if (!leaf_eq(k, a, b)) {
			++df->n;
			df->h(path, df->arg);
		}
	}
}


unsigned gw_conf_diff(const struct gw_conf *a, const struct gw_conf *b,
		      gw_conf_diff_h *h, void *arg)
{
	struct diff df = {.h = h, .arg = arg};

	if (a && b && h)
		walk(&df, gw_conf_root_keys, a, b, "");

	return df.n;
}
