/*
 * The libmosquitto side of `cargo run --release --features std --example
 * bench_vs_libmosquitto`: the same command line and output as
 * examples/bench_client.rs (the limpet side), so the driver treats both alike.
 *
 *   mqtt_bench version
 *   mqtt_bench -p PORT [-s PAYLOAD_BYTES] [-t CAFILE] qos0 N
 *   mqtt_bench -p PORT [-s PAYLOAD_BYTES] [-t CAFILE] qos1 N WINDOW
 *   mqtt_bench -p PORT [-s PAYLOAD_BYTES] [-t CAFILE] rtt N
 *   mqtt_bench -p PORT [-s PAYLOAD_BYTES] [-t CAFILE] connect N
 *
 * One thread: the client drives the network itself with mosquitto_loop()
 * (no mosquitto_loop_start), publishing from its own loop, never from a
 * callback. The broker is 127.0.0.1:PORT, MQTT 3.1.1, clean session,
 * TCP_NODELAY (as limpet's transport).
 *
 * -t CAFILE: TLS, the broker's certificate verified against CAFILE (PEM)
 * and the name `localhost` (the host then given to mosquitto_connect:
 * libmosquitto resolves it, sends it as SNI and checks it against the
 * certificate): mosquitto_tls_set(mosq, CAFILE, NULL, NULL, NULL, NULL) and
 * mosquitto_tls_opts_set(mosq, 1, "tlsv1.3", NULL). libmosquitto 2.0.11 has
 * no option for TLS 1.3 suites or groups (and its MOSQ_OPT_SSL_CTX fails
 * verification), so the driver limits them to what limpet offers
 * (TLS_AES_128_GCM_SHA256, P-256) through OpenSSL's configuration file,
 * OPENSSL_CONF. Built with -DBENCH_TLS (and -lssl -lcrypto: OpenSSL's
 * headers, libssl-dev), the output line also says what was negotiated.
 *
 *   qos0: N QoS 0 publishes, handed to the socket as fast as it takes them
 *         (no more is published while libmosquitto holds unsent bytes), then
 *         one QoS 1 publish whose PUBACK proves the broker read all N.
 *   qos1: N QoS 1 publishes, at most WINDOW unacknowledged at a time; done
 *         when the N-th PUBACK arrived.
 *   rtt:  subscribes (QoS 1) to its own topic, then N times: publish QoS 1,
 *         wait until the message comes back and the PUBACK arrived. The
 *         round trip is publish call to message callback.
 *   connect: N connections one after the other, each timed from the
 *         mosquitto_connect() call (name resolution, TCP connect, TLS
 *         handshake, CONNECT) to the connect callback (CONNACK handled),
 *         then left with mosquitto_disconnect(). The same mosquitto
 *         instance throughout, as a client reconnecting would.
 *
 * Output, one line on stdout:
 *   client=libmosquitto mode=M window=W payload=B messages=N seconds=S
 *   [p50_us=X p99_us=Y] (rtt) [connect_p50_us=X connect_p90_us=Y
 *   resolve_us=R] (connect) [tls=VERSION cipher=SUITE group=GROUP] (-t)
 * `seconds` runs from the first publish to the last acknowledgement
 * (connect: from the first mosquitto_connect() to the last CONNACK);
 * `resolve_us` is the median time of getaddrinfo("localhost"), part of
 * every connect.
 */
#include <mosquitto.h>

#ifdef BENCH_TLS
#include <openssl/objects.h>
#include <openssl/ssl.h>
#endif

#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum mode { QOS0, QOS1, RTT, CONNECT };

struct bench {
    enum mode mode;
    long n;
    int window;
    /* Connection and subscription confirmed, and when CONNACK came. */
    bool connected;
    double connected_at;
    bool subscribed;
    /* The disconnect callback ran (connect mode leaves on purpose). */
    bool disconnected;
    /* qos1: PUBACKs received. */
    long acked;
    /* qos0: the barrier's message id and whether its PUBACK came. */
    int barrier_mid;
    bool barrier_acked;
    /* rtt: the message in flight. */
    int rtt_mid;
    uint32_t rtt_seq;
    bool rtt_acked;
    bool rtt_back;
    double rtt_back_at;
    /* A callback saw something that must stop the run. */
    const char *failure;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "mqtt_bench: %s: %s\n", what,
            rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
    exit(1);
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    struct bench *b = obj;
    (void)mosq;
    if (rc != 0) {
        b->failure = "connection refused";
    } else {
        b->connected = true;
        b->connected_at = now_s();
    }
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count,
                         const int *granted_qos)
{
    struct bench *b = obj;
    (void)mosq;
    (void)mid;
    if (qos_count < 1 || granted_qos[0] != 1) {
        b->failure = "subscription not granted at QoS 1";
    } else {
        b->subscribed = true;
    }
}

/* QoS 1: the PUBACK arrived. QoS 0: the message left the client. */
static void on_publish(struct mosquitto *mosq, void *obj, int mid)
{
    struct bench *b = obj;
    (void)mosq;
    switch (b->mode) {
    case QOS0:
        if (mid == b->barrier_mid) {
            b->barrier_acked = true;
        }
        break;
    case QOS1:
        b->acked++;
        break;
    case RTT:
        if (mid == b->rtt_mid) {
            b->rtt_acked = true;
        }
        break;
    case CONNECT:
        break;
    }
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
    struct bench *b = obj;
    uint32_t seq;
    (void)mosq;
    if (b->mode != RTT || msg->payloadlen < (int)sizeof seq) {
        return;
    }
    memcpy(&seq, msg->payload, sizeof seq);
    if (seq == b->rtt_seq && !b->rtt_back) {
        b->rtt_back = true;
        b->rtt_back_at = now_s();
    }
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
    struct bench *b = obj;
    (void)mosq;
    b->disconnected = true;
    if (rc != 0) {
        b->failure = "connection lost";
    }
}

/* One pass of the network loop: wait at most timeout_ms for the socket. */
static void loop_once(struct mosquitto *mosq, struct bench *b, int timeout_ms)
{
    int rc = mosquitto_loop(mosq, timeout_ms, 1);
    if (rc != MOSQ_ERR_SUCCESS) {
        die("mosquitto_loop", rc);
    }
    if (b->failure) {
        fprintf(stderr, "mqtt_bench: %s\n", b->failure);
        exit(1);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest rank: the smallest sample with at least p% of them at or below it. */
static double percentile(const double *sorted, long n, int p)
{
    long rank = (n * p + 99) / 100;
    if (rank < 1) {
        rank = 1;
    }
    return sorted[rank - 1];
}

static void usage(void)
{
    fprintf(stderr, "usage: mqtt_bench version\n"
                    "       mqtt_bench -p PORT [-s PAYLOAD_BYTES] [-t CAFILE] qos0 N\n"
                    "       mqtt_bench -p PORT [-s PAYLOAD_BYTES] [-t CAFILE] qos1 N WINDOW\n"
                    "       mqtt_bench -p PORT [-s PAYLOAD_BYTES] [-t CAFILE] rtt N\n"
                    "       mqtt_bench -p PORT [-s PAYLOAD_BYTES] [-t CAFILE] connect N\n");
    exit(2);
}

/* TLS as described at the top: verify the broker against cafile and the
 * connect host's name; TLS 1.3 (the suite and group: OPENSSL_CONF). */
static void setup_tls(struct mosquitto *mosq, const char *cafile)
{
    int rc;
    rc = mosquitto_tls_set(mosq, cafile, NULL, NULL, NULL, NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        die("mosquitto_tls_set", rc);
    }
    rc = mosquitto_tls_opts_set(mosq, 1, "tlsv1.3", NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        die("mosquitto_tls_opts_set", rc);
    }
}

/* What the TLS session negotiated, as " tls=... cipher=... group=...". */
static void tls_summary(struct mosquitto *mosq, char *out, size_t len)
{
#ifdef BENCH_TLS
    SSL *ssl = mosquitto_ssl_get(mosq);
    if (ssl) {
        int group = SSL_get_negotiated_group(ssl);
        snprintf(out, len, " tls=%s cipher=%s group=%s", SSL_get_version(ssl),
                 SSL_get_cipher_name(ssl), group > 0 ? OBJ_nid2sn(group) : "unknown");
        return;
    }
#else
    (void)mosq;
#endif
    if (len > 0) {
        out[0] = '\0';
    }
}

/* Median time of getaddrinfo(host), which libmosquitto does on every connect. */
static double resolve_median_s(const char *host)
{
    double t[21];
    struct addrinfo hints, *ai;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    for (int k = 0; k < 21; k++) {
        double t0 = now_s();
        if (getaddrinfo(host, NULL, &hints, &ai) != 0) {
            return 0.0;
        }
        t[k] = now_s() - t0;
        freeaddrinfo(ai);
    }
    qsort(t, 21, sizeof t[0], cmp_double);
    return t[10];
}

static long number(const char *s, long min, long max)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < min || v > max) {
        fprintf(stderr, "mqtt_bench: %s: want a whole number from %ld to %ld\n", s, min, max);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    struct bench b;
    struct mosquitto *mosq;
    char id[64], topic[64], tls[160] = "";
    const char *cafile = NULL;
    /* With TLS the name checked against the certificate; as limpet,
     * 127.0.0.1 without. */
    const char *host = "127.0.0.1";
    unsigned char *payload;
    double *samples = NULL;
    double t0, t1;
    long port = 0, payload_len = 32, published = 0;
    int i = 1, rc, mid;

    if (argc == 2 && strcmp(argv[1], "version") == 0) {
        int major, minor, revision;
        mosquitto_lib_version(&major, &minor, &revision);
        printf("libmosquitto=%d.%d.%d\n", major, minor, revision);
        return 0;
    }
    memset(&b, 0, sizeof b);
    b.barrier_mid = -1;
    b.rtt_mid = -1;
    for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
        if (strcmp(argv[i], "-p") == 0) {
            port = number(argv[i + 1], 1, 65535);
        } else if (strcmp(argv[i], "-s") == 0) {
            payload_len = number(argv[i + 1], 4, 512);
        } else if (strcmp(argv[i], "-t") == 0) {
            cafile = argv[i + 1];
            host = "localhost";
        } else {
            usage();
        }
    }
    if (port == 0 || i + 2 > argc) {
        usage();
    }
    if (strcmp(argv[i], "qos0") == 0 && argc == i + 2) {
        b.mode = QOS0;
    } else if (strcmp(argv[i], "qos1") == 0 && argc == i + 3) {
        b.mode = QOS1;
        b.window = (int)number(argv[i + 2], 1, 65535);
    } else if (strcmp(argv[i], "rtt") == 0 && argc == i + 2) {
        b.mode = RTT;
    } else if (strcmp(argv[i], "connect") == 0 && argc == i + 2) {
        b.mode = CONNECT;
    } else {
        usage();
    }
    b.n = number(argv[i + 1], 1, 1000000000L);

    payload = calloc(1, (size_t)payload_len);
    if (!payload) {
        die("calloc", MOSQ_ERR_NOMEM);
    }
    memset(payload, 'x', (size_t)payload_len);
    if (b.mode == RTT || b.mode == CONNECT) {
        samples = calloc((size_t)b.n, sizeof *samples);
        if (!samples) {
            die("calloc", MOSQ_ERR_NOMEM);
        }
    }
    /* The same lengths as the limpet client's, so the packets are the same size. */
    snprintf(id, sizeof id, "bench-mos-%07ld", (long)getpid());
    snprintf(topic, sizeof topic, "bench/%07ld", (long)getpid());

    mosquitto_lib_init();
    mosq = mosquitto_new(id, true, &b);
    if (!mosq) {
        die("mosquitto_new", MOSQ_ERR_ERRNO);
    }
    mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1);
    /* The window: QoS 1 messages in flight (rtt has one at a time). */
    rc = mosquitto_max_inflight_messages_set(mosq, b.mode == QOS1 ? (unsigned)b.window : 1);
    if (rc != MOSQ_ERR_SUCCESS) {
        die("mosquitto_max_inflight_messages_set", rc);
    }
    mosquitto_connect_callback_set(mosq, on_connect);
    mosquitto_subscribe_callback_set(mosq, on_subscribe);
    mosquitto_publish_callback_set(mosq, on_publish);
    mosquitto_message_callback_set(mosq, on_message);
    mosquitto_disconnect_callback_set(mosq, on_disconnect);
    if (cafile) {
        setup_tls(mosq, cafile);
    }

    if (b.mode == CONNECT) {
        t0 = now_s();
        for (long k = 0; k < b.n; k++) {
            double started = now_s();
            b.connected = false;
            b.disconnected = false;
            rc = mosquitto_connect(mosq, host, (int)port, 60);
            if (rc != MOSQ_ERR_SUCCESS) {
                die("mosquitto_connect", rc);
            }
            while (!b.connected) {
                loop_once(mosq, &b, 1);
            }
            samples[k] = b.connected_at - started;
            if (k == 0 && cafile) {
                tls_summary(mosq, tls, sizeof tls);
            }
            if (k + 1 == b.n) {
                break;
            }
            /* Sends DISCONNECT and closes (TLS: close_notify) at once. */
            mosquitto_disconnect(mosq);
            while (!b.disconnected) {
                rc = mosquitto_loop(mosq, 1, 1);
                if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN) {
                    die("mosquitto_loop", rc);
                }
            }
        }
        t1 = now_s();
        qsort(samples, (size_t)b.n, sizeof *samples, cmp_double);
        printf("client=libmosquitto mode=connect window=1 payload=%ld messages=%ld "
               "seconds=%.6f connect_p50_us=%.1f connect_p90_us=%.1f resolve_us=%.1f%s\n",
               payload_len, b.n, t1 - t0, percentile(samples, b.n, 50) * 1e6,
               percentile(samples, b.n, 90) * 1e6, resolve_median_s(host) * 1e6, tls);
        fflush(stdout);
        b.disconnected = false;
        mosquitto_disconnect(mosq);
        mosquitto_destroy(mosq);
        mosquitto_lib_cleanup();
        free(samples);
        free(payload);
        return 0;
    }

    rc = mosquitto_connect(mosq, host, (int)port, 60);
    if (rc != MOSQ_ERR_SUCCESS) {
        die("mosquitto_connect", rc);
    }
    while (!b.connected) {
        loop_once(mosq, &b, 1);
    }
    if (cafile) {
        tls_summary(mosq, tls, sizeof tls);
    }
    if (b.mode == RTT) {
        rc = mosquitto_subscribe(mosq, NULL, topic, 1);
        if (rc != MOSQ_ERR_SUCCESS) {
            die("mosquitto_subscribe", rc);
        }
        while (!b.subscribed) {
            loop_once(mosq, &b, 1);
        }
    }

    t0 = now_s();
    switch (b.mode) {
    case QOS0:
        while (published < b.n) {
            /* Publish while the socket takes it all; then wait until it
             * takes what libmosquitto still holds. */
            while (published < b.n && !mosquitto_want_write(mosq)) {
                rc = mosquitto_publish(mosq, NULL, topic, (int)payload_len, payload, 0, false);
                if (rc != MOSQ_ERR_SUCCESS) {
                    die("mosquitto_publish", rc);
                }
                published++;
            }
            if (mosquitto_want_write(mosq)) {
                loop_once(mosq, &b, 1);
            }
        }
        /* Barrier: TCP and the broker keep order, so this PUBACK means the
         * broker has read every QoS 0 message before it. */
        rc = mosquitto_publish(mosq, &b.barrier_mid, topic, (int)payload_len, payload, 1, false);
        if (rc != MOSQ_ERR_SUCCESS) {
            die("mosquitto_publish", rc);
        }
        while (!b.barrier_acked) {
            loop_once(mosq, &b, 1);
        }
        break;
    case QOS1:
        while (b.acked < b.n) {
            while (published < b.n && published - b.acked < b.window) {
                rc = mosquitto_publish(mosq, NULL, topic, (int)payload_len, payload, 1, false);
                if (rc != MOSQ_ERR_SUCCESS) {
                    die("mosquitto_publish", rc);
                }
                published++;
            }
            loop_once(mosq, &b, 1);
        }
        break;
    case CONNECT:
        break;
    case RTT:
        for (long k = 0; k < b.n; k++) {
            double sent_at;
            b.rtt_seq = (uint32_t)k;
            memcpy(payload, &b.rtt_seq, sizeof b.rtt_seq);
            b.rtt_acked = false;
            b.rtt_back = false;
            sent_at = now_s();
            rc = mosquitto_publish(mosq, &mid, topic, (int)payload_len, payload, 1, false);
            if (rc != MOSQ_ERR_SUCCESS) {
                die("mosquitto_publish", rc);
            }
            b.rtt_mid = mid;
            while (!(b.rtt_acked && b.rtt_back)) {
                loop_once(mosq, &b, 1);
            }
            samples[k] = b.rtt_back_at - sent_at;
        }
        break;
    }
    t1 = now_s();

    printf("client=libmosquitto mode=%s window=%d payload=%ld messages=%ld seconds=%.6f",
           b.mode == QOS0 ? "qos0" : b.mode == QOS1 ? "qos1" : "rtt",
           b.mode == QOS1 ? b.window : 1, payload_len, b.n, t1 - t0);
    if (b.mode == RTT) {
        qsort(samples, (size_t)b.n, sizeof *samples, cmp_double);
        printf(" p50_us=%.1f p99_us=%.1f", percentile(samples, b.n, 50) * 1e6,
               percentile(samples, b.n, 99) * 1e6);
    }
    printf("%s\n", tls);
    fflush(stdout);

    mosquitto_disconnect(mosq);
    mosquitto_destroy(mosq);
    mosquitto_lib_cleanup();
    free(samples);
    free(payload);
    return 0;
}
