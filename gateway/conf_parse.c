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


const char *conf_scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}


bool conf_is_null(const yaml_node_t *n)
{
	const char *s;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;

	s = conf_scalar(n);

	return !*s || !strcmp(s, "~") || !strcmp(s, "null") ||
		!strcmp(s, "Null") || !strcmp(s, "NULL");
}


const char *conf_node_kind(const yaml_node_t *n)
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

		if (k && k->type == YAML_SCALAR_NODE && !strcmp(conf_scalar(k), key))
			return yaml_document_get_node(p->doc, pr->value);
	}

	return NULL;
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


bool conf_sequence(struct conf_parser *p, const struct conf_key *k,
		   const yaml_node_t *n, size_t *count)
{
	if (n->type != YAML_SEQUENCE_NODE) {
		conf_error(p, n, k->name, "expected a list, not %s",
			   conf_node_kind(n));
		return false;
	}

	*count = (size_t)(n->data.sequence.items.top -
			  n->data.sequence.items.start);

	return true;
}


static void parse_list(struct conf_parser *p, const struct conf_key *k,
		       yaml_node_t *n, void *base)
{
	const struct conf_list *l = k->list;
	size_t count;
	char *items;

	if (conf_is_null(n))
		return;

	if (!conf_sequence(p, k, n, &count))
		return;
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


/* Whether a parsed key asks for something: a true boolean, an address
 * that is not off, a list with entries, any other value. Maps and lists
 * of maps ask through their keys. */
static bool turns_on(const struct conf_key *k, void *base)
{
	switch (k->type) {
	case CT_BOOL:        return *AT(base, k->off, bool);
	case CT_ADDR_OR_OFF: return *AT(base, k->aux, bool);
	case CT_CIDRS:
	case CT_STRS:
	case CT_LISTENS:     return *AT(base, k->aux, size_t) > 0;
	case CT_MAP:
	case CT_LIST:        return false;
	default:             return true;
	}
}


/* Remember where the file asks for a module: gw_modules_check() refuses
 * it when this build lacks that module, with the key's position */
static void need(struct conf_parser *p, const yaml_node_t *n,
		 const char *key)
{
	struct gw_conf_need *nd = conf_zalloc(p->conf, sizeof(*nd));
	struct gw_conf_need **tail = &p->conf->needs;
	char where[400];

	if (!nd)
		return;

	snprintf(where, sizeof(where), "%s:%zu:%zu: %s%s%s", p->file,
		 n->start_mark.line + 1, n->start_mark.column + 1, p->path,
		 p->path[0] ? "." : "", key);
	nd->where = conf_strdup(p->conf, where);
	nd->module = p->needs;
	nd->line = n->start_mark.line;
	nd->col = n->start_mark.column;

	/* in file order (keys are parsed in schema order); a file has a
	 * handful */
	while (*tail && ((*tail)->line < nd->line ||
			 ((*tail)->line == nd->line && (*tail)->col < nd->col)))
		tail = &(*tail)->next;
	nd->next = *tail;
	*tail = nd;
}


static void parse_value(struct conf_parser *p, const struct conf_key *k,
			yaml_node_t *n, void *base)
{
	const char *needs = p->needs;
	unsigned errors = p->errors;
	size_t saved;

	if (k->needs)
		p->needs = k->needs;

	switch (k->type) {

	case CT_MAP:
		if (conf_is_null(n))
			break;  /* "section:" alone keeps the defaults */

		saved = path_push(p, k->name);
		parse_map(p, n, k->sub, base);
		if (k->check && n->type == YAML_MAPPING_NODE)
			k->check(p, base, n);
		p->path[saved] = '\0';
		break;

	case CT_LIST:
		parse_list(p, k, n, base);
		break;

	default:
		conf_read_value(p, k, n, base);
		break;
	}

	if (p->needs && p->errors == errors && turns_on(k, base))
		need(p, n, k->name);

	p->needs = needs;
}


static void parse_map(struct conf_parser *p, yaml_node_t *map,
		      const struct conf_key *keys, void *base)
{
	if (!map)
		return;

	if (map->type != YAML_MAPPING_NODE) {
		conf_error(p, map, NULL, "expected a mapping of keys, not %s",
			   conf_node_kind(map));
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
			if (!strcmp(k->name, conf_scalar(kn)))
				break;
		}
		if (!k->name)
			conf_error(p, kn, conf_scalar(kn), "unknown key");

		for (yaml_node_pair_t *q = map->data.mapping.pairs.start;
		     q < pr; q++) {
			yaml_node_t *qk = yaml_document_get_node(p->doc,
								 q->key);
			if (qk && qk->type == YAML_SCALAR_NODE &&
			    !strcmp(conf_scalar(qk), conf_scalar(kn))) {
				conf_error(p, kn, conf_scalar(kn),
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

	if (!conf_is_null(root)) {
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
