/*
 * kefu's one error list.
 *
 * Every action returns int: 0 on success, a negative value on failure.
 * System errors are returned as -errno; kefu's own errors are the KF_E*
 * codes below, all at or under -KF_ERR_BASE so they never collide with errno.
 * The list is an X-macro: one row yields both the enum and kf_strerror().
 * Add a row at the end with the next number; never renumber (codes travel
 * in Error frames and appear in operators' logs).
 */
#ifndef KEFU_LIB_ERR_H
#define KEFU_LIB_ERR_H

#include <stddef.h>

#define KF_ERR_BASE 1000

/* X(name, value, text) */
#define KF_ERRORS(X)                                                        \
	X(KF_EPARSE, -1001, "malformed input")                              \
	X(KF_ETOOBIG, -1002, "input exceeds its limit")                     \
	X(KF_ENOTFOUND, -1003, "not found")                                 \
	X(KF_EEXISTS, -1004, "already exists")                              \
	X(KF_EREF, -1005, "referenced record does not exist")               \
	X(KF_ECHECK, -1006, "check file does not match data file")          \
	X(KF_EHELD, -1007, "held back until an earlier sequence arrives")   \
	X(KF_EDUPNAME, -1008, "file name seen before with another hash")    \
	X(KF_EMAPFULL, -1009, "storage map is full")                        \
	X(KF_ESTORE, -1010, "storage engine error")                         \
	X(KF_ECORRUPT, -1011, "stored data is corrupt")                     \
	X(KF_ECONFIG, -1012, "invalid configuration")                       \
	X(KF_EPROTO, -1013, "protocol violation")                           \
	X(KF_ESTATE, -1014, "operation not allowed in the current state")   \
	X(KF_EINTERNAL, -1015, "internal error")                            \
	X(KF_ETLS, -1016, "TLS handshake or certificate refused")          \
	X(KF_ECANCELED, -1017, "cancelled before it completed")         \
	X(KF_ECOMPACTED, -1018, "revision compacted away")              \
	X(KF_EINVAL, -1019, "invalid request")

enum kf_err {
#define KF_ERR_ENUM_(name, value, text) name = (value),
	KF_ERRORS(KF_ERR_ENUM_)
#undef KF_ERR_ENUM_
};

/*
 * kf_strerror - text for any code this project returns: a KF_E* code,
 * a -errno, or 0. The string is static; never free it.
 */
const char *kf_strerror(int code);

/* kf_errname - "KF_EPARSE", "ENOENT", "OK"...; static; "EUNKNOWN" if unknown. */
const char *kf_errname(int code);

/*
 * kf_why - a failure's reason for the operator, formatted into
 * why[0..why_size) (cut to fit); nothing when why is NULL or why_size 0.
 * For functions that take an optional why buffer.
 */
__attribute__((format(printf, 3, 4))) void kf_why(char *why, size_t why_size,
						  const char *fmt, ...);

/* kf_refuse - kf_why, then KF_EPARSE: a parser's refusal in one statement. */
__attribute__((format(printf, 3, 4))) int kf_refuse(char *why, size_t why_size,
						    const char *fmt, ...);

#endif
