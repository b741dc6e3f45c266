/*
 * bridge-tool.c - what tests/bridge.test needs of a NATS server that scb
 * bridge does not do itself: a stream made with settings of the test's
 * choosing, and messages that no out would publish.
 *
 *     bridge-tool stream URL NAME DUPLICATES_MS SUBJECT...
 *         makes stream NAME (file storage, R1) for the subjects, with a
 *         duplicate window of DUPLICATES_MS milliseconds;
 *     bridge-tool pub URL SUBJECT SCB_HEADER|- MSG_ID|- COUNT [PAUSE_US]
 *         publishes COUNT messages of 64 bytes on SUBJECT (core NATS),
 *         with the header Scb and the id Nats-Msg-Id given ("-": none),
 *         PAUSE_US microseconds apart (default 0);
 *     bridge-tool jspub URL SUBJECT SCB_HEADER|- MSG_ID|- COUNT [PAUSE_US]
 *         the same through JetStream: each one waits for the stream's
 *         acknowledgement (an error if it does not store it);
 *     bridge-tool rmconsumer URL STREAM CONSUMER
 *         removes the consumer CONSUMER of stream STREAM;
 *     bridge-tool remake URL STREAM CONSUMER DESCRIPTION
 *         removes the consumer and makes a durable pull consumer of that
 *         name again, with the description given (as another client would);
 *     bridge-tool rmstream URL STREAM
 *         removes the stream STREAM (its messages and consumers with it);
 *     bridge-tool interleave URL SUBJECT OTHER COUNT
 *         publishes COUNT items as scb bridge out would (64 bytes, "item "
 *         and the number in 58 digits and a newline; the Scb header and
 *         the id RING:N with RING the subject), each followed by a message
 *         on the subject OTHER.
 *
 * Exit status: 0, 1 on a NATS error (said on stderr), 2 on bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nats/nats.h>

static int usage(void)
{
    fprintf(stderr, "usage: bridge-tool stream URL NAME DUPLICATES_MS SUBJECT...\n"
                    "       bridge-tool pub URL SUBJECT SCB_HEADER|- MSG_ID|- COUNT [PAUSE_US]\n"
                    "       bridge-tool jspub URL SUBJECT SCB_HEADER|- MSG_ID|- COUNT [PAUSE_US]\n"
                    "       bridge-tool rmconsumer URL STREAM CONSUMER\n"
                    "       bridge-tool remake URL STREAM CONSUMER DESCRIPTION\n"
                    "       bridge-tool rmstream URL STREAM\n"
                    "       bridge-tool interleave URL SUBJECT OTHER COUNT\n");
    return 2;
}

static int fail(const char *what, natsStatus s)
{
    const char *text = nats_GetLastError(NULL);

    fprintf(stderr, "bridge-tool: %s: %s\n", what,
            text != NULL && *text != '\0' ? text : natsStatus_GetText(s));
    return 1;
}

static int make_stream(natsConnection *nc, int argc, char **argv)
{
    jsCtx *js = NULL;
    jsStreamConfig sc;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s;

    if (argc < 6)
        return usage();
    s = natsConnection_JetStream(&js, nc, NULL);
    if (s != NATS_OK)
        return fail("JetStream", s);
    jsStreamConfig_Init(&sc);
    sc.Name = argv[3];
    sc.Duplicates = (int64_t)strtoll(argv[4], NULL, 10) * 1000000;
    sc.Subjects = (const char **)(argv + 5);
    sc.SubjectsLen = argc - 5;
    sc.Storage = js_FileStorage;
    s = js_AddStream(&si, js, &sc, NULL, &jerr);
    jsStreamInfo_Destroy(si);
    jsCtx_Destroy(js);
    return s == NATS_OK ? 0 : fail(argv[3], s);
}

static int rm_consumer(natsConnection *nc, int argc, char **argv)
{
    jsCtx *js = NULL;
    jsErrCode jerr = 0;
    natsStatus s;
    int stream = strcmp(argv[1], "rmstream") == 0;
    int remake = strcmp(argv[1], "remake") == 0;

    if (argc != (stream ? 4 : remake ? 6 : 5))
        return usage();
    s = natsConnection_JetStream(&js, nc, NULL);
    if (s == NATS_OK && stream)
        s = js_DeleteStream(js, argv[3], NULL, &jerr);
    else if (s == NATS_OK)
        s = js_DeleteConsumer(js, argv[3], argv[4], NULL, &jerr);
    if (s == NATS_OK && remake) {
        jsConsumerConfig cc;
        jsConsumerInfo *ci = NULL;

        jsConsumerConfig_Init(&cc);
        cc.Durable = argv[4];
        cc.Description = argv[5];
        cc.AckPolicy = js_AckAll;
        s = js_AddConsumer(&ci, js, argv[3], &cc, NULL, &jerr);
        jsConsumerInfo_Destroy(ci);
    }
    jsCtx_Destroy(js);
    return s == NATS_OK ? 0 : fail(argv[argc - 1], s);
}

static int publish(natsConnection *nc, int argc, char **argv)
{
    char data[64];
    long count, pause_us = 0;
    natsStatus s = NATS_OK;
    jsCtx *js = NULL;

    if (argc < 7 || argc > 8)
        return usage();
    if (strcmp(argv[1], "jspub") == 0 &&
        (s = natsConnection_JetStream(&js, nc, NULL)) != NATS_OK)
        return fail("JetStream", s);
    count = strtol(argv[6], NULL, 10);
    if (argc == 8)
        pause_us = strtol(argv[7], NULL, 10);
    memset(data, 'F', sizeof data);
    for (long i = 0; i < count && s == NATS_OK; i++) {
        natsMsg *m = NULL;

        s = natsMsg_Create(&m, argv[3], NULL, data, (int)sizeof data);
        if (s == NATS_OK && strcmp(argv[4], "-") != 0)
            s = natsMsgHeader_Set(m, "Scb", argv[4]);
        if (s == NATS_OK && strcmp(argv[5], "-") != 0)
            s = natsMsgHeader_Set(m, "Nats-Msg-Id", argv[5]);
        if (s == NATS_OK && js != NULL)
            s = js_PublishMsg(NULL, js, m, NULL, NULL);
        else if (s == NATS_OK)
            s = natsConnection_PublishMsg(nc, m);
        natsMsg_Destroy(m);
        if (pause_us > 0) {
            struct timespec ts = {pause_us / 1000000, (pause_us % 1000000) * 1000};

            natsConnection_Flush(nc);
            nanosleep(&ts, NULL);
        }
    }
    if (s == NATS_OK)
        s = natsConnection_FlushTimeout(nc, 5000);
    jsCtx_Destroy(js);
    return s == NATS_OK ? 0 : fail(argv[3], s);
}

static int interleave(natsConnection *nc, int argc, char **argv)
{
    char data[65], hdr[128], id[256];
    long count;
    natsStatus s = NATS_OK;

    if (argc != 6)
        return usage();
    count = strtol(argv[5], NULL, 10);
    for (long i = 0; i < count && s == NATS_OK; i++) {
        natsMsg *m = NULL;

        snprintf(data, sizeof data, "item %058ld\n", i);
        snprintf(hdr, sizeof hdr, "seq=%ld lost=0 kind=items size=64 length=65536", i);
        snprintf(id, sizeof id, "%s:%ld", argv[3], i);
        s = natsMsg_Create(&m, argv[3], NULL, data, 64);
        if (s == NATS_OK)
            s = natsMsgHeader_Set(m, "Scb", hdr);
        if (s == NATS_OK)
            s = natsMsgHeader_Set(m, "Nats-Msg-Id", id);
        if (s == NATS_OK)
            s = natsConnection_PublishMsg(nc, m);
        natsMsg_Destroy(m);
        if (s == NATS_OK)
            s = natsConnection_Publish(nc, argv[4], data, 64);
    }
    if (s == NATS_OK)
        s = natsConnection_FlushTimeout(nc, 5000);
    return s == NATS_OK ? 0 : fail(argv[3], s);
}

int main(int argc, char **argv)
{
    natsConnection *nc = NULL;
    natsStatus s;
    int rc;

    if (argc < 3 || (strcmp(argv[1], "stream") != 0 && strcmp(argv[1], "pub") != 0 &&
                      strcmp(argv[1], "jspub") != 0 &&
                      strcmp(argv[1], "rmconsumer") != 0 &&
                      strcmp(argv[1], "remake") != 0 &&
                      strcmp(argv[1], "rmstream") != 0 &&
                      strcmp(argv[1], "interleave") != 0))
        return usage();
    s = natsConnection_ConnectTo(&nc, argv[2]);
    if (s != NATS_OK)
        return fail(argv[2], s);
    if (strcmp(argv[1], "stream") == 0)
        rc = make_stream(nc, argc, argv);
    else if (strcmp(argv[1], "pub") == 0 || strcmp(argv[1], "jspub") == 0)
        rc = publish(nc, argc, argv);
    else if (strcmp(argv[1], "rmconsumer") == 0 || strcmp(argv[1], "rmstream") == 0 ||
             strcmp(argv[1], "remake") == 0)
        rc = rm_consumer(nc, argc, argv);
    else
        rc = interleave(nc, argc, argv);
    natsConnection_Destroy(nc);
    return rc;
}
