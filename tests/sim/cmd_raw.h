/*
 * cmd_raw - `kefu-sim raw`: arbitrary bytes to a node, for the bad-frame
 * tests (tests/cluster/test_bad_frames.sh). It connects to one node of the
 * cluster over TLS, as a gateway or admin (the cluster's certificate for
 * it) or as an agent (no certificate), writes the bytes that --send
 * describes, and reports what came back:
 *
 *   --send SPEC    pieces separated by ',', written in order:
 *                    hex:HEX       these bytes
 *                    header:N      a frame header announcing N bytes (4 bytes, big endian)
 *                    random:N      N pseudo-random bytes (the same on every run)
 *                    env:BODY      one frame: an Envelope (request_id 1) whose body
 *                                  is an empty BODY (the Envelope field name: status, login...)
 *   --close        close once the bytes are written (a truncated frame, then gone)
 *   --wait MS      otherwise wait this long (default 2000) or until the node closes
 *
 * Output on stdout, one JSON object a line: every frame received,
 * {"body": NAME} with "code", "error" (the code's name) and "message" for
 * an Error ({"body": null} for a frame that is no Envelope), then the end:
 * {"end": "closed", "reason": TEXT} when the node closed the connection,
 * {"end": "open"} when it was still open after --wait, {"end": "sent"}
 * after --close.
 */
#ifndef KEFU_SIM_CMD_RAW_H
#define KEFU_SIM_CMD_RAW_H

/* cmd_raw_main - argv[0] is "raw". Returns 0 when the bytes were written
 * (whatever the node made of them), 1 when no connection was made, 2 for
 * bad arguments. */
int cmd_raw_main(int argc, char **argv);

#endif
