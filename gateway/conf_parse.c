/**
 * @file conf_parse.c  Walks a YAML document against the schema
 *
 * libyaml's document API gives every node with its start mark, so each
 * error names FILE:LINE:COL and the key path. Parsing never stops at the
 * first error: the operator gets every problem of the file in one run.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/libre.h"
#include "gateway/conf_int.h"

enum { ERR_LINE_MAX = 512 };

#define AT(base, off, type) ((type *)(void *)((char *)(base) + (off)))


void conf_error(struct conf_parser *p, const yaml_node_t *node,
		const char *key, const char *fmt, ...)
{
	char msg[ERR_LINE_MAX], line[ERR_LINE_MAX + 320];
	char path[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	if (key && *key && p->path[0])
		snprintf(path, sizeof(path), "%s.%s", p->path, key);
	else
		snprintf(path, sizeof(path), "%s",
			 key && *key ? key : p->path);

	if (node)
		snprintf(line, sizeof(line), "%s:%zu:%zu: %s: %s", p->file,
			 node->start_mark.line + 1,
			 node->start_mark.column + 1,
			 path[0] ? path : "(top level)", msg);
	else
		snprintf(line, sizeof(line), "%s: %s: %s", p->file,
			 path[0] ? path : "(top level)", msg);

	++p->errors;
	p->eh(line, p->arg);
}


static const char *scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}


/* "key:" with nothing after it, "~" or "null", unquoted */
static bool is_null(const yaml_node_t *n)
{
	const char *s;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;

	s = scalar(n);

	return !*s || !strcmp(s, "~") || !strcmp(s, "null") ||
		!strcmp(s, "Null") || !strcmp(s, "NULL");
}


static const char *node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SEQUENCE_NODE: return "a list";
	case YAML_MAPPING_NODE:  return "a mapping";
	default:                 return "a single value";
	}
}


yaml_node_t *conf_map_get(struct conf_parser *p, yaml_node_t *map,
			  const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;

	for (yaml_node_pair_t *pr = map->data.mapping.pairs.start;
	     pr < map->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(p->doc, pr->key);

		if (k && k->type == YAML_SCALAR_NODE && !strcmp(scalar(k), key))
			return yaml_document_get_node(p->doc, pr->value);
	}

	return NULL;
}


/* Allocation failures set conf->oom and return NULL; the walker carries
 * on and gw_conf_load() fails with ENOMEM at the end. A SIGHUP reload runs
 * this at runtime, where aborting is not an option. */
void *conf_zalloc(struct gw_conf *conf, size_t size)
{
	void *m;

	if (conf->n_owned == conf->cap_owned) {
		size_t cap = conf->cap_owned ? conf->cap_owned * 2 : 32;
		void **v = realloc(conf->owned, cap * sizeof(*v));

		if (!v) {
			conf->oom = true;
			return NULL;
		}

		conf->owned = v;
		conf->cap_owned = cap;
	}

	m = mem_zalloc(size ? size : 1, NULL);
	if (!m) {
		conf->oom = true;
		return NULL;
	}

	conf->owned[conf->n_owned++] = m;

	return m;
}


char *conf_strdup(struct gw_conf *conf, const char *s)
{
	size_t len = strlen(s);
	char *d = conf_zalloc(conf, len + 1);

	if (d)
		memcpy(d, s, len);

	return d;
}


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
			   scalar(n), lo);
	else
		conf_error(p, n, k->name, "%s is above the maximum %s",
			   scalar(n), hi);

	return false;
}


static void parse_enum(struct conf_parser *p, const struct conf_key *k,
		       yaml_node_t *n, void *base)
{
	char list[160] = "";

	for (int i = 0; k->names[i]; i++) {
		if (!strcmp(scalar(n), k->names[i])) {
			*AT(base, k->off, int) = i;
			return;
		}
	}

	for (int i = 0; k->names[i]; i++) {
		size_t len = strlen(list);
		snprintf(list + len, sizeof(list) - len, "%s%s",
			 i ? ", " : "", k->names[i]);
	}

	conf_error(p, n, k->name, "'%s' is not one of: %s", scalar(n), list);
}


/* One item of a CT_CIDRS / CT_STRS / CT_LISTENS list */
static bool parse_item(struct conf_parser *p, const struct conf_key *k,
		       yaml_node_t *n, void *array, size_t i, const char *ik)
{
	const char *why = "invalid value";

	if (n->type != YAML_SCALAR_NODE) {
		conf_error(p, n, ik, "expected a single value, not %s",
			   node_kind(n));
		return false;
	}

	switch (k->type) {

	case CT_CIDRS:
		if (gw_conf_parse_cidr(scalar(n),
				       &((struct gw_cidr *)array)[i], &why))
			goto bad;
		return true;

	case CT_LISTENS:
		if (gw_conf_parse_listen(scalar(n),
					 &((struct gw_listen *)array)[i], &why))
			goto bad;
		return true;

	default:
		if (!*scalar(n)) {
			why = "empty value";
			goto bad;
		}
		((char **)array)[i] = conf_strdup(p->conf, scalar(n));
		return ((char **)array)[i] != NULL;
	}

 bad:
	conf_error(p, n, ik, "'%s': %s", scalar(n), why);
	return false;
}


static void parse_scalar_list(struct conf_parser *p, const struct conf_key *k,
			      yaml_node_t *n, void *base)
{
	size_t count, size, used = 0;
	void *array;

	if (is_null(n)) {
		*AT(base, k->aux, size_t) = 0;
		return;
	}

	if (n->type != YAML_SEQUENCE_NODE) {
		conf_error(p, n, k->name, "expected a list, not %s",
			   node_kind(n));
		return;
	}

	count = (size_t)(n->data.sequence.items.top -
			 n->data.sequence.items.start);
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


static void parse_map(struct conf_parser *p, yaml_node_t *map,
		      const struct conf_key *keys, void *base);


/* Descend into a sub-path for the duration of a nested parse */
static size_t path_push(struct conf_parser *p, const char *name)
{
	size_t len = strlen(p->path);

	snprintf(p->path + len, sizeof(p->path) - len, "%s%s",
		 len ? "." : "", name);

	return len;
}


static void parse_list(struct conf_parser *p, const struct conf_key *k,
		       yaml_node_t *n, void *base)
{
	const struct conf_list *l = k->list;
	size_t count;
	char *items;

	if (is_null(n))
		return;

	if (n->type != YAML_SEQUENCE_NODE) {
		conf_error(p, n, k->name, "expected a list, not %s",
			   node_kind(n));
		return;
	}

	count = (size_t)(n->data.sequence.items.top -
			 n->data.sequence.items.start);
	items = conf_zalloc(p->conf, count * l->item_size);
	if (!items)
		return;

	for (size_t i = 0; i < count; i++) {
		yaml_node_t *it = yaml_document_get_node(
			p->doc, n->data.sequence.items.start[i]);
		void *item = items + i * l->item_size;
		char name[96];
		size_t saved;

		snprintf(name, sizeof(name), "%s[%zu]", k->name, i);

		if (l->init)
			l->init(p, item);

		saved = path_push(p, name);
		parse_map(p, it, l->keys, item);
		if (l->check && it && it->type == YAML_MAPPING_NODE)
			l->check(p, item, it);
		p->path[saved] = '\0';
	}

	*AT(base, k->off, void *) = items;
	*AT(base, l->count_off, size_t) = count;
}


static void parse_value(struct conf_parser *p, const struct conf_key *k,
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
				   node_kind(n));
			return;
		}
		if (is_null(n)) {
			conf_error(p, n, k->name, "has no value");
			return;
		}
		break;
	}

	switch (k->type) {

	case CT_BOOL:
		if (gw_conf_parse_bool(scalar(n), &b, &why))
			goto bad;
		*AT(base, k->off, bool) = b;
		break;

	case CT_UINT:
	case CT_U16:
		if (gw_conf_parse_uint(scalar(n), &v, &why))
			goto bad;
		if (!in_range(p, k, n, v, false))
			return;
		if (k->type == CT_U16)
			*AT(base, k->off, uint16_t) = (uint16_t)v;
		else
			*AT(base, k->off, uint32_t) = (uint32_t)v;
		break;

	case CT_SECONDS:
		if (gw_conf_parse_duration(scalar(n), &v, &why))
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
		if (gw_conf_parse_duration(scalar(n), &v, &why))
			goto bad;
		if (!in_range(p, k, n, v, true))
			return;
		*AT(base, k->off, uint64_t) = v;
		break;

	case CT_SIZE:
		if (gw_conf_parse_size(scalar(n), &v, &why))
			goto bad;
		if (!in_range(p, k, n, v, false))
			return;
		*AT(base, k->off, uint64_t) = v;
		break;

	case CT_PCT: {
		char *end;
		double d = strtod(scalar(n), &end);

		if (*end || end == scalar(n) || !(d >= 0.0 && d <= 100.0)) {
			why = "expected a percentage from 0 to 100";
			goto bad;
		}
		*AT(base, k->off, double) = d;
		break;
	}

	case CT_STR:
		*AT(base, k->off, char *) = conf_strdup(p->conf, scalar(n));
		break;

	case CT_ENUM:
		parse_enum(p, k, n, base);
		break;

	case CT_IP:
		if (gw_conf_parse_ip(scalar(n), AT(base, k->off, struct sa),
				     &why))
			goto bad;
		break;

	case CT_ADDR_PORT:
		if (gw_conf_parse_addr_port(scalar(n),
					    AT(base, k->off, struct sa), &why))
			goto bad;
		break;

	case CT_ADDR_OR_OFF:
		if (0 == gw_conf_parse_bool(scalar(n), &b, NULL) && !b) {
			*AT(base, k->aux, bool) = false;
			break;
		}
		if (gw_conf_parse_addr_port(scalar(n),
					    AT(base, k->off, struct sa), &why)) {
			why = "expected off or ADDRESS:PORT such as "
				"127.0.0.1:8080";
			goto bad;
		}
		*AT(base, k->aux, bool) = true;
		break;

	case CT_PORT_RANGE:
		if (gw_conf_parse_port_range(scalar(n),
					     AT(base, k->off,
						struct gw_port_range), &why))
			goto bad;
		break;

	case CT_CIDRS:
	case CT_STRS:
	case CT_LISTENS:
		parse_scalar_list(p, k, n, base);
		break;

	case CT_MAP: {
		size_t saved;

		if (is_null(n))
			break;  /* "section:" alone keeps the defaults */

		saved = path_push(p, k->name);
		parse_map(p, n, k->sub, base);
		if (k->check && n->type == YAML_MAPPING_NODE)
			k->check(p, base, n);
		p->path[saved] = '\0';
		break;
	}

	case CT_LIST:
		parse_list(p, k, n, base);
		break;
	}

	return;

 bad:
	conf_error(p, n, k->name, "'%s': %s", scalar(n), why);
}


static void parse_map(struct conf_parser *p, yaml_node_t *map,
		      const struct conf_key *keys, void *base)
{
	if (!map)
		return;

	if (map->type != YAML_MAPPING_NODE) {
		conf_error(p, map, NULL, "expected a mapping of keys, not %s",
			   node_kind(map));
		return;
	}

	/* unknown and repeated keys, in file order */
	for (yaml_node_pair_t *pr = map->data.mapping.pairs.start;
	     pr < map->data.mapping.pairs.top; pr++) {
		yaml_node_t *kn = yaml_document_get_node(p->doc, pr->key);
		const struct conf_key *k;

		if (!kn || kn->type != YAML_SCALAR_NODE) {
			conf_error(p, kn, NULL, "a key must be a plain name");
			continue;
		}

		for (k = keys; k->name; k++) {
			if (!strcmp(k->name, scalar(kn)))
				break;
		}
		if (!k->name)
			conf_error(p, kn, scalar(kn), "unknown key");

		for (yaml_node_pair_t *q = map->data.mapping.pairs.start;
		     q < pr; q++) {
			yaml_node_t *qk = yaml_document_get_node(p->doc,
								 q->key);
			if (qk && qk->type == YAML_SCALAR_NODE &&
			    !strcmp(scalar(qk), scalar(kn))) {
				conf_error(p, kn, scalar(kn),
					   "key appears more than once "
					   "(first at line %zu)",
					   qk->start_mark.line + 1);
				break;
			}
		}
	}

	/* known keys, in schema order: a section that others depend on
	 * (session_timer before trunks, trunks before routes) comes first */
	for (const struct conf_key *k = keys; k->name; k++) {
		yaml_node_t *v = conf_map_get(p, map, k->name);

		if (v)
			parse_value(p, k, v, base);
		else if (k->required)
			conf_error(p, map, NULL, "missing required key '%s'",
				   k->name);
	}
}


static void conf_destructor(void *data)
{
	struct gw_conf *conf = data;

	for (size_t i = 0; i < conf->n_owned; i++)
		mem_deref(conf->owned[i]);

	free(conf->owned);
}


static struct gw_conf *conf_new(void)
{
	struct gw_conf *conf = mem_zalloc(sizeof(*conf), conf_destructor);

	if (!conf)
		return NULL;

	gw_conf_set_defaults(conf);
	if (conf->oom)
		return mem_deref(conf);

	return conf;
}


int gw_conf_default(struct gw_conf **confp)
{
	struct gw_conf *conf;

	if (!confp)
		return EINVAL;

	conf = conf_new();
	if (!conf)
		return ENOMEM;

	gw_conf_set_builtin(conf);
	if (conf->oom) {
		mem_deref(conf);
		return ENOMEM;
	}

	*confp = conf;

	return 0;
}


static void yaml_syntax_error(struct conf_parser *p, yaml_parser_t *yp)
{
	char line[ERR_LINE_MAX];

	snprintf(line, sizeof(line), "%s:%zu:%zu: YAML syntax error: %s%s%s",
		 p->file, yp->problem_mark.line + 1,
		 yp->problem_mark.column + 1,
		 yp->problem ? yp->problem : "unreadable",
		 yp->context ? " " : "", yp->context ? yp->context : "");

	++p->errors;
	p->eh(line, p->arg);
}


static void err_nop(const char *line, void *arg)
{
	(void)line;
	(void)arg;
}


int gw_conf_load(struct gw_conf **confp, const char *path,
		 gw_conf_err_h *eh, void *arg)
{
	struct conf_parser p = {.file = path, .eh = eh ? eh : err_nop,
				.arg = arg};
	yaml_document_t doc, extra;
	yaml_parser_t yp;
	yaml_node_t *root;
	struct gw_conf *conf;
	bool have_doc = false;
	FILE *f;
	int err = 0;

	if (!confp || !path)
		return EINVAL;

	f = fopen(path, "r");
	if (!f) {
		char line[ERR_LINE_MAX];

		err = errno;
		snprintf(line, sizeof(line), "%s: cannot read: %s", path,
			 strerror(err));
		p.eh(line, p.arg);
		return err;
	}

	conf = conf_new();
	if (!conf) {
		fclose(f);
		return ENOMEM;
	}
	conf->path = conf_strdup(conf, path);
	p.conf = conf;

	yaml_parser_initialize(&yp);
	yaml_parser_set_input_file(&yp, f);

	if (!yaml_parser_load(&yp, &doc)) {
		yaml_syntax_error(&p, &yp);
		goto out;
	}
	have_doc = true;
	p.doc = &doc;

	root = yaml_document_get_root_node(&doc);
	if (!root)
		goto out;  /* empty file: all defaults */

	/* a second document would be silently ignored: refuse it */
	if (!yaml_parser_load(&yp, &extra)) {
		yaml_syntax_error(&p, &yp);
	}
	else {
		if (yaml_document_get_root_node(&extra))
			conf_error(&p, yaml_document_get_root_node(&extra),
				   NULL, "only one YAML document is allowed");
		yaml_document_delete(&extra);
	}

	if (!is_null(root)) {
		parse_map(&p, root, gw_conf_root_keys, conf);
		if (root->type == YAML_MAPPING_NODE)
			gw_conf_root_check(&p, conf, root);
	}

 out:
	if (have_doc)
		yaml_document_delete(&doc);
	yaml_parser_delete(&yp);
	fclose(f);

	if (conf->oom) {
		char line[ERR_LINE_MAX];

		snprintf(line, sizeof(line), "%s: out of memory", path);
		p.eh(line, p.arg);
		mem_deref(conf);
		return ENOMEM;
	}

	if (p.errors) {
		mem_deref(conf);
		return err ? err : EINVAL;
	}

	*confp = conf;

	return 0;
}
