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

#endif
