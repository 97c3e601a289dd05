/**
 * @file relayfloor.c  The floor under bench/relay: a relay with no logic
 *
 *   relayfloor epoll|io_uring FIRST_PORT STREAMS DST_PORT
 *
 * Binds STREAMS pairs of UDP sockets on 127.0.0.1: leg A at FIRST_PORT + i,
 * leg B at FIRST_PORT + STREAMS + i. What arrives on A[i] leaves from B[i]
 * to 127.0.0.1:DST_PORT, unchanged; both legs are watched, as a relay must
 * read both. No latching, no counters per stream, no RTP check: what is
 * left is the kernel's share of relaying a packet with one I/O model, on
 * this machine. bench/relay runs it beside Keepline and rtpengine, so a
 * target can be read against what any user-space relay can reach here.
 *
 *   epoll     one epoll set, recvmmsg on a ready socket, sendmmsg out
 *             (Keepline's model)
 *   io_uring  multishot recvmsg on every socket into a provided-buffer
 *             ring, sends queued in the same ring, one io_uring_enter()
 *             per round, task work deferred to it (raw system calls:
 *             the kernel's ABI, no library)
 *
 * Runs until SIGTERM or SIGINT, then prints {"relayed": N} and exits 0;
 * exit 2 when the model is not available here (io_uring disabled or
 * filtered out, as under Docker's default seccomp profile).
 *
 * A bench tool, not part of the gateway: one process, no threads.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <linux/io_uring.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { BATCH = 16, EVENTS = 256, PKT_MAX = 2048 };

static int nstreams;
static int *fds;                  /* A[0..n-1], then B[0..n-1] */
static struct sockaddr_in dst;
static uint64_t relayed;
static volatile sig_atomic_t stopping;


static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}


static int udp_bind(unsigned port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		fprintf(stderr, "relayfloor: port %u: %s\n", port,
			strerror(errno));
		exit(1);
	}

	return fd;
}


/* --- epoll: Keepline's model, without Keepline ----------------------- */

static int run_epoll(void)
{
	static uint8_t bufs[BATCH][PKT_MAX];
	struct epoll_event evs[EVENTS];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	int ep = epoll_create1(0);

	if (ep < 0)
		return 2;

	for (int i = 0; i < 2 * nstreams; i++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};

		if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev))
			return 1;
	}

	while (!stopping) {
		int n = epoll_wait(ep, evs, EVENTS, 100);

		for (int e = 0; e < n; e++) {
			int i = (int)evs[e].data.u32, k;

			for (int j = 0; j < BATCH; j++) {
				iov[j] = (struct iovec){bufs[j], PKT_MAX};
				msgs[j].msg_hdr = (struct msghdr){
					.msg_iov = &iov[j], .msg_iovlen = 1};
			}
			k = recvmmsg(fds[i], msgs, BATCH, MSG_DONTWAIT, NULL);
			if (k <= 0 || i >= nstreams)
				continue;   /* leg B's packets stop here */

			for (int j = 0; j < k; j++) {
				iov[j].iov_len = msgs[j].msg_len;
				msgs[j].msg_hdr.msg_name = &dst;
				msgs[j].msg_hdr.msg_namelen = sizeof(dst);
			}
			k = sendmmsg(fds[nstreams + i], msgs, (unsigned)k,
				     MSG_DONTWAIT);
			if (k > 0)
				relayed += (uint64_t)k;
		}
	}

	close(ep);
	return 0;
}


/* --- io_uring --------------------------------------------------------- */

enum {
	RING = 4096,          /* submission entries */
	CQ = 65536,           /* completion entries */
	NBUF = 4096,          /* provided buffers (a power of two) */
	BGID = 1,             /* their group */
	SEND = 1u << 31,      /* user_data: a send, low bits the buffer */
};

static struct {
	int fd;
	unsigned *sq_head, *sq_tail, *sq_mask, *sq_array, sq_entries;
	unsigned *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
	unsigned queued;                /* SQEs not yet submitted */
	struct io_uring_buf_ring *br;
	unsigned br_tail;
	uint8_t *bufs;
	struct msghdr tmpl;             /* recvmsg's layout: name only */
} u;


static int enter(unsigned min_complete)
{
	int n = (int)syscall(__NR_io_uring_enter, u.fd, u.queued,
			     min_complete, IORING_ENTER_GETEVENTS, NULL, 0);

	if (n >= 0)
		u.queued -= (unsigned)n;

	return n;
}


static struct io_uring_sqe *sqe_get(void)
{
	unsigned tail = *u.sq_tail;
	struct io_uring_sqe *s;

	if (tail - __atomic_load_n(u.sq_head, __ATOMIC_ACQUIRE) >=
	    u.sq_entries) {
		enter(0);
		if (tail - __atomic_load_n(u.sq_head, __ATOMIC_ACQUIRE) >=
		    u.sq_entries)
			return NULL;
	}

	s = &u.sqes[tail & *u.sq_mask];
	memset(s, 0, sizeof(*s));
	u.sq_array[tail & *u.sq_mask] = tail & *u.sq_mask;
	__atomic_store_n(u.sq_tail, tail + 1, __ATOMIC_RELEASE);
	++u.queued;

	return s;
}


static void buf_give(unsigned bid)
{
	struct io_uring_buf *b = &u.br->bufs[u.br_tail++ & (NBUF - 1)];

	b->addr = (uint64_t)(uintptr_t)(u.bufs + (size_t)bid * PKT_MAX);
	b->len = PKT_MAX;
	b->bid = (uint16_t)bid;
}


static void recv_arm(int i)
{
	struct io_uring_sqe *s = sqe_get();

	if (!s)
		return;
	s->opcode = IORING_OP_RECVMSG;
	s->fd = fds[i];
	s->addr = (uint64_t)(uintptr_t)&u.tmpl;
	s->len = 1;
	s->ioprio = IORING_RECV_MULTISHOT;
	s->flags = IOSQE_BUFFER_SELECT;
	s->buf_group = BGID;
	s->user_data = (uint64_t)i;
}


static int uring_setup(void)
{
	struct io_uring_params p = {
		.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER |
			 IORING_SETUP_DEFER_TASKRUN,
		.cq_entries = CQ,
	};
	struct io_uring_buf_reg reg = {.ring_entries = NBUF, .bgid = BGID};
	size_t sq_len, cq_len;
	uint8_t *ring;

	u.fd = (int)syscall(__NR_io_uring_setup, RING, &p);
	if (u.fd < 0 || !(p.features & IORING_FEAT_SINGLE_MMAP)) {
		fprintf(stderr, "relayfloor: io_uring: %s\n",
			u.fd < 0 ? strerror(errno) : "too old");
		return 2;
	}

	sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	ring = mmap(NULL, sq_len > cq_len ? sq_len : cq_len,
		    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, u.fd,
		    IORING_OFF_SQ_RING);
	u.sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe),
		      PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, u.fd,
		      IORING_OFF_SQES);
	u.br = mmap(NULL, NBUF * sizeof(struct io_uring_buf),
		    PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	u.bufs = malloc((size_t)NBUF * PKT_MAX);
	if (ring == MAP_FAILED || u.sqes == MAP_FAILED ||
	    u.br == MAP_FAILED || !u.bufs)
		return 1;

	u.sq_head = (unsigned *)(ring + p.sq_off.head);
	u.sq_tail = (unsigned *)(ring + p.sq_off.tail);
	u.sq_mask = (unsigned *)(ring + p.sq_off.ring_mask);
	u.sq_array = (unsigned *)(ring + p.sq_off.array);
	u.sq_entries = p.sq_entries;
	u.cq_head = (unsigned *)(ring + p.cq_off.head);
	u.cq_tail = (unsigned *)(ring + p.cq_off.tail);
	u.cq_mask = (unsigned *)(ring + p.cq_off.ring_mask);
	u.cqes = (struct io_uring_cqe *)(ring + p.cq_off.cqes);

	reg.ring_addr = (uint64_t)(uintptr_t)u.br;
	if (syscall(__NR_io_uring_register, u.fd, IORING_REGISTER_PBUF_RING,
		    &reg, 1)) {
		fprintf(stderr, "relayfloor: io_uring buffer ring: %s\n",
			strerror(errno));
		return 2;
	}
	for (unsigned b = 0; b < NBUF; b++)
		buf_give(b);
	__atomic_store_n(&u.br->tail, (uint16_t)u.br_tail, __ATOMIC_RELEASE);

	u.tmpl.msg_namelen = sizeof(struct sockaddr_in);

	return 0;
}


/* A packet in buffer bid came in on socket i: relay it, or drop it */
static bool on_packet(int i, unsigned bid)
{
	uint8_t *b = u.bufs + (size_t)bid * PKT_MAX;
	struct io_uring_recvmsg_out *o = (void *)b;
	struct io_uring_sqe *s;

	if (i >= nstreams)
		return false;   /* leg B's packets stop here */

	s = sqe_get();
	if (!s)
		return false;
	s->opcode = IORING_OP_SEND;
	s->fd = fds[nstreams + i];
	s->addr = (uint64_t)(uintptr_t)(b + sizeof(*o) + o->namelen +
					o->controllen);
	s->len = o->payloadlen;
	s->addr2 = (uint64_t)(uintptr_t)&dst;
	s->addr_len = sizeof(dst);
	s->user_data = SEND | bid;   /* the buffer goes back when sent */

	return true;
}


static int run_uring(void)
{
	int err = uring_setup();

	if (err)
		return err;

	for (int i = 0; i < 2 * nstreams; i++)
		recv_arm(i);

	while (!stopping) {
		unsigned head, tail;
		bool gave = false;

		if (enter(1) < 0 && errno != EINTR)
			return 1;

		head = *u.cq_head;
		tail = __atomic_load_n(u.cq_tail, __ATOMIC_ACQUIRE);
		for (; head != tail; head++) {
			const struct io_uring_cqe *c = &u.cqes[head & *u.cq_mask];
			unsigned bid = c->flags >> IORING_CQE_BUFFER_SHIFT;
			int i = (int)c->user_data;

			if (c->user_data & SEND) {
				buf_give((unsigned)c->user_data & ~SEND);
				relayed += c->res > 0;
				gave = true;
				continue;
			}
			if (c->res >= 0 && (c->flags & IORING_CQE_F_BUFFER) &&
			    !on_packet(i, bid)) {
				buf_give(bid);
				gave = true;
			}
			/* ended (out of buffers, an error): start again */
			if (!(c->flags & IORING_CQE_F_MORE))
				recv_arm(i);
		}
		__atomic_store_n(u.cq_head, head, __ATOMIC_RELEASE);
		if (gave)
			__atomic_store_n(&u.br->tail, (uint16_t)u.br_tail,
					 __ATOMIC_RELEASE);
	}

	return 0;
}


int main(int argc, char **argv)
{
	unsigned first, port;
	int err;

	if (argc != 5 || (strcmp(argv[1], "epoll") &&
			  strcmp(argv[1], "io_uring")) ||
	    sscanf(argv[2], "%u", &first) != 1 ||
	    sscanf(argv[3], "%d", &nstreams) != 1 ||
	    sscanf(argv[4], "%u", &port) != 1 || nstreams < 1 ||
	    first + 2u * (unsigned)nstreams > 65536 || !port ||
	    port > 65535) {
		fprintf(stderr, "usage: relayfloor epoll|io_uring FIRST_PORT "
			"STREAMS DST_PORT\n");
		return 2;
	}

	dst = (struct sockaddr_in){.sin_family = AF_INET,
				   .sin_port = htons((uint16_t)port)};
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	fds = calloc(2 * (size_t)nstreams, sizeof(*fds));
	if (!fds)
		return 1;
	for (int i = 0; i < 2 * nstreams; i++)
		fds[i] = udp_bind(first + (unsigned)i);

	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);

	err = strcmp(argv[1], "epoll") ? run_uring() : run_epoll();
	if (!err)
		printf("{\"relayed\": %llu}\n", (unsigned long long)relayed);

	return err;
}
