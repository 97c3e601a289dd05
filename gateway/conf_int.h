/**
 * @file conf_int.h  Configuration internals: value parsers, schema, walker
 *
 * conf_value.c turns scalar text into values (durations, sizes, addresses,
 * CIDRs, port ranges); conf_schema.c lists every key of every section with
 * its type and range; conf_parse.c walks the YAML document against the
 * schema and reports errors with file, line, column and key path.
 */

#ifndef GW_CONF_INT_H
#define GW_CONF_INT_H

#include <yaml.h>

#include "gateway/conf.h"

/* Value parsers: 0 or EINVAL/ERANGE, never partial output.
 * On failure *why names the problem in words for the error line. */

int gw_conf_parse_uint(const char *s, uint64_t *v, const char **why);
int gw_conf_parse_bool(const char *s, bool *v, const char **why);
/** "5000000000", "5e9", "5G", "5GB" (10^9), "5GiB" (2^30) -> bytes */
int gw_conf_parse_size(const char *s, uint64_t *bytes, const char **why);
/** "20000-30000" */
int gw_conf_parse_port_range(const char *s, struct gw_port_range *pr,
			     const char **why);
/** "10.0.0.0/8", "2001:db8::/32", or a host address (full prefix) */
int gw_conf_parse_cidr(const char *s, struct gw_cidr *c, const char **why);
/** "udp:0.0.0.0:5060", "tls:[::]:5061"; port defaults to 5060/5061 */
int gw_conf_parse_listen(const char *s, struct gw_listen *l,
			 const char **why);
/** "127.0.0.1:8080", "[::1]:4000" (port required) */
int gw_conf_parse_addr_port(const char *s, struct sa *sa, const char **why);
/** a bare IP address */
int gw_conf_parse_ip(const char *s, struct sa *sa, const char **why);


/* Schema */

enum conf_type {
	CT_BOOL,
	CT_UINT,          /**< uint32_t, min..max */
	CT_U16,           /**< uint16_t, min..max */
	CT_SECONDS,       /**< uint32_t [s], from a duration, min..max [s] */
	CT_DURATION,      /**< uint64_t [ms], min..max [ms] */
	CT_SIZE,          /**< uint64_t bytes */
	CT_PCT,           /**< double 0..100 */
	CT_STR,           /**< char *, non-empty */
	CT_ENUM,          /**< int, index into names */
	CT_IP,            /**< struct sa, bare address */
	CT_ADDR_PORT,     /**< struct sa with port */
	CT_ADDR_OR_OFF,   /**< struct sa with port, or off/false (bool at aux) */
	CT_PORT_RANGE,    /**< struct gw_port_range */
	CT_CIDRS,         /**< struct gw_cidr *, count at aux */
	CT_STRS,          /**< char **, count at aux */
	CT_LISTENS,       /**< struct gw_listen *, count at aux */
	CT_MAP,           /**< nested section, keys in sub */
	CT_LIST,          /**< list of maps, see struct conf_list */
};

struct conf_parser;
struct conf_key;

/** Cross-field check of a map, run once its keys are parsed */
typedef void (conf_check_h)(struct conf_parser *p, void *base,
			    yaml_node_t *map);
/** Called before a list item is parsed, to set the item's defaults */
typedef void (conf_item_init_h)(struct conf_parser *p, void *item);

struct conf_list {
	size_t item_size;
	size_t count_off;         /**< size_t count, same base as the array */
	const struct conf_key *keys;
	conf_item_init_h *init;
	conf_check_h *check;
};

struct conf_key {
	const char *name;
	enum conf_type type;
	size_t off;               /**< into the base struct */
	uint64_t min, max;
	size_t aux;               /**< count or flag offset, see type */
	const char *const *names; /**< CT_ENUM */
	const struct conf_key *sub;       /**< CT_MAP */
	conf_check_h *check;              /**< CT_MAP */
	const struct conf_list *list;     /**< CT_LIST */
	bool required;
	/** CT_STRS: a single value stands for a list of one */
	bool scalar_ok;
	/** The module this key asks for (its name in the module table),
	 *  inherited by every key below it; a key whose value turns
	 *  something on is recorded in gw_conf.needs */
	const char *needs;
};

extern const struct conf_key gw_conf_root_keys[];
/** The reflector section (conf_schema_refl.c) */
extern const struct conf_key gw_conf_reflector_keys[];
extern conf_check_h *const gw_conf_root_check;
void gw_conf_set_defaults(struct gw_conf *conf);
/** What only the file-less built-in configuration has: a loopback trunk
 *  and an echo route, so a fresh install answers a test call */
void gw_conf_set_builtin(struct gw_conf *conf);


/* Walker services for the schema's checks */

struct conf_parser {
	struct gw_conf *conf;
	yaml_document_t *doc;
	const char *file;
	char path[256];           /**< key path of the map being parsed */
	gw_conf_err_h *eh;
	void *arg;
	unsigned errors;
	const char *needs;        /**< of the key being parsed, or NULL */
};

void conf_error(struct conf_parser *p, const yaml_node_t *node,
		const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/** The value node of key in a mapping node, or NULL */
yaml_node_t *conf_map_get(struct conf_parser *p, yaml_node_t *map,
			  const char *key);
const char *conf_scalar(const yaml_node_t *n);
/** "key:" with nothing after it, "~" or "null", unquoted */
bool conf_is_null(const yaml_node_t *n);
/** "a list", "a mapping", "a single value" */
const char *conf_node_kind(const yaml_node_t *n);
/** A list node's length; false (and an error) when n is not a list */
bool conf_sequence(struct conf_parser *p, const struct conf_key *k,
		   const yaml_node_t *n, size_t *count);
/** Parse a value of any type but CT_MAP and CT_LIST into base
 *  (conf_read.c); errors through conf_error() */
void conf_read_value(struct conf_parser *p, const struct conf_key *k,
		     yaml_node_t *n, void *base);
/** A new configuration with every default set, or NULL (conf_store.c) */
struct gw_conf *conf_new(void);

/** Duplicate a string into memory the configuration owns */
char *conf_strdup(struct gw_conf *conf, const char *s);
void *conf_zalloc(struct gw_conf *conf, size_t size);

#endif
