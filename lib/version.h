/*
 * The build's version: the package version of appliance/deb/changelog and,
 * when built from a git checkout, "+g" and the commit's short hash ("-dirty"
 * with uncommitted changes), e.g. "0.1.0+g5b7ff69". Each node publishes it
 * in its member record, so `kefuctl status` shows which build every node
 * runs during a rolling upgrade.
 */
#ifndef KEFU_LIB_VERSION_H
#define KEFU_LIB_VERSION_H

extern const char kefu_version[];

/*
 * The newest form of stored data this build writes (docs/storage.md,
 * "Changing what is stored"). Each node publishes it in its member record;
 * the leader records the form every member reads in table meta
 * (storage/format.h) and writers keep to the recorded one, so a build that
 * leads during a rolling upgrade never meets a form it misreads.
 *   1  every store before the form was recorded
 *   2  work orders: an "m" key's value is the order's client_ref (no "r"
 *      key), the day's sequence follows the day's highest order id (the
 *      "q" key only past 999,999), and a "d" key has no value
 */
#define KEFU_STORE_FORMAT 2

#endif
