/* New-TCP-connection cost, for bench/compile.
 *
 *   tcpconn serve PORT                 accept connections on PORT and close them, forever
 *   tcpconn run ADDR PORT N WARMUP     WARMUP untimed, then N timed connect+close; prints
 *                                      microseconds per connection (mean over the run, median,
 *                                      99th percentile, max), failures and slow connections
 *                                      (over 200 ms: a SYN was retransmitted)
 *   tcpconn probe ADDR PORT TIMEOUT_MS one connect; prints connected, refused or timeout
 *
 * Every connection is new: a new socket and a new source port, closed with SO_LINGER 0 (a RST,
 * so the client keeps no TIME_WAIT and source ports are not exhausted). On the server's side each
 * connection is a SYN that conntrack sees as new (and so traverses the input chain up to the rule
 * that accepts it), then an ACK and a RST that the established rule accepts.
 *
 * Built by bench/compile: gcc -O2 -o tcpconn bench/tcpconn.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in addr_of(const char *ip, const char *port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)atoi(port));
    if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
        fprintf(stderr, "bad address %s\n", ip);
        exit(2);
    }
    return a;
}

/* 0 connected, 1 refused, 2 timeout, 3 other error */
static int connect_once(const struct sockaddr_in *a, int timeout_ms) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        perror("socket");
        exit(2);
    }
    struct linger l = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    if (timeout_ms > 0) {
        struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    }
    int r = connect(fd, (const struct sockaddr *)a, sizeof *a);
    int e = errno;
    close(fd);
    if (r == 0) return 0;
    if (e == ECONNREFUSED) return 1;
    if (e == EINPROGRESS || e == ETIMEDOUT || e == EAGAIN) return 2;
    return 3;
}

static int cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "serve")) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        struct sockaddr_in a = addr_of("0.0.0.0", argv[2]);
        if (bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 4096)) {
            perror("bind/listen");
            return 2;
        }
        printf("listening\n");
        fflush(stdout);
        for (;;) {
            int c = accept(fd, NULL, NULL);
            if (c >= 0) close(c);
        }
    }
    if (argc == 6 && !strcmp(argv[1], "run")) {
        struct sockaddr_in a = addr_of(argv[2], argv[3]);
        long n = atol(argv[4]), warmup = atol(argv[5]), failures = 0, slow = 0;
        double *lat = malloc(sizeof(double) * (n > 0 ? n : 1));
        for (long i = 0; i < warmup; i++) failures += connect_once(&a, 3000) != 0;
        double t0 = now();
        for (long i = 0; i < n; i++) {
            double s = now();
            failures += connect_once(&a, 3000) != 0;
            lat[i] = (now() - s) * 1e6;
            slow += lat[i] > 200e3; /* a retransmitted SYN: the first one was lost */
        }
        double t1 = now();
        qsort(lat, n, sizeof *lat, cmp_double);
        printf("%.3f %.3f %.3f %.3f %ld %ld\n", (t1 - t0) * 1e6 / n, lat[n / 2],
               lat[(long)(n * 0.99)], lat[n - 1], failures, slow);
        return 0;
    }
    if (argc == 5 && !strcmp(argv[1], "probe")) {
        struct sockaddr_in a = addr_of(argv[2], argv[3]);
        static const char *names[] = {"connected", "refused", "timeout", "error"};
        printf("%s\n", names[connect_once(&a, atoi(argv[4]))]);
        return 0;
    }
    fprintf(stderr, "usage: tcpconn serve PORT | run ADDR PORT N WARMUP | probe ADDR PORT TIMEOUT_MS\n");
    return 2;
}
