// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * syn-ack-flood - the lab's attacker (test/e2e/revnat-flood.test.ts,
 * docs/lab.md): for `seconds`, at `tuples` a second, a TCP SYN then an ACK
 * from `src` and a random source port to `dst`:`dport`, each tuple once,
 * never completing a handshake (the ACK acknowledges a random number).
 * Bounded: rate and duration are required, at most 200,000 tuples a second
 * for 60 s. Prints one JSON line: tuples and packets sent, send errors,
 * seconds taken. A raw socket: root, inside the lab's client namespace.
 *
 *   syn-ack-flood SRC DST DPORT TUPLES_PER_SEC SECONDS SEED
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_RATE     200000
#define MAX_SECONDS  60
#define IP_HDR_LEN   20
#define TCP_HDR_LEN  20
#define PKT_LEN      (IP_HDR_LEN + TCP_HDR_LEN)
#define TCP_SYN      0x02
#define TCP_ACK      0x10
#define FIRST_PORT   1024
#define PORTS        (65536 - FIRST_PORT)
#define TICK_NS      200000L

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	return sum;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v >> 16); put16(p + 2, v & 0xffff); }

/* xorshift32: the tuples are reproducible from the seed. */
static uint32_t next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void build(uint8_t *pkt, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
		  uint32_t seq, uint32_t ack, uint8_t flags)
{
	uint8_t *tcp = pkt + IP_HDR_LEN;
	uint32_t sum;

	memset(pkt, 0, PKT_LEN);
	pkt[0] = 0x45;
	put16(pkt + 2, PKT_LEN);
	pkt[6] = 0x40; /* DF */
	pkt[8] = 64;
	pkt[9] = IPPROTO_TCP;
	memcpy(pkt + 12, &src, 4);
	memcpy(pkt + 16, &dst, 4);
	put16(pkt + 10, fold(sum16(pkt, IP_HDR_LEN, 0)));

	put16(tcp, sport);
	put16(tcp + 2, dport);
	put32(tcp + 4, seq);
	put32(tcp + 8, ack);
	tcp[12] = (TCP_HDR_LEN / 4) << 4;
	tcp[13] = flags;
	put16(tcp + 14, 64240);
	/* Pseudo-header: addresses, protocol, TCP length. */
	sum = sum16(pkt + 12, 8, IPPROTO_TCP + TCP_HDR_LEN);
	put16(tcp + 16, fold(sum16(tcp, TCP_HDR_LEN, sum)));
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	uint32_t src, dst, seed;
	long rate, seconds, dport, tuples = 0, packets = 0, errors = 0;
	uint8_t pkt[PKT_LEN];
	double start, elapsed;
	int fd;

	if (argc != 7 || inet_pton(AF_INET, argv[1], &src) != 1 || inet_pton(AF_INET, argv[2], &dst) != 1) {
		fprintf(stderr, "usage: syn-ack-flood SRC DST DPORT TUPLES_PER_SEC SECONDS SEED\n");
		return 2;
	}
	dport = strtol(argv[3], NULL, 10);
	rate = strtol(argv[4], NULL, 10);
	seconds = strtol(argv[5], NULL, 10);
	seed = (uint32_t)strtoul(argv[6], NULL, 10) | 1;
	if (dport < 1 || dport > 65535 || rate < 1 || rate > MAX_RATE || seconds < 1 || seconds > MAX_SECONDS) {
		fprintf(stderr, "syn-ack-flood: port 1-65535, rate 1-%d tuples/s, 1-%d s\n", MAX_RATE, MAX_SECONDS);
		return 2;
	}
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0) {
		perror("syn-ack-flood: raw socket (root, in the client namespace)");
		return 1;
	}
	to.sin_addr.s_addr = dst;

	start = now_s();
	while ((elapsed = now_s() - start) < seconds) {
		long due = (long)(elapsed * rate);

		while (tuples < due) {
			uint16_t sport = FIRST_PORT + next_rand(&seed) % PORTS;
			uint32_t seq = next_rand(&seed);
			uint8_t flags[2] = { TCP_SYN, TCP_ACK };

			for (int i = 0; i < 2; i++) {
				build(pkt, src, dst, sport, (uint16_t)dport, seq + i, i ? next_rand(&seed) : 0, flags[i]);
				if (sendto(fd, pkt, PKT_LEN, 0, (struct sockaddr *)&to, sizeof(to)) == PKT_LEN)
					packets++;
				else
					errors++;
			}
			tuples++;
		}
		nanosleep(&(struct timespec){ .tv_nsec = TICK_NS }, NULL);
	}
	elapsed = now_s() - start;
	printf("{\"tuples\":%ld,\"packets\":%ld,\"errors\":%ld,\"seconds\":%.3f,\"packetsPerSecond\":%.0f}\n",
	       tuples, packets, errors, elapsed, packets / elapsed);
	close(fd);
	return 0;
}
