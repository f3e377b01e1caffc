/*
 * The libmosquitto side of `cargo run --release --features std --example
 * bench_vs_libmosquitto`: the same command line and output as
 * examples/bench_client.rs (the limpet side), so the driver treats both alike.
 *
 *   mqtt_bench version
 *   mqtt_bench -p PORT [-s PAYLOAD_BYTES] qos0 N
 *   mqtt_bench -p PORT [-s PAYLOAD_BYTES] qos1 N WINDOW
 *   mqtt_bench -p PORT [-s PAYLOAD_BYTES] rtt N
 *
 * One thread: the client drives the network itself with mosquitto_loop()
 * (no mosquitto_loop_start), publishing from its own loop, never from a
 * callback. The broker is always 127.0.0.1:PORT, MQTT 3.1.1, clean session,
 * TCP_NODELAY (as limpet's transport).
 *
 *   qos0: N QoS 0 publishes, handed to the socket as fast as it takes them
 *         (no more is published while libmosquitto holds unsent bytes), then
 *         one QoS 1 publish whose PUBACK proves the broker read all N.
 *   qos1: N QoS 1 publishes, at most WINDOW unacknowledged at a time; done
 *         when the N-th PUBACK arrived.
 *   rtt:  subscribes (QoS 1) to its own topic, then N times: publish QoS 1,
 *         wait until the message comes back and the PUBACK arrived. The
 *         round trip is publish call to message callback.
 *
 * Output, one line on stdout:
 *   client=libmosquitto mode=M window=W payload=B messages=N seconds=S
 *   [p50_us=X p99_us=Y] (rtt)
 * `seconds` runs from the first publish to the last acknowledgement.
 */
#include <mosquitto.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum mode { QOS0, QOS1, RTT };

struct bench {
    enum mode mode;
    long n;
    int window;
    /* Connection and subscription confirmed. */
    bool connected;
    bool subscribed;
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
                    "       mqtt_bench -p PORT [-s PAYLOAD_BYTES] qos0 N\n"
                    "       mqtt_bench -p PORT [-s PAYLOAD_BYTES] qos1 N WINDOW\n"
                    "       mqtt_bench -p PORT [-s PAYLOAD_BYTES] rtt N\n");
    exit(2);
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
    char id[64], topic[64];
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
    } else {
        usage();
    }
    b.n = number(argv[i + 1], 1, 1000000000L);

    payload = calloc(1, (size_t)payload_len);
    if (!payload) {
        die("calloc", MOSQ_ERR_NOMEM);
    }
    memset(payload, 'x', (size_t)payload_len);
    if (b.mode == RTT) {
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

    rc = mosquitto_connect(mosq, "127.0.0.1", (int)port, 60);
    if (rc != MOSQ_ERR_SUCCESS) {
        die("mosquitto_connect", rc);
    }
    while (!b.connected) {
        loop_once(mosq, &b, 1);
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
    printf("\n");
    fflush(stdout);

    mosquitto_disconnect(mosq);
    mosquitto_destroy(mosq);
    mosquitto_lib_cleanup();
    free(samples);
    free(payload);
    return 0;
}
