/**
 * @file icmp_int.h  State shared by the ICMP judge (icmp.c) and its
 *                   intakes (icmp_io.c)
 */

#ifndef MEDIA_ICMP_INT_H
#define MEDIA_ICMP_INT_H

#include "media/icmp.h"
#include "media/media_int.h"

enum { DEDUP_N = 32, BUSY_N = 8 };

struct dedup {
	uint32_t fp;
	uint8_t paths;        /**< bit per intake that delivered it */
	uint64_t t;
};

/** A host whose ICMP errors went to someone else lately: its kernel's
 *  rate limiter is being spent on other traffic (stream.c probes) */
struct busy_host {
	struct sa ip;
	uint64_t t;
};

struct media_icmp {
	struct media_mgr *mm;         /**< not a reference: mm owns us */
	struct hash *records;
	struct list expects;
	struct dedup dedup[DEDUP_N];
	unsigned dedup_pos;
	struct busy_host busy[BUSY_N];
	unsigned busy_pos;
	struct media_icmp_stats st;
	int raw_fd[2];                /**< icmp_io.c: v4, v6 */
	struct gw_watch *raw_w[2];
	bool judge;                   /**< icmp.enabled: errors may end calls */
	struct list echoes;           /**< struct media_icmp_echo, icmp_echo.c */
	uint64_t echo_replies;        /**< delivered to a consumer */
	uint64_t echo_unclaimed;      /**< with no consumer's identifier */
};

/* icmp_io.c */
int  icmp_raw_open(struct media_icmp *mi, struct media_mgr *mm);
void icmp_raw_close(struct media_icmp *mi);
/** Set a raw listener's kernel filter: the error types, and echo
 *  replies while someone listens for them */
void icmp_raw_filter(struct media_icmp *mi, int family);

/* icmp_echo.c */
/** An echo reply read by a raw listener (v4: with its IP header):
 *  true if it was one, delivered or not */
bool icmp_echo_input(struct media_icmp *mi, const uint8_t *buf, size_t n,
		     int family, const struct sockaddr_storage *from);
/** Whether a consumer listens for echo replies of family */
bool icmp_echo_wanted(const struct media_icmp *mi, int family);
/** Consumers are their owners': forget them */
void icmp_echo_forget(struct media_icmp *mi);

#endif
